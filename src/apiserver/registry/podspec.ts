// PodSpec defaulting and validation shared by Pods and every pod template (Deployment, ReplicaSet,
// Job, ...); follows pkg/apis/core/v1/defaults.go and pkg/apis/core/validation/validation.go.
import { isQuantity, parseQuantity, quantityFormatError } from '../../api/quantity.js';
import type { FieldError } from './types.js';
import {
  child,
  duplicate,
  forbidden,
  invalid,
  isDNS1123Label,
  isObj,
  list,
  notFound,
  notSupported,
  type Obj,
  required,
  setDefault,
  str,
  sub,
} from './util.js';

/** Fills SetDefaults_PodSpec / SetDefaults_Container defaults into a pod spec (mutates). */
export function defaultPodSpec(spec: Obj): void {
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  const all = ['initContainers', 'containers', 'ephemeralContainers'].flatMap((k) => list(spec, k));
  for (const c of all) defaultContainer(c);
  for (const v of list(spec, 'volumes')) {
    for (const key of ['secret', 'configMap', 'downwardAPI', 'projected']) {
      const src = sub(v, key);
      if (src) setDefault(src, 'defaultMode', 420);
    }
    const hp = sub(v, 'hostPath');
    if (hp) setDefault(hp, 'type', '');
  }
}

function defaultContainer(c: Obj): void {
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'imagePullPolicy', defaultPullPolicy(str(c.image)));
  setDefault(c, 'resources', {});
  for (const p of list(c, 'ports')) setDefault(p, 'protocol', 'TCP');
  for (const e of list(c, 'env')) {
    const fr = sub(sub(e, 'valueFrom'), 'fieldRef');
    if (fr) setDefault(fr, 'apiVersion', 'v1');
  }
  for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const probe = sub(c, key);
    if (!probe) continue;
    setDefault(probe, 'timeoutSeconds', 1);
    setDefault(probe, 'periodSeconds', 10);
    setDefault(probe, 'successThreshold', 1);
    setDefault(probe, 'failureThreshold', 3);
    defaultHandler(probe);
  }
  for (const key of ['postStart', 'preStop']) defaultHandler(sub(sub(c, 'lifecycle'), key));
}

function defaultHandler(h: Obj | undefined): void {
  const get = sub(h, 'httpGet');
  if (!get) return;
  setDefault(get, 'path', '/');
  setDefault(get, 'scheme', 'HTTP');
}

