// What a pod's spec turns into on the node: container environment (kubelet_pods.go makeEnvironmentVariables,
// service links as envvars.go FromServices), volume contents, /etc files and cgroup resources.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Container, EnvVar, Pod, Service, Volume } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../api/quantity.js';
import { R } from '../client/resources.js';
import type { KubeClient } from '../client/rest.js';
import type { CgroupResources } from './cgroups/cgroups.js';
import type { SandboxMount } from './sandbox/sandbox.js';

/** The service-account mount path every pod gets (upstream constant). */
export const serviceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';

type ObjData = { data?: Record<string, string>; stringData?: Record<string, string> };

/** Reads configmaps/secrets once per pod start. */
export class ObjectCache {
  #client: KubeClient;
  #cache = new Map<string, Promise<ObjData | undefined>>();

  constructor(opts: { client: KubeClient }) {
    this.#client = opts.client;
  }

  /** Data of a ConfigMap (text) or Secret (decoded), undefined when it does not exist. */
  async data(
    kind: 'configmap' | 'secret',
    ns: string,
    name: string,
  ): Promise<Record<string, string> | undefined> {
    const key = `${kind}/${ns}/${name}`;
    let p = this.#cache.get(key);
    if (!p) {
      const r = kind === 'configmap' ? R.configmaps : R.secrets;
      p = this.#client.get<ObjData>(r, ns, name).catch(() => undefined);
      this.#cache.set(key, p);
    }
    const obj = await p;
    if (!obj) return undefined;
    if (kind === 'configmap') return obj.data ?? {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj.data ?? {}))
      out[k] = Buffer.from(v, 'base64').toString('utf8');
    return out;
  }
}

/** Resolves fieldRef paths (downward API) of a pod. */
export function podFieldValue(pod: Pod, fieldPath: string, podIP: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m)
    return (
      (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2] ?? ''] ?? ''
    );
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return Object.entries(pod.metadata?.labels ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n');
    case 'metadata.annotations':
      return Object.entries(pod.metadata?.annotations ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n');
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return '127.0.0.1';
    default:
      return '';
  }
}

/** resourceFieldRef value: limits fall back to node allocatable as upstream. */
export function resourceFieldValue(
  c: Container | undefined,
  resource: string,
  divisor: string | undefined,
  node: { cpu: number; memory: number },
): string {
  const [kind, name] = resource.split('.') as ['limits' | 'requests', string];
  const q = c?.resources?.[kind]?.[name];
  let v =
    q !== undefined
      ? parseQuantity(q)
      : kind === 'limits'
        ? name === 'cpu'
          ? node.cpu
          : node.memory
        : 0;
  const d = divisor ? parseQuantity(divisor) : 1;
  v = v / (d || 1);
  return String(name === 'cpu' ? Math.ceil(v) : Math.ceil(v));
}

function envName(svc: string): string {
  return svc.toUpperCase().replaceAll('-', '_');
}

/** Docker-link style variables for the services of the pod's namespace (and `kubernetes`). */
export function serviceEnv(services: Service[], namespace: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    const ns = s.metadata?.namespace;
    const isMaster = ns === 'default' && s.metadata?.name === 'kubernetes';
    if (!ip || ip === 'None' || (ns !== namespace && !isMaster)) continue;
    const n = envName(s.metadata?.name ?? '');
    const ports = s.spec?.ports ?? [];
    const first = ports[0];
    if (!first) continue;
    out[`${n}_SERVICE_HOST`] = ip;
    out[`${n}_SERVICE_PORT`] = String(first.port);
    for (const p of ports) if (p.name) out[`${n}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    const proto = (first.protocol ?? 'TCP').toLowerCase();
    out[`${n}_PORT`] = `${proto}://${ip}:${first.port}`;
    for (const p of ports) {
      const pr = (p.protocol ?? 'TCP').toLowerCase();
      const pfx = `${n}_PORT_${p.port}_${pr.toUpperCase()}`;
      out[pfx] = `${pr}://${ip}:${p.port}`;
      out[`${pfx}_PROTO`] = pr;
      out[`${pfx}_PORT`] = String(p.port);
      out[`${pfx}_ADDR`] = ip;
    }
  }
  return out;
}

/** Expands $(VAR) references as upstream expansion.Expand ($$ escapes). */
export function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) =>
    m === '$$' ? '$' : name !== undefined && name in env ? (env[name] ?? '') : m,
  );
}

