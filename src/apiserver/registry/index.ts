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
