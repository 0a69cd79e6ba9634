// Pure computation of a Service's EndpointSlices; behaviour follows kubernetes
// pkg/controller/endpointslice/reconciler.go and staging endpointslice/utils.go (podToEndpoint).
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import {
  findPort,
  headlessLabel,
  isHeadless,
  isPodReady,
  selectorMatches,
  shouldPodBeInEndpoints,
} from './endpoints.js';

/** Label naming the Service a slice belongs to. */
export const serviceNameLabel = 'kubernetes.io/service-name';
/** Label naming the controller that manages a slice. */
export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
/** Upstream value of the managed-by label for the EndpointSlice controller. */
export const controllerName = 'endpointslice-controller.k8s.io';
/** Upstream default of --max-endpoints-per-slice. */
export const maxEndpointsPerSlice = 100;

/** The Endpoint of a pod with upstream conditions (podToEndpoint). */
export function podToEndpoint(pod: Readonly<Pod>, svc: Readonly<Service>): Endpoint {
  const serving = isPodReady(pod);
  const terminating = pod.metadata?.deletionTimestamp != null;
  // For compatibility, ready is never true for a terminating pod unless publishNotReadyAddresses.
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses: [pod.status?.podIP ?? ''],
    conditions: { ready, serving, terminating },
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata?.namespace,
      name: pod.metadata?.name,
      uid: pod.metadata?.uid,
    },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  if (pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name) {
    ep.hostname = pod.spec.hostname;
  }
  return ep;
}

function endpointPorts(pod: Readonly<Pod>, svc: Readonly<Service>): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const p: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

function portsKey(ports: readonly EndpointPort[]): string {
  return ports
    .map((p) => `${p.name ?? ''}/${p.port ?? ''}/${p.protocol ?? 'TCP'}`)
    .sort()
    .join(',');
}

/** Labels of a slice: the Service's labels plus the ones the controller owns. */
export function sliceLabels(svc: Readonly<Service>): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  labels[serviceNameLabel] = svc.metadata?.name ?? '';
  labels[managedByLabel] = controllerName;
  if (isHeadless(svc)) labels[headlessLabel] = '';
  else delete labels[headlessLabel];
  return labels;
}

function newSlice(svc: Readonly<Service>, ports: EndpointPort[], endpoints: Endpoint[]) {
  const name = svc.metadata?.name ?? '';
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      // Upstream truncates the prefix so that generated names stay within 63 characters.
      generateName: `${name.slice(0, 57)}-`,
      namespace: svc.metadata?.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name,
          uid: svc.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
  return slice;
}

/** What to write so that the existing slices of a Service match the desired ones. */
export interface SlicePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

function sameContent(a: Readonly<EndpointSlice>, b: Readonly<EndpointSlice>): boolean {
  return (
    JSON.stringify(a.endpoints ?? []) === JSON.stringify(b.endpoints ?? []) &&
    portsKey(a.ports ?? []) === portsKey(b.ports ?? []) &&
    JSON.stringify(Object.entries(a.metadata?.labels ?? {}).sort()) ===
      JSON.stringify(Object.entries(b.metadata?.labels ?? {}).sort())
  );
}

/**
 * Plans the EndpointSlice writes for a selector Service (reconciler.reconcile): endpoints grouped by
 * their resolved port set, at most maxEndpointsPerSlice per slice, existing slices reused before new
 * ones are created, and one empty placeholder slice when there is no endpoint at all.
 */
export function reconcileSlices(
  svc: Readonly<Service>,
  pods: readonly Readonly<Pod>[],
  existing: readonly Readonly<EndpointSlice>[],
  maxPerSlice = maxEndpointsPerSlice,
): SlicePlan {
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  for (const pod of pods) {
    if (!selectorMatches(svc.spec?.selector, pod.metadata?.labels)) continue;
    // Slices keep terminating pods (with terminating=true) so load balancers can drain them.
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = endpointPorts(pod, svc);
    if (ports.length === 0 && (svc.spec?.ports?.length ?? 0) > 0) continue;
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) {
      g = { ports, endpoints: [] };
      groups.set(key, g);
    }
    g.endpoints.push(podToEndpoint(pod, svc));
  }
  const desired: { key: string; ports: EndpointPort[]; endpoints: Endpoint[] }[] = [];
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    g.endpoints.sort((a, b) => ((a.addresses[0] ?? '') < (b.addresses[0] ?? '') ? -1 : 1));
    for (let i = 0; i < g.endpoints.length; i += maxPerSlice) {
      desired.push({ key, ports: g.ports, endpoints: g.endpoints.slice(i, i + maxPerSlice) });
    }
  }
  if (desired.length === 0) desired.push({ key: '', ports: [], endpoints: [] });

  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const unused = [...existing].sort((a, b) =>
    (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1,
  );
  for (const d of desired) {
    const want = newSlice(svc, d.ports, d.endpoints);
    // Prefer a slice with the same port set (fewer churned fields), else create a new one.
    const idx = unused.findIndex((s) => portsKey(s.ports ?? []) === d.key);
    if (idx < 0) {
      plan.create.push(want);
      continue;
    }
    const cur = unused.splice(idx, 1)[0]!;
    if (sameContent(cur, want)) continue;
    const next = structuredClone(cur) as EndpointSlice;
    next.endpoints = want.endpoints;
    next.ports = want.ports;
    next.metadata = { ...next.metadata, labels: want.metadata?.labels };
    plan.update.push(next);
  }
  plan.delete.push(...(unused as EndpointSlice[]));
  return plan;
}
