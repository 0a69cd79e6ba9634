// Who a container from an image runs as: the image config's User resolved in the image's own
// /etc/passwd and /etc/group (containerd's WithUser/WithUserID, as the CRI plugin applies them),
// runAsUser/runAsGroup on top, and the kubelet's runAsNonRoot check (kuberuntime
// security_context_others.go verifyRunAsNonRoot).
import type { Container, Pod } from 'kubernetes-types/core/v1.js';

/** The uid/gid a container process gets. */
export interface ContainerUser {
  uid: number;
  gid: number;
}

const numeric = (s: string) => /^\d+$/.test(s);

function lookup(
  file: string | undefined,
  match: (fields: string[]) => boolean,
): string[] | undefined {
  for (const line of (file ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && match(fields)) return fields;
  }
  return undefined;
}

/**
 * Resolves an image's User ("", "uid", "uid:gid", "name", "name:group", mixed) against the
 * image's passwd and group files (undefined when the image has none). A numeric uid not in
 * passwd runs with gid 0, as containerd does; an unknown name is an error.
 */
export function resolveImageUser(
  user: string | undefined,
  etc: { passwd?: string; group?: string },
): ContainerUser {
  const [u = '', g] = (user ?? '').split(':', 2);
  if (!u) return { uid: 0, gid: 0 };
  let uid: number;
  let gid = 0;
  if (numeric(u)) {
    uid = Number(u);
    const entry = lookup(etc.passwd, (f) => f[2] === u);
    if (entry) gid = Number(entry[3] ?? 0);
  } else {
    const entry = lookup(etc.passwd, (f) => f[0] === u);
    if (!entry) throw new Error(`unable to find user ${u}: no matching entries in passwd file`);
    uid = Number(entry[2]);
    gid = Number(entry[3] ?? 0);
  }
  if (g !== undefined && g !== '') {
    if (numeric(g)) gid = Number(g);
    else {
      const entry = lookup(etc.group, (f) => f[0] === g);
      if (!entry) throw new Error(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(entry[2]);
    }
  }
  return { uid, gid };
}

/** The pod as the kubelet names it in messages: name_namespace(uid). */
export function formatPod(pod: Pod): string {
  const m = pod.metadata;
  return `${m?.name}_${m?.namespace}(${m?.uid})`;
}

/**
 * The kubelet's runAsNonRoot check, against the image's declared User (only a numeric one can be
 * verified; an empty one means root). Throws with the kubelet's message.
 */
export function verifyRunAsNonRoot(pod: Pod, container: Container, imageUser?: string): void {
  const sc = { ...pod.spec?.securityContext, ...container.securityContext };
  if (!sc.runAsNonRoot) return;
  const where = `(pod: ${JSON.stringify(formatPod(pod))}, container: ${container.name})`;
  if (sc.runAsUser !== undefined && sc.runAsUser !== null) {
    if (sc.runAsUser === 0)
      throw new Error(`container's runAsUser breaks non-root policy ${where}`);
    return;
  }
  const u = (imageUser ?? '').split(':')[0] ?? '';
  if (u && !numeric(u))
    throw new Error(
      `container has runAsNonRoot and image has non-numeric user (${u}), cannot verify user is non-root ${where}`,
    );
  if (Number(u || 0) === 0)
    throw new Error(`container has runAsNonRoot and image will run as root ${where}`);
}

/** The user a container runs as: the image's, with runAsUser/runAsGroup on top. */
export function containerUser(opts: {
  pod: Pod;
  container: Container;
  imageUser?: string;
  etc: { passwd?: string; group?: string };
}): ContainerUser {
  const sc = { ...opts.pod.spec?.securityContext, ...opts.container.securityContext };
  // runAsUser replaces the image's user; its gid then comes from the image's passwd, as the
  // runtime looks a bare uid up.
  const base =
    sc.runAsUser !== undefined && sc.runAsUser !== null
      ? resolveImageUser(String(sc.runAsUser), opts.etc)
      : resolveImageUser(opts.imageUser, opts.etc);
  if (sc.runAsGroup !== undefined && sc.runAsGroup !== null) base.gid = sc.runAsGroup;
  return base;
}