/** Builds the environment of one container. */
export async function containerEnv(opts: {
  pod: Pod;
  container: Container;
  imageEnv: Array<{ name: string; value: string }>;
  podIP: string;
  services: Service[];
  objects: ObjectCache;
  node: { cpu: number; memory: number };
  extra?: Record<string, string>;
}): Promise<Record<string, string>> {
  const { pod, container: c } = opts;
  const ns = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const e of opts.imageEnv) env[e.name] = e.value;
  env['HOSTNAME'] = pod.spec?.hostNetwork ? (pod.spec.nodeName ?? '') : (pod.metadata?.name ?? '');
  Object.assign(env, opts.extra ?? {});
  if (pod.spec?.enableServiceLinks !== false) Object.assign(env, serviceEnv(opts.services, ns));
  else
    Object.assign(
      env,
      serviceEnv(
        opts.services.filter((s) => s.metadata?.name === 'kubernetes'),
        'default',
      ),
    );
  for (const from of c.envFrom ?? []) {
    const data = from.configMapRef
      ? await opts.objects.data('configmap', ns, from.configMapRef.name ?? '')
      : from.secretRef
        ? await opts.objects.data('secret', ns, from.secretRef.name ?? '')
        : undefined;
    const optional = from.configMapRef?.optional ?? from.secretRef?.optional;
    if (!data && !optional) {
      throw new Error(
        `${from.configMapRef ? 'configmap' : 'secret'} "${from.configMapRef?.name ?? from.secretRef?.name}" not found`,
      );
    }
    for (const [k, v] of Object.entries(data ?? {})) env[(from.prefix ?? '') + k] = v;
  }
  for (const e of c.env ?? []) {
    const v = await envValue(e, opts, ns, env);
    if (v !== undefined) env[e.name] = v;
  }
  return env;
}

async function envValue(
  e: EnvVar,
  opts: Parameters<typeof containerEnv>[0],
  ns: string,
  env: Record<string, string>,
): Promise<string | undefined> {
  if (e.value !== undefined) return expandVars(e.value, env);
  const from = e.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return podFieldValue(opts.pod, from.fieldRef.fieldPath, opts.podIP);
  if (from.resourceFieldRef) {
    const target = from.resourceFieldRef.containerName
      ? opts.pod.spec?.containers.find((x) => x.name === from.resourceFieldRef?.containerName)
      : opts.container;
    return resourceFieldValue(
      target,
      from.resourceFieldRef.resource,
      from.resourceFieldRef.divisor,
      opts.node,
    );
  }
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (ref) {
    const kind = from.configMapKeyRef ? 'configmap' : 'secret';
    const data = await opts.objects.data(kind, ns, ref.name ?? '');
    const v = data?.[ref.key];
    if (v === undefined && !ref.optional) {
      throw new Error(
        data
          ? `couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name}`
          : `${kind} "${ref.name}" not found`,
      );
    }
    return v;
  }
  return '';
}

/** cgroup settings from a container's requests and limits. */
export function cgroupResources(c: Container): CgroupResources {
  const q = (v: string | number | undefined) => (v === undefined ? undefined : parseQuantity(v));
  const cpuReq = q(c.resources?.requests?.['cpu'] ?? c.resources?.limits?.['cpu']);
  const cpuLim = q(c.resources?.limits?.['cpu']);
  const mem = q(c.resources?.limits?.['memory']);
  return {
    cpuRequestMilli: cpuReq !== undefined ? Math.round(cpuReq * 1000) : undefined,
    cpuLimitMilli: cpuLim !== undefined ? Math.round(cpuLim * 1000) : undefined,
    memoryLimitBytes: mem !== undefined ? Math.round(mem) : undefined,
  };
}

function writeFiles(dir: string, files: Record<string, string>, mode = 0o644): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content, { mode });
  }
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
  const name = pod.metadata?.name ?? '';
  const ns = pod.metadata?.namespace ?? 'default';
  const d = opts.clusterDomain;
  const hosts = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${opts.podIP}\t${name}`,
    ...(pod.spec?.hostAliases ?? []).map((a) => `${a.ip}\t${(a.hostnames ?? []).join('\t')}`),
    '',
  ].join('\n');
  const resolv = `search ${ns}.svc.${d} svc.${d} ${d}\nnameserver ${opts.clusterDNS}\noptions ndots:5\n`;
  const etc = path.join(opts.podDir, 'etc');
  writeFiles(etc, { hosts, 'resolv.conf': resolv, hostname: `${name}\n` });
  return ['hosts', 'resolv.conf', 'hostname'].map((f) => ({
    source: path.join(etc, f),
    target: `/etc/${f}`,
  }));
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
    const dir = path.join(opts.podDir, 'volumes', v.name);
    if (v.hostPath) {
      if (v.hostPath.type === 'DirectoryOrCreate') mkdirSync(v.hostPath.path, { recursive: true });
      out.set(v.name, v.hostPath.path);
      continue;
    }
    mkdirSync(dir, { recursive: true });
    out.set(v.name, dir);
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
