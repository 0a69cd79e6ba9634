// Pieces shared by the Endpoints and EndpointSlice controllers: which Services a pod change
// touches, and the `kubernetes` Service's endpoints (upstream: the apiserver's endpoint reconciler,
// pkg/controlplane/reconcilers).
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Informer, Lister } from '../../client/informer.js';
import { objectKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import type { KObject } from '../../client/rest.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { Controller } from '../runtime/controller.js';
import { selectorMatches } from './endpoints.js';
import { serviceNameLabel } from './endpointslice.js';

/** Where the API server listens, as the `kubernetes` Service's single endpoint. */
export interface ApiServerEndpoint {
  ip: string;
  port: number;
}

/** Namespace/name of the Service that fronts the API server. */
export const kubernetesServiceKey = 'default/kubernetes';

/** Keys of the Services whose selector matches the pod (getPodServiceMemberships). */
export function servicesForPod(services: Lister<Service>, pod: Readonly<Pod>): string[] {
  const ns = pod.metadata?.namespace ?? 'default';
  const keys: string[] = [];
  for (const svc of services.list(ns)) {
    if (selectorMatches(svc.spec?.selector, pod.metadata?.labels)) keys.push(objectKey(svc));
  }
  return keys;
}

/**
 * Keys to enqueue for a pod update: only when something endpoints depend on changed (labels, IP,
 * readiness, deletion, phase, ports), for the Services of both the old and the new labels.
 */
export function servicesForPodUpdate(
  services: Lister<Service>,
  oldPod: Readonly<Pod>,
  newPod: Readonly<Pod>,
): string[] {
  const relevant = (p: Readonly<Pod>) =>
    JSON.stringify([
      p.metadata?.labels,
      p.metadata?.deletionTimestamp,
      p.status?.podIP,
      p.status?.phase,
      p.status?.conditions?.find((c) => c.type === 'Ready')?.status,
      p.spec?.nodeName,
      p.spec?.hostname,
      p.spec?.subdomain,
    ]);
  if (relevant(oldPod) === relevant(newPod)) return [];
  return [...new Set([...servicesForPod(services, oldPod), ...servicesForPod(services, newPod)])];
}

/**
 * A controller keyed by Service, reconciling when the Service or a pod it selects changes (both
 * endpoints controllers; each adds a watch of the objects it writes).
 */
export function newServiceController(opts: {
  name: string;
  informers: InformerFactory;
  services: Informer<Service & KObject>;
  pods: Informer<Pod & KObject>;
  reconcile: (key: string) => Promise<void>;
  clock?: Clock;
  log?: Logger;
  workers?: number;
}): Controller {
  const { services, pods, ...rest } = opts;
  const controller = new Controller(rest);
  controller.watch(services);
  controller.watch(pods, (p) => servicesForPod(services.lister, p), {
    onUpdate: (o, n) => servicesForPodUpdate(services.lister, o, n),
  });
  return controller;
}

/** The desired Endpoints of the `kubernetes` Service. */
export function kubernetesEndpoints(api: ApiServerEndpoint): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: {} },
    subsets: [
      { addresses: [{ ip: api.ip }], ports: [{ name: 'https', port: api.port, protocol: 'TCP' }] },
    ],
  };
}

/** The desired EndpointSlice of the `kubernetes` Service (named like the Service, as upstream). */
export function kubernetesEndpointSlice(api: ApiServerEndpoint): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { [serviceNameLabel]: 'kubernetes' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [api.ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port: api.port, protocol: 'TCP' }],
  };
}
