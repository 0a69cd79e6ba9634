// A pod's files on the node (kubelet volume manager + kuberuntime makeMounts): volume contents under
// <podDir>/volumes, the /etc files (hosts, resolv.conf, hostname) and each container's mounts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Container, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { type ObjectCache, podFieldValue } from './container-env.js';
import type { SandboxMount } from './sandbox/sandbox.js';

/** The service-account mount path every pod gets (upstream constant). */
export const serviceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
function writeFiles(dir: string, files: Record<string, string>, mode = 0o644): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content, { mode });
  }
}

/**
 * The pod's hostname and, with a subdomain, its FQDN (upstream kubelet GeneratePodHostNameAndDomain):
 * spec.hostname (Indexed Job and StatefulSet pods) else the pod name, cut to 63 characters.
 */
export function podHostname(pod: Pod, clusterDomain: string): { hostname: string; fqdn?: string } {
  const hostname = (pod.spec?.hostname || pod.metadata?.name || '')
    .slice(0, 63)
    .replace(/[-.]+$/, '');
  const sub = pod.spec?.subdomain;
  const ns = pod.metadata?.namespace ?? 'default';
  return { hostname, fqdn: sub ? `${hostname}.${sub}.${ns}.svc.${clusterDomain}` : undefined };
}

/** Writes /etc/hosts, resolv.conf and hostname for the pod; returns their mounts. */
export function writeEtcFiles(opts: {
  podDir: string;
  pod: Pod;
  podIP: string;
  clusterDNS: string;
  clusterDomain: string;
}): SandboxMount[] {
  const { pod } = opts;
  const { hostname: name, fqdn } = podHostname(pod, opts.clusterDomain);
  const ns = pod.metadata?.namespace ?? 'default';
  const d = opts.clusterDomain;
  const hosts = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    fqdn ? `${opts.podIP}\t${fqdn}\t${name}` : `${opts.podIP}\t${name}`,
    ...(pod.spec?.hostAliases ?? []).map((a) => `${a.ip}\t${(a.hostnames ?? []).join('\t')}`),
    '',
  ].join('\n');
  const resolv = `search ${ns}.svc.${d} svc.${d} ${d}\nnameserver ${opts.clusterDNS}\noptions ndots:5\n`;
  writeFiles(path.join(opts.podDir, 'etc'), {
    hosts,
    'resolv.conf': resolv,
    hostname: `${name}\n`,
  });
  return etcMounts(opts.podDir);
}

/** The mounts of the pod's /etc files that writeEtcFiles wrote. */
export function etcMounts(podDir: string): SandboxMount[] {
  return ['hosts', 'resolv.conf', 'hostname'].map((f) => ({
    source: path.join(podDir, 'etc', f),
    target: `/etc/${f}`,
  }));
}

/**
 * The host path a volume is mounted from: a hostPath's own path, a claim's volume directory (its
 * data outlives the pod), else <podDir>/volumes/<name>, which the pod's set-up fills.
 */
async function volumeSource(v: Volume, podDir: string, ns: string, objects: ObjectCache) {
  if (v.hostPath) {
    if (v.hostPath.type === 'DirectoryOrCreate') mkdirSync(v.hostPath.path, { recursive: true });
    return v.hostPath.path;
  }
  if (v.persistentVolumeClaim) {
    const claimDir = await objects.claimPath(ns, v.persistentVolumeClaim.claimName);
    mkdirSync(claimDir, { recursive: true });
    return claimDir;
  }
  return path.join(podDir, 'volumes', v.name);
}

/** Host paths of the pod's volumes by name, as prepareVolumes made them (later containers). */
export async function volumePaths(opts: {
  podDir: string;
  pod: Pod;
  objects: ObjectCache;
}): Promise<Map<string, string>> {
  const ns = opts.pod.metadata?.namespace ?? 'default';
  const out = new Map<string, string>();
  for (const v of opts.pod.spec?.volumes ?? [])
    out.set(v.name, await volumeSource(v, opts.podDir, ns, opts.objects));
  return out;
}

/** Materialises the pod's volumes under <podDir>/volumes; returns name → host path (or tmpfs marker). */
export async function prepareVolumes(opts: {
  podDir: string;
  pod: Pod;
  podIP: string;
  objects: ObjectCache;
  serviceAccountToken: () => Promise<{ token: string; ca: string }>;
}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ns = opts.pod.metadata?.namespace ?? 'default';
  for (const v of opts.pod.spec?.volumes ?? []) {
    const dir = await volumeSource(v, opts.podDir, ns, opts.objects);
    out.set(v.name, dir);
    if (v.hostPath || v.persistentVolumeClaim) continue;
    mkdirSync(dir, { recursive: true });
    await fillVolume(v, dir, ns, opts);
  }
  return out;
}

async function fillVolume(
  v: Volume,
  dir: string,
  ns: string,
  opts: Parameters<typeof prepareVolumes>[0],
) {
  const items = (data: Record<string, string>, list?: Array<{ key: string; path: string }>) => {
    if (!list?.length) return data;
    const o: Record<string, string> = {};
    for (const i of list) if (data[i.key] !== undefined) o[i.path] = data[i.key] ?? '';
    return o;
  };
  const need = async (kind: 'configmap' | 'secret', name: string, optional?: boolean) => {
    const data = await opts.objects.data(kind, ns, name);
    if (!data && !optional) throw new Error(`${kind} "${name}" not found`);
    return data ?? {};
  };
  if (v.configMap) {
    writeFiles(
      dir,
      items(
        await need('configmap', v.configMap.name ?? '', v.configMap.optional),
        v.configMap.items,
      ),
    );
  } else if (v.secret) {
    writeFiles(
      dir,
      items(await need('secret', v.secret.secretName ?? '', v.secret.optional), v.secret.items),
      0o600,
    );
  } else if (v.downwardAPI) {
    const files: Record<string, string> = {};
    for (const i of v.downwardAPI.items ?? []) {
      if (i.fieldRef) files[i.path] = podFieldValue(opts.pod, i.fieldRef.fieldPath, opts.podIP);
    }
    writeFiles(dir, files);
  } else if (v.projected) {
    const files: Record<string, string> = {};
    for (const s of v.projected.sources ?? []) {
      if (s.serviceAccountToken) {
        const t = await opts.serviceAccountToken();
        files[s.serviceAccountToken.path] = t.token;
      }
      if (s.configMap)
        Object.assign(
          files,
          items(
            await need('configmap', s.configMap.name ?? '', s.configMap.optional),
            s.configMap.items,
          ),
        );
      if (s.secret)
        Object.assign(
          files,
          items(await need('secret', s.secret.name ?? '', s.secret.optional), s.secret.items),
        );
      for (const i of s.downwardAPI?.items ?? []) {
        if (i.fieldRef) files[i.path] = podFieldValue(opts.pod, i.fieldRef.fieldPath, opts.podIP);
      }
    }
    writeFiles(dir, files);
  }
  // emptyDir (and anything unsupported) is just the empty directory.
}

/** Mounts of one container: its volumeMounts, plus the service-account files when not mounted. */
export function containerMounts(c: Container, volumes: Map<string, string>): SandboxMount[] {
  const out: SandboxMount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const src = volumes.get(m.name);
    if (!src) continue;
    out.push({
      source: m.subPath ? path.join(src, m.subPath) : src,
      target: m.mountPath,
      readOnly: m.readOnly === true,
    });
  }
  return out;
}
