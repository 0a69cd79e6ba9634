// The registry: every resource's Strategy keyed "<group>/<resource>", plus strict-decoding support
// (unknown-field detection against the field trees in schema/fields.json).
import { readFileSync } from 'node:fs';
import { eventStrategy, namespaceStrategy, nodeStrategy } from './cluster.js';
import { defaultTable } from './common.js';
import { hpaStrategy } from './hpa.js';
import { ingressClassStrategy, ingressStrategy } from './ingresses.js';
import {
  apiServiceStrategy,
  configMapStrategy,
  jobStrategy,
  leaseStrategy,
  pdbStrategy,
  priorityClassStrategy,
  roleBindingStrategy,
  roleStrategy,
  secretStrategy,
  serviceAccountStrategy,
  webhookConfigurationStrategy,
} from './misc.js';
import { podStrategy } from './pods.js';
import { endpointSliceStrategy, endpointsStrategy, serviceStrategy } from './services.js';
import type { Strategy } from './types.js';
import {
  daemonSetStrategy,
  deploymentStrategy,
  replicaSetStrategy,
  replicationControllerStrategy,
  statefulSetStrategy,
} from './workloads.js';

export { configureRegistry, type RegistryConfig } from './config.js';
export { humanDuration } from './duration.js';

/** Upstream's ValidateXUpdate always includes ValidateX: reuse validate where no update rule exists. */
function withUpdateValidation(entries: [string, Strategy][]): Map<string, Strategy> {
  return new Map(
    entries.map(([key, s]) => {
      const validate = s.validate;
      if (s.validateUpdate || !validate) return [key, s];
      return [key, { ...s, validateUpdate: (obj, _old, ctx) => validate(obj, ctx) }];
    }),
  );
}

/** Strategies keyed "<group>/<resource>" (core group ''), e.g. "/pods", "apps/deployments". */
export const strategies: ReadonlyMap<string, Strategy> = withUpdateValidation([
  ['/pods', podStrategy],
  ['/services', serviceStrategy],
  ['/endpoints', endpointsStrategy],
  ['/configmaps', configMapStrategy],
  ['/secrets', secretStrategy],
  ['/serviceaccounts', serviceAccountStrategy],
  ['/replicationcontrollers', replicationControllerStrategy],
  ['/namespaces', namespaceStrategy],
  ['/nodes', nodeStrategy],
  ['/events', eventStrategy],
  ['apps/deployments', deploymentStrategy],
  ['apps/replicasets', replicaSetStrategy],
  ['apps/statefulsets', statefulSetStrategy],
  ['apps/daemonsets', daemonSetStrategy],
  ['autoscaling/horizontalpodautoscalers', hpaStrategy],
  ['batch/jobs', jobStrategy],
  ['networking.k8s.io/ingresses', ingressStrategy],
  ['networking.k8s.io/ingressclasses', ingressClassStrategy],
  ['discovery.k8s.io/endpointslices', endpointSliceStrategy],
  ['coordination.k8s.io/leases', leaseStrategy],
  ['apiregistration.k8s.io/apiservices', apiServiceStrategy],
  ['rbac.authorization.k8s.io/roles', roleStrategy],
  ['rbac.authorization.k8s.io/clusterroles', roleStrategy],
  ['rbac.authorization.k8s.io/rolebindings', roleBindingStrategy],
  ['rbac.authorization.k8s.io/clusterrolebindings', roleBindingStrategy],
  ['policy/poddisruptionbudgets', pdbStrategy],
  ['scheduling.k8s.io/priorityclasses', priorityClassStrategy],
  ['admissionregistration.k8s.io/validatingwebhookconfigurations', webhookConfigurationStrategy],
  ['admissionregistration.k8s.io/mutatingwebhookconfigurations', webhookConfigurationStrategy],
]);

const fallback: Strategy = { table: defaultTable };

/** The strategy of a resource, or one with only the default NAME/CREATED AT table. */
export function strategyFor(group: string, resource: string): Strategy {
  return strategies.get(`${group}/${resource}`) ?? fallback;
}

interface FieldSchema {
  roots: Record<string, string>;
  types: Record<string, Record<string, string>>;
}
const schema = JSON.parse(
  readFileSync(new URL('./schema/fields.json', import.meta.url), 'utf8'),
) as FieldSchema;

