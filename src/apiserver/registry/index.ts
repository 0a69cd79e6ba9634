// The registry: every resource's REST storage (strategy + subresource table) keyed
// "<group>/<resource>", as kube-apiserver's pkg/registry/*/rest/storage_*.go assemble them. A new
// kind or subresource is one entry here, its strategy next to its kind, and a line in
// src/api/resources.ts (a unit test keeps the two tables in step).
import { eventStrategy, nodeStrategy } from './cluster.js';
import { defaultTable } from './common.js';
import { cronJobStrategy } from './cronjobs.js';
import { eventsV1Strategy } from './events.js';
import { findTypeErrors, findUnknownFields } from './field-schema.js';
import { scaleSubresource, statusSubresource } from './generic/subresources.js';
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
  webhookConfigurationStrategy,
} from './misc.js';
import { namespaceStorage } from './namespace-storage.js';
import { podStorage } from './pod-storage.js';
import { nodeProxySubresource, serviceProxySubresource } from './proxy.js';
import {
  selfSubjectAccessReviewStorage,
  selfSubjectReviewStorage,
  selfSubjectRulesReviewStorage,
} from './reviews.js';
import { serviceAccountStorage } from './serviceaccount-storage.js';
import { endpointSliceStrategy, endpointsStrategy, serviceStrategy } from './services.js';
import type { Registry, ResourceStorage, SubresourceStorage } from './storage.js';
import type { Strategy } from './types.js';
import { pvcStrategy, pvStrategy, storageClassStrategy } from './volumes.js';
import { vpaCheckpointStrategy, vpaStrategy } from './vpa.js';
import {
  daemonSetStrategy,
  deploymentStrategy,
  replicaSetStrategy,
  replicationControllerStrategy,
  statefulSetStrategy,
} from './workloads.js';

export { findTypeErrors, findUnknownFields } from './field-schema.js';

/** Upstream's ValidateXUpdate always includes ValidateX: reuse validate where no update rule exists. */
function withUpdateValidation(s: Strategy): Strategy {
  const validate = s.validate;
  if (s.validateUpdate || !validate) return s;
  return { ...s, validateUpdate: (obj, _old, ctx) => validate(obj, ctx) };
}

/** Kinds without a strategy of their own print NAME and CREATED AT. */
const fallback: Strategy = { table: defaultTable };

const status = { status: statusSubresource };
const statusAndScale = { status: statusSubresource, scale: scaleSubresource };

/** A storage entry: the strategy with its subresources (none by default). */
function storage(
  strategy: Strategy,
  subresources: Readonly<Record<string, SubresourceStorage>> = {},
): ResourceStorage {
  return { strategy, subresources };
}

/** Every resource's storage, keyed "<group>/<resource>" (core group ''), e.g. "apps/deployments". */
export const resourceStorage: ReadonlyMap<string, ResourceStorage> = new Map(
  (
    [
      ['/namespaces', namespaceStorage],
      ['/pods', podStorage],
      ['/services', storage(serviceStrategy, { ...status, proxy: serviceProxySubresource })],
      ['/endpoints', storage(endpointsStrategy)],
      ['/events', storage(eventStrategy)],
      ['/nodes', storage(nodeStrategy, { ...status, proxy: nodeProxySubresource })],
      ['/configmaps', storage(configMapStrategy)],
      ['/secrets', storage(secretStrategy)],
      ['/serviceaccounts', serviceAccountStorage],
      ['/persistentvolumeclaims', storage(pvcStrategy, status)],
      ['/persistentvolumes', storage(pvStrategy, status)],
      ['/resourcequotas', storage(fallback, status)],
      ['/replicationcontrollers', storage(replicationControllerStrategy, statusAndScale)],
      ['apps/deployments', storage(deploymentStrategy, statusAndScale)],
      ['apps/replicasets', storage(replicaSetStrategy, statusAndScale)],
      ['apps/statefulsets', storage(statefulSetStrategy, statusAndScale)],
      ['apps/daemonsets', storage(daemonSetStrategy, status)],
      ['autoscaling/horizontalpodautoscalers', storage(hpaStrategy, status)],
      ['autoscaling.k8s.io/verticalpodautoscalers', storage(vpaStrategy, status)],
      ['autoscaling.k8s.io/verticalpodautoscalercheckpoints', storage(vpaCheckpointStrategy)],
      ['batch/jobs', storage(jobStrategy, status)],
      ['batch/cronjobs', storage(cronJobStrategy, status)],
      ['networking.k8s.io/ingresses', storage(ingressStrategy, status)],
      ['networking.k8s.io/ingressclasses', storage(ingressClassStrategy)],
      ['discovery.k8s.io/endpointslices', storage(endpointSliceStrategy)],
      ['coordination.k8s.io/leases', storage(leaseStrategy)],
      ['apiregistration.k8s.io/apiservices', storage(apiServiceStrategy, status)],
      ['apiextensions.k8s.io/customresourcedefinitions', storage(fallback, status)],
      ['events.k8s.io/events', storage(eventsV1Strategy)],
      ['authentication.k8s.io/selfsubjectreviews', selfSubjectReviewStorage],
      ['authorization.k8s.io/selfsubjectaccessreviews', selfSubjectAccessReviewStorage],
      ['authorization.k8s.io/selfsubjectrulesreviews', selfSubjectRulesReviewStorage],
      ['rbac.authorization.k8s.io/roles', storage(roleStrategy)],
      ['rbac.authorization.k8s.io/clusterroles', storage(roleStrategy)],
      ['rbac.authorization.k8s.io/rolebindings', storage(roleBindingStrategy)],
      ['rbac.authorization.k8s.io/clusterrolebindings', storage(roleBindingStrategy)],
      ['policy/poddisruptionbudgets', storage(pdbStrategy, status)],
      ['scheduling.k8s.io/priorityclasses', storage(priorityClassStrategy)],
      ['storage.k8s.io/storageclasses', storage(storageClassStrategy)],
      [
        'admissionregistration.k8s.io/validatingwebhookconfigurations',
        storage(webhookConfigurationStrategy),
      ],
      [
        'admissionregistration.k8s.io/mutatingwebhookconfigurations',
        storage(webhookConfigurationStrategy),
      ],
    ] as [string, ResourceStorage][]
  ).map(([key, s]) => [key, { ...s, strategy: withUpdateValidation(s.strategy) }]),
);

const fallbackStorage = storage(fallback);

/** The storage of a resource; kinds missing from the table get the fallback (no subresources). */
export function storageFor(r: { group: string; resource: string }): ResourceStorage {
  return resourceStorage.get(`${r.group}/${r.resource}`) ?? fallbackStorage;
}

/** The strategy of a resource, or one with only the default NAME/CREATED AT table. */
export function strategyFor(group: string, resource: string): Strategy {
  return storageFor({ group, resource }).strategy;
}

/** Strategies keyed "<group>/<resource>" (core group ''), e.g. "/pods", "apps/deployments". */
export const strategies: ReadonlyMap<string, Strategy> = new Map(
  [...resourceStorage].map(([key, s]) => [key, s.strategy]),
);

/** The registry the API server serves by default. */
export const defaultRegistry: Registry = { storageFor, findUnknownFields, findTypeErrors };
