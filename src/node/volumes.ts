// A pod's files on the node (kubelet volume manager + kuberuntime makeMounts): volume contents under
// <podDir>/volumes, the /etc files (hosts, resolv.conf, hostname) and each container's mounts.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Container, DownwardAPIVolumeFile, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { errorMessage } from '../lib/errors.js';
import { type FileProjection, writeAtomic } from './atomic-writer.js';
import { type ObjectCache, podFieldValue } from './container-env.js';
import type { SandboxMount } from './sandbox/sandbox.js';

/** The service-account mount path every pod gets (upstream constant). */
export const serviceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
// The API's default for defaultMode (0644) when an object reaches the node without defaulting.
const defaultFileMode = 0o644;
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
    // The kubelet makes emptyDir world-writable (0777): a non-root container writes there
    // (metrics-server's --cert-dir=/tmp as uid 1000).
    if (v.emptyDir) chmodSync(dir, 0o777);
    await fillVolume(v, dir, ns, opts);
  }
  return out;
}

/** Where a projected token comes from: a fresh request, or (refresh) the file already written. */
type TokenSource = () => Promise<string>;

// Items of a configMap or secret: every key at its own name, or the listed keys at their paths
// (a key the object lacks is skipped), each with its mode or the volume's defaultMode.
function project(
  data: Record<string, string>,
  source: { items?: Array<{ key: string; path: string; mode?: number }> },
  defaultMode: number,
): Record<string, FileProjection> {
  const out: Record<string, FileProjection> = {};
  if (!source.items?.length) {
    for (const [k, v] of Object.entries(data)) out[k] = { data: v, mode: defaultMode };
    return out;
  }
  for (const i of source.items) {
    const v = data[i.key];
    if (v !== undefined) out[i.path] = { data: v, mode: i.mode ?? defaultMode };
  }
  return out;
}

// The files of a configMap, secret, downwardAPI or projected volume (undefined for other kinds).
async function volumePayload(opts: {
  v: Volume;
  ns: string;
  pod: Pod;
  podIP: string;
  objects: ObjectCache;
  token: TokenSource;
}): Promise<Record<string, FileProjection> | undefined> {
  const { v, ns } = opts;
  const need = async (kind: 'configmap' | 'secret', name: string, optional?: boolean) => {
    const data = await opts.objects.data(kind, ns, name);
    if (!data && !optional) throw new Error(`${kind} "${name}" not found`);
    return data ?? {};
  };
  const downward = (items: DownwardAPIVolumeFile[] | undefined, mode: number) => {
    const out: Record<string, FileProjection> = {};
    for (const i of items ?? []) {
      if (!i.fieldRef) continue;
      const data = podFieldValue(opts.pod, i.fieldRef.fieldPath, opts.podIP);
      out[i.path] = { data, mode: i.mode ?? mode };
    }
    return out;
  };
  if (v.configMap) {
    const mode = v.configMap.defaultMode ?? defaultFileMode;
    const data = await need('configmap', v.configMap.name ?? '', v.configMap.optional);
    return project(data, v.configMap, mode);
  }
  if (v.secret) {
    const mode = v.secret.defaultMode ?? defaultFileMode;
    const data = await need('secret', v.secret.secretName ?? '', v.secret.optional);
    return project(data, v.secret, mode);
  }
  if (v.downwardAPI) {
    return downward(v.downwardAPI.items, v.downwardAPI.defaultMode ?? defaultFileMode);
  }
  if (!v.projected) return undefined;
  const mode = v.projected.defaultMode ?? defaultFileMode;
  const files: Record<string, FileProjection> = {};
  for (const s of v.projected.sources ?? []) {
    if (s.serviceAccountToken) {
      files[s.serviceAccountToken.path] = { data: await opts.token(), mode };
    }
    if (s.configMap) {
      const data = await need('configmap', s.configMap.name ?? '', s.configMap.optional);
      Object.assign(files, project(data, s.configMap, mode));
    }
    if (s.secret) {
      const data = await need('secret', s.secret.name ?? '', s.secret.optional);
      Object.assign(files, project(data, s.secret, mode));
    }
    Object.assign(files, downward(s.downwardAPI?.items, mode));
  }
  return files;
}

async function fillVolume(
  v: Volume,
  dir: string,
  ns: string,
  opts: Parameters<typeof prepareVolumes>[0],
) {
  const token = async () => (await opts.serviceAccountToken()).token;
  const files = await volumePayload({ ...opts, v, ns, token });
  // emptyDir (and anything unsupported) is just the empty directory.
  if (files) writeAtomic(dir, files);
}

/**
 * Rewrites the pod's configMap, secret, downwardAPI and projected volumes from the objects' current
 * data (kubelet's periodic remount, here on a watch event): unchanged ones are left as they are,
 * a projected token keeps the file already written. A volume whose object cannot be read (deleted,
 * not optional) keeps its files, as upstream; its error is returned with the names updated.
 */
export async function refreshVolumes(opts: {
  podDir: string;
  pod: Pod;
  podIP: string;
  objects: ObjectCache;
}): Promise<{ updated: string[]; errors: string[] }> {
  const ns = opts.pod.metadata?.namespace ?? 'default';
  const updated: string[] = [];
  const errors: string[] = [];
  for (const v of opts.pod.spec?.volumes ?? []) {
    const dir = path.join(opts.podDir, 'volumes', v.name);
    const token = async () => {
      const p = v.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
      return p ? readFileSync(path.join(dir, p.path), 'utf8') : '';
    };
    try {
      const files = await volumePayload({ ...opts, v, ns, token });
      if (files && writeAtomic(dir, files)) updated.push(v.name);
    } catch (err) {
      errors.push(`volume ${v.name}: ${errorMessage(err)}`);
    }
  }
  return { updated, errors };
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

/** Whether any of the pod's volumes holds downwardAPI files (they follow its labels/annotations). */
export function hasDownwardAPIVolume(pod: Pod): boolean {
  return (pod.spec?.volumes ?? []).some(
    (v) => v.downwardAPI !== undefined || (v.projected?.sources ?? []).some((s) => s.downwardAPI),
  );
}

/** The configMaps and secrets a pod's volumes project, as "configmap/<name>" and "secret/<name>". */
export function volumeObjectRefs(pod: Pod): string[] {
  const refs = new Set<string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap?.name) refs.add(`configmap/${v.configMap.name}`);
    if (v.secret?.secretName) refs.add(`secret/${v.secret.secretName}`);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) refs.add(`configmap/${s.configMap.name}`);
      if (s.secret?.name) refs.add(`secret/${s.secret.name}`);
    }
  }
  return [...refs];
}
