// A container's environment on the node (kubelet_pods.go makeEnvironmentVariables; service links
// from api/service-env.ts, the downward API's fieldRef/resourceFieldRef) and the per-pod cache of
// the ConfigMaps and Secrets it reads.
import type {
  Container,
  EnvVar,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Service,
} from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../api/quantity.js';
import { serviceEnvironment } from '../api/service-env.js';
import { R } from '../client/resources.js';
import { isNotFound, type KubeClient } from '../client/rest.js';

type ObjData = { data?: Record<string, string>; stringData?: Record<string, string> };

/** Reads configmaps/secrets once per pod start; only NotFound counts as absent. */
export class ObjectCache {
  #client: KubeClient;
  #cache = new Map<string, Promise<ObjData | undefined>>();

  constructor(opts: { client: KubeClient }) {
    this.#client = opts.client;
  }

  /**
   * The host directory of a claim's bound volume (hostPath or local PVs, as Skiff provisions);
   * throws when the claim is missing or not bound yet, so the pod start is retried.
   */
  async claimPath(ns: string, claimName: string): Promise<string> {
    const pvc = await this.#client
      .get<PersistentVolumeClaim>(R.persistentvolumeclaims, ns, claimName)
      .catch(() => undefined);
    if (!pvc) throw new Error(`persistentvolumeclaim "${claimName}" not found`);
    const pvName = pvc.spec?.volumeName;
    if (!pvName || pvc.status?.phase !== 'Bound') {
      throw new Error(`persistentvolumeclaim "${claimName}" is not bound`);
    }
    const pv = await this.#client.get<PersistentVolume>(R.persistentvolumes, undefined, pvName);
    const dir = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!dir) throw new Error(`persistentvolume "${pvName}" has no hostPath or local path`);
    return dir;
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
      // Only NotFound means absent (optional refs are then skipped); any other error fails this
      // start and is not cached, so the next start asks again.
      p = this.#client.get<ObjData>(r, ns, name).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        this.#cache.delete(key);
        throw err;
      });
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
  const links = serviceEnvironment(ns, opts.services, {
    enableServiceLinks: pod.spec?.enableServiceLinks,
  });
  for (const e of links) env[e.name] = e.value ?? '';
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