/** Always for ":latest" or untagged images, else IfNotPresent (digests count as tagged). */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  const tag = colon < 0 ? '' : image.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Pod-only defaults (SetDefaults_Pod plus the admission plugins that always run upstream). */
export function defaultPodOnly(spec: Obj): void {
  setDefault(spec, 'enableServiceLinks', true);
  // The ServiceAccount admission plugin.
  setDefault(spec, 'serviceAccountName', str(spec.serviceAccount) || 'default');
  setDefault(spec, 'serviceAccount', spec.serviceAccountName);
  // The Priority admission plugin (no priorityClassName → global default 0).
  setDefault(spec, 'priority', 0);
  setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  // Requests default to limits for pods (not templates).
  for (const c of [...list(spec, 'initContainers'), ...list(spec, 'containers')]) {
    const res = child(c, 'resources');
    const limits = sub(res, 'limits');
    if (!limits) continue;
    const requests = child(res, 'requests');
    for (const [k, v] of Object.entries(limits)) setDefault(requests, k, v);
  }
  // The DefaultTolerationSeconds admission plugin.
  const tolerations = Array.isArray(spec.tolerations) ? (spec.tolerations as Obj[]) : [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const has = tolerations.some(
      (t) => isObj(t) && (t.key === key || (t.key === undefined && t.operator === 'Exists')),
    );
    if (!has) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
}

/** status.qosClass as qos.GetPodQOS computes it. */
export function podQOSClass(spec: Obj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  let hasAny = false;
  let guaranteed = true;
  for (const c of [...list(spec, 'initContainers'), ...list(spec, 'containers')]) {
    const requests = sub(sub(c, 'resources'), 'requests') ?? {};
    const limits = sub(sub(c, 'resources'), 'limits') ?? {};
    const relevant = (m: Obj): string[] =>
      Object.keys(m).filter((k) => (k === 'cpu' || k === 'memory') && safeParse(m[k]) !== 0);
    if (relevant(requests).length > 0 || relevant(limits).length > 0) hasAny = true;
    for (const r of ['cpu', 'memory']) {
      const lim = limits[r];
      const req = requests[r] ?? lim;
      if (lim === undefined || safeParse(req) !== safeParse(lim)) guaranteed = false;
    }
  }
  if (!hasAny) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function safeParse(q: unknown): number {
  try {
    return typeof q === 'string' || typeof q === 'number' ? parseQuantity(q) : 0;
  } catch (e: unknown) {
    if (e instanceof SyntaxError) return Number.NaN;
    throw e;
  }
}

/** ValidatePodSpec for the kinds we act on; `path` is e.g. "spec" or "spec.template.spec". */
export function validatePodSpec(spec: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(spec)) return [required(path)];
  const containers = list(spec, 'containers');
  if (containers.length === 0) errs.push(required(`${path}.containers`));
  const names = new Set<string>();
  const check = (cs: Obj[], field: string): void => {
    cs.forEach((c, i) => {
      const p = `${path}.${field}[${i}]`;
      errs.push(...validateContainer(c, p, names));
    });
  };
  check(list(spec, 'initContainers'), 'initContainers');
  check(containers, 'containers');
  errs.push(...validateEphemeralContainers(spec, path, names));
  const rp = spec.restartPolicy;
  if (rp !== undefined && !['Always', 'OnFailure', 'Never'].includes(str(rp))) {
    errs.push(notSupported(`${path}.restartPolicy`, rp, ['Always', 'OnFailure', 'Never']));
  }
  const dp = spec.dnsPolicy;
  const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (dp !== undefined && !dnsPolicies.includes(str(dp))) {
    errs.push(notSupported(`${path}.dnsPolicy`, dp, dnsPolicies));
  }
  const tgps = spec.terminationGracePeriodSeconds;
  if (typeof tgps === 'number' && tgps < 0) {
    errs.push(invalid(`${path}.terminationGracePeriodSeconds`, tgps, 'must be >= 0'));
  }
  const ads = spec.activeDeadlineSeconds;
  if (typeof ads === 'number' && ads <= 0) {
    errs.push(
      invalid(`${path}.activeDeadlineSeconds`, ads, 'must be between 1 and 2147483647, inclusive'),
    );
  }
  const volNames = new Set<string>();
  list(spec, 'volumes').forEach((v, i) => {
    const name = str(v.name);
    if (name === '') errs.push(required(`${path}.volumes[${i}].name`));
    else if (volNames.has(name)) errs.push(duplicate(`${path}.volumes[${i}].name`, name));
    else
      for (const d of isDNS1123Label(name))
        errs.push(invalid(`${path}.volumes[${i}].name`, name, d));
    volNames.add(name);
  });
  return errs;
}

function validateContainer(c: Obj, p: string, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const name = str(c.name);
  if (name === '') errs.push(required(`${p}.name`));
  else if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
  else for (const d of isDNS1123Label(name)) errs.push(invalid(`${p}.name`, name, d));
  names.add(name);
  if (str(c.image).trim() === '') errs.push(required(`${p}.image`));
  const ipp = c.imagePullPolicy;
  if (ipp !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(str(ipp))) {
    errs.push(notSupported(`${p}.imagePullPolicy`, ipp, ['Always', 'IfNotPresent', 'Never']));
  }
  const portNames = new Set<string>();
  list(c, 'ports').forEach((port, i) => {
    const pp = `${p}.ports[${i}]`;
    if (port.name !== undefined && port.name !== '') {
      const pn = str(port.name);
      for (const d of validatePortName(pn)) errs.push(invalid(`${pp}.name`, pn, d));
      if (portNames.has(pn)) errs.push(duplicate(`${pp}.name`, pn));
      portNames.add(pn);
    }
    errs.push(...validatePortNumber(port.containerPort, `${pp}.containerPort`, true));
    if (port.hostPort !== undefined && port.hostPort !== 0) {
      errs.push(...validatePortNumber(port.hostPort, `${pp}.hostPort`, true));
    }
    const proto = port.protocol;
    if (proto !== undefined && !['SCTP', 'TCP', 'UDP'].includes(str(proto))) {
      errs.push(notSupported(`${pp}.protocol`, proto, ['SCTP', 'TCP', 'UDP']));
    }
  });
  errs.push(...validateResources(sub(c, 'resources'), `${p}.resources`));
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const pr = sub(c, probe);
    if (!pr) continue;
    for (const f of ['timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
      const v = pr[f];
      if (typeof v === 'number' && v < 0) {
        errs.push(invalid(`${p}.${probe}.${f}`, v, 'must be greater than or equal to 0'));
      }
    }
  }
  return errs;
}

/**
 * Fields an ephemeral container may not set (upstream allowedEphemeralContainerFields: what makes
 * a container part of the workload, such as ports, probes, resources and lifecycle hooks).
 */
const ephemeralForbidden = [
  'ports',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
];

// Go's "not the zero value": absent, empty string, list or object all count as unset.
const isSet = (v: unknown): boolean =>
  v !== undefined &&
  v !== null &&
  v !== '' &&
  !(typeof v === 'object' && Object.keys(v).length === 0);

// validateEphemeralContainers: each is a container (same checks, its name unique among every
// container of the pod), its target a regular or init container, no workload-only fields, no
// subPath mounts (their bind mounts would outlive the container).
function validateEphemeralContainers(spec: Obj, path: string, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const others = new Set(names);
  list(spec, 'ephemeralContainers').forEach((c, i) => {
    const p = `${path}.ephemeralContainers[${i}]`;
    errs.push(...validateContainer(c, p, names));
    const target = str(c.targetContainerName);
    if (target !== '' && !others.has(target)) {
      errs.push(notFound(`${p}.targetContainerName`, target));
    }
    for (const f of ephemeralForbidden) {
      if (isSet(c[f])) {
        errs.push(forbidden(`${p}.${f}`, 'cannot be set for an Ephemeral Container'));
      }
    }
    list(c, 'volumeMounts').forEach((m, j) => {
      for (const f of ['subPath', 'subPathExpr']) {
        if (str(m[f]) !== '') {
          errs.push(
            forbidden(`${p}.volumeMounts[${j}].${f}`, 'cannot be set for an Ephemeral Container'),
          );
        }
      }
    });
  });
  return errs;
}

/** Validates container resources: quantity syntax, non-negative, requests ≤ limits. */
function validateResources(res: Obj | undefined, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const limits = sub(res, 'limits') ?? {};
  const requests = sub(res, 'requests') ?? {};
  const parsed = (m: Obj, kind: string): Map<string, number> => {
    const out = new Map<string, number>();
    for (const [k, v] of Object.entries(m)) {
      const field = `${p}.${kind}[${k}]`;
      if (typeof v !== 'number' && (typeof v !== 'string' || !isQuantity(v))) {
        errs.push(invalid(field, v, quantityFormatError));
        continue;
      }
      const n = parseQuantity(v);
      if (n < 0) errs.push(invalid(field, v, 'must be greater than or equal to 0'));
      out.set(k, n);
    }
    return out;
  };
  const lim = parsed(limits, 'limits');
  const req = parsed(requests, 'requests');
  for (const [k, r] of req) {
    const l = lim.get(k);
    if (l !== undefined && r > l) {
      errs.push(
        invalid(
          `${p}.requests[${k}]`,
          requests[k],
          `must be less than or equal to ${k} limit of ${str(limits[k])}`,
        ),
      );
    }
  }
  return errs;
}

/** Port number 1–65535 (upstream IsValidPortNum + InclusiveRangeError). */
export function validatePortNumber(v: unknown, field: string, isRequired: boolean): FieldError[] {
  if (v === undefined || v === null) return isRequired ? [required(field)] : [];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    return [invalid(field, v, 'must be between 1 and 65535, inclusive')];
  }
  return [];
}

/** IsValidPortName: the error details for an IANA_SVC_NAME, empty when valid. */
export function validatePortName(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(port)) {
    errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  }
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.startsWith('-') || port.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}
