// A pod's sandbox mounts (kubelet volume manager + kuberuntime's makeMounts): image files, per-pod
// /etc files, volumes and the projected service-account token at the upstream path.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { ResolvedImage } from '../../images/catalog.js';
import { ObjectCache } from '../container-env.js';
import type { NodeContext } from '../pod-context.js';
import type { SandboxMount } from '../sandbox/sandbox.js';
import {
  containerMounts,
  etcMounts,
  prepareVolumes,
  serviceAccountMountPath,
  volumePaths,
  writeEtcFiles,
} from '../volumes.js';

/** A bound service-account token (TokenRequest) and the CA pods trust; empty token on failure. */
export async function requestPodToken(
  ctx: NodeContext,
  pod: Pod,
): Promise<{ token: string; ca: string }> {
  const ns = pod.metadata?.namespace ?? 'default';
  const sa = pod.spec?.serviceAccountName ?? 'default';
  try {
    const res = await ctx.client.requestJSON<{ status?: { token?: string } }>(
      'POST',
      `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            expirationSeconds: 3607,
            boundObjectRef: {
              apiVersion: 'v1',
              kind: 'Pod',
              name: pod.metadata?.name,
              uid: pod.metadata?.uid,
            },
          },
        },
      },
    );
    return { token: res.status?.token ?? '', ca: ctx.caCert ?? '' };
  } catch (err) {
    ctx.log.warn('token request failed', { key: `${ns}/${pod.metadata?.name}`, err });
    return { token: '', ca: ctx.caCert ?? '' };
  }
}

const hostEtcMounts = (): SandboxMount[] =>
  ['/etc/hosts', '/etc/resolv.conf'].map((f) => ({ source: f, target: f, readOnly: true }));

// The default service-account token's directory (kube-api-access, as upstream names the volume).
const tokenMount = (podDir: string) => ({
  source: path.join(podDir, 'volumes', 'kube-api-access'),
  target: serviceAccountMountPath,
  readOnly: true,
});

/**
 * What an ephemeral container added to a running pod mounts in its image root: the pod's /etc
 * files, its volumeMounts (from the volumes the sandbox set up) and the default token, as
 * podMounts gives the pod's other containers.
 */
export async function ephemeralMounts(opts: {
  ctx: NodeContext;
  pod: Pod;
  podDir: string;
  spec: Container;
}): Promise<SandboxMount[]> {
  const { pod, podDir } = opts;
  if (!opts.ctx.isolated) return [];
  const out = pod.spec?.hostNetwork ? hostEtcMounts() : etcMounts(podDir);
  const volumes = await volumePaths({
    podDir,
    pod,
    objects: new ObjectCache({ client: opts.ctx.client }),
  });
  out.push(...containerMounts(opts.spec, volumes));
  const sa = tokenMount(podDir);
  if (!out.some((m) => m.target === sa.target) && existsSync(sa.source)) out.push(sa);
  return out;
}

/** A pod's mounts: the sandbox's, and each image-rooted container's own. */
export interface PodMounts {
  /** Mounted by the shim in the pod's root (host files, folder images, every volume). */
  mounts: SandboxMount[];
  /** Per container: what its own image root gets (/etc files, token, its volumeMounts). */
  containers: Map<string, SandboxMount[]>;
  /** Settles once every mounted file has its content. */
  filled: Promise<void>;
}

/**
 * Everything the sandbox mounts for a pod (none in reduced mode). `filled` settles once every
 * mounted file has its content: the default service-account token is fetched meanwhile (its
 * directory is bind-mounted, so it may be written after the sandbox is made, before any start).
 */
export async function podMounts(opts: {
  ctx: NodeContext;
  pod: Pod;
  podDir: string;
  podIP: string;
  hostNetwork: boolean;
  containers: Array<{ spec: Container; image?: ResolvedImage }>;
}): Promise<PodMounts> {
  const { ctx, pod, podDir, podIP } = opts;
  const containers = new Map<string, SandboxMount[]>();
  if (!ctx.isolated) return { mounts: [], containers, filled: Promise.resolve() };
  const mounts: SandboxMount[] = [];
  for (const c of opts.containers) {
    if (c.image?.rootDir)
      mounts.push({ source: c.image.rootDir, target: c.image.workingDir, readOnly: true });
  }
  // hostNetwork pods keep the node's /etc files (upstream's dnsPolicy ClusterFirst falls back to
  // Default there); an image root needs them mounted, the host-root sandbox already shows them.
  const etc = opts.hostNetwork
    ? hostEtcMounts()
    : writeEtcFiles({
        podDir,
        pod,
        podIP,
        clusterDNS: ctx.clusterDNS,
        clusterDomain: ctx.clusterDomain,
      });
  if (!opts.hostNetwork) mounts.push(...etc);
  const token = () => requestPodToken(ctx, pod);
  const volumes = await prepareVolumes({
    podDir,
    pod,
    podIP,
    objects: new ObjectCache({ client: ctx.client }),
    serviceAccountToken: token,
  });
  for (const c of opts.containers) {
    const own = containerMounts(c.spec, volumes);
    mounts.push(...own);
    containers.set(c.spec.name, [...etc, ...own]);
  }
  const hasSA = mounts.some((m) => m.target === serviceAccountMountPath);
  let filled = Promise.resolve();
  if (!hasSA && pod.spec?.automountServiceAccountToken !== false) {
    const dir = tokenMount(podDir).source;
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'ca.crt'), ctx.caCert ?? '');
    writeFileSync(path.join(dir, 'namespace'), pod.metadata?.namespace ?? 'default');
    filled = token()
      .then((t) => writeFileSync(path.join(dir, 'token'), t.token, { mode: 0o644 }))
      .catch((err) => ctx.log.warn('token write failed', { key: podDir, err }));
    const sa = tokenMount(podDir);
    mounts.push(sa);
    for (const list of containers.values()) list.push(sa);
  }
  return { mounts, containers, filled };
}