/**
 * Paths of fields the kind's schema does not have ("spec.replicass",
 * "spec.template.spec.containers[0].imagee"), in document order; [] for kinds without a schema.
 */
export function findUnknownFields(apiVersion: string, kind: string, obj: unknown): string[] {
  const root = schema.roots[`${apiVersion}/${kind}`];
  if (!root) return [];
  const out: string[] = [];
  walk(root, obj, '', out);
  return out;
}

function walk(typeId: string, value: unknown, path: string, out: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const fields = schema.types[typeId];
  if (!fields) return;
  for (const [key, child] of Object.entries(value)) {
    const p = path === '' ? key : `${path}.${key}`;
    const ref = fields[key];
    if (ref === undefined) {
      // apiVersion and kind are part of every object's TypeMeta.
      if (path !== '' || (key !== 'apiVersion' && key !== 'kind')) out.push(p);
      continue;
    }
    if (ref === '') continue;
    if (ref.startsWith('[]')) {
      if (!Array.isArray(child)) continue;
      for (const [i, item] of child.entries()) walk(ref.slice(2), item, `${p}[${i}]`, out);
    } else walk(ref, child, p, out);
  }
}

/**
 * Fields whose JSON type the kind's schema does not allow, worded as upstream's JSON decoder words
 * them ("json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type
 * int32"), in document order; kinds without a schema get their metadata checked only.
 */
export function findTypeErrors(apiVersion: string, kind: string, obj: unknown): string[] {
  const out: string[] = [];
  const root = schema.roots[`${apiVersion}/${kind}`];
  if (root) checkType(root, obj, '', kind, out);
  else if (typeof obj === 'object' && obj !== null && !Array.isArray(obj)) {
    const meta = (obj as Record<string, unknown>)['metadata'];
    checkType('meta/v1.ObjectMeta', meta, 'metadata', kind, out);
  }
  return out;
}

/** Go's name of a schema reference (for messages). */
function goTypeOf(ref: string): string {
  if (ref.startsWith('[]')) return `[]${goTypeOf(ref.slice(2))}`;
  if (ref.startsWith('{}')) return `map[string]${goTypeOf(ref.slice(2))}`;
  const leaf = leafGoTypes[ref];
  if (leaf) return leaf;
  // "apps/v1.DeploymentSpec" → "v1.DeploymentSpec", as Go prints a package-qualified type.
  return ref.slice(ref.indexOf('/') + 1);
}

const leafGoTypes: Record<string, string> = {
  $s: 'string',
  $n: 'int32',
  $b: 'bool',
  $ns: 'intstr.IntOrString',
  $q: 'resource.Quantity',
};

/** The JSON type name Go's decoder reports for a value. */
function jsonTypeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'number' : `number ${v}`;
  return typeof v;
}

function checkType(ref: string, value: unknown, path: string, struct: string, out: string[]): void {
  // null decodes to the zero value of any field; "" is free-form JSON.
  if (value === null || value === undefined || ref === '') return;
  const fail = () =>
    out.push(
      `json: cannot unmarshal ${jsonTypeOf(value)} into Go struct field ${struct}.${path} of type ${goTypeOf(ref)}`,
    );
  const isMap = typeof value === 'object' && !Array.isArray(value);
  if (ref.startsWith('[]')) {
    if (!Array.isArray(value)) return void fail();
    for (const item of value) checkType(ref.slice(2), item, path, struct, out);
    return;
  }
  if (ref.startsWith('{}')) {
    if (!isMap) return void fail();
    for (const v of Object.values(value)) checkType(ref.slice(2), v, path, struct, out);
    return;
  }
  switch (ref) {
    case '$s':
      if (typeof value !== 'string') fail();
      return;
    case '$n':
      if (typeof value !== 'number' || !Number.isInteger(value)) fail();
      return;
    case '$b':
      if (typeof value !== 'boolean') fail();
      return;
    case '$ns':
    case '$q':
      if (typeof value !== 'string' && typeof value !== 'number') fail();
      return;
  }
  const fields = schema.types[ref];
  if (!fields) return;
  if (!isMap) return void fail();
  const name = ref.slice(ref.lastIndexOf('.') + 1);
  for (const [key, child] of Object.entries(value)) {
    const ft = fields[key];
    if (ft !== undefined) checkType(ft, child, path === '' ? key : `${path}.${key}`, name, out);
  }
}
