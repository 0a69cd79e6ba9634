// Pure computation of a Service's Endpoints from its pods; behaviour follows kubernetes
// pkg/controller/endpoint/endpoints_controller.go (syncService) and
// pkg/controller/util/endpoint (ShouldPodBeInEndpoints, FindPort, RepackSubsets).
import type {
  EndpointAddress,
  EndpointPort,
  EndpointSubset,
  Endpoints,
  Pod,
  Service,
  ServicePort,
} from 'kubernetes-types/core/v1.js';

/** Label upstream puts on Endpoints/EndpointSlices of headless Services. */
export const headlessLabel = 'service.kubernetes.io/headless';

/** True when every key/value of the Service selector is among the pod's labels. */
export function selectorMatches(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (!selector) return false;
  const entries = Object.entries(selector);
  // An empty selector selects nothing for Services (upstream skips them).
  if (entries.length === 0) return false;
  return entries.every(([k, v]) => labels?.[k] === v);
}

/** True when the pod's Ready condition is True (podutil.IsPodReady). */
export function isPodReady(pod: Readonly<Pod>): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** True for a pod in a terminal phase (Succeeded or Failed). */
export function isPodTerminal(pod: Readonly<Pod>): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** True when the Service has no cluster IP ("None"): DNS returns pod IPs, the proxy ignores it. */
export function isHeadless(svc: Readonly<Service>): boolean {
  return svc.spec?.clusterIP === 'None';
}

/**
 * Whether a pod belongs in a Service's endpoints at all (ShouldPodBeInEndpoints): it needs an IP,
 * must not be terminal, and a terminating pod is kept only when includeTerminating.
 */
export function shouldPodBeInEndpoints(pod: Readonly<Pod>, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/**
 * Resolves a Service port's targetPort on a pod (podutil.FindPort): a number is used as is, a name
 * is looked up among the containers' ports with the same protocol; undefined when not found.
 */
export function findPort(pod: Readonly<Pod>, svcPort: Readonly<ServicePort>): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === 'number') return target;
  const asNumber = Number(target);
  if (target !== '' && Number.isInteger(asNumber)) return asNumber;
  const protocol = svcPort.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** The EndpointAddress of a pod (podToEndpointAddressForService). */
export function podToEndpointAddress(pod: Readonly<Pod>, svc: Readonly<Service>): EndpointAddress {
  const addr: EndpointAddress = {
    ip: pod.status?.podIP ?? '',
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata?.namespace,
      name: pod.metadata?.name,
      uid: pod.metadata?.uid,
    },
  };
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  // A pod gets a DNS hostname under a headless Service only when its subdomain names the Service.
  if (pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name) {
    addr.hostname = pod.spec.hostname;
  }
  return addr;
}

function portKey(ports: readonly EndpointPort[]): string {
  return ports
    .map((p) => `${p.name ?? ''}/${p.port}/${p.protocol ?? 'TCP'}`)
    .sort()
    .join(',');
}

function addrKey(a: EndpointAddress): string {
  return `${a.ip}/${a.targetRef?.uid ?? ''}`;
}

function compareAddr(a: EndpointAddress, b: EndpointAddress): number {
  return a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : addrKey(a) < addrKey(b) ? -1 : 1;
}

/**
 * Groups (address, ports, ready) triples into subsets whose addresses share the same port set, with
 * addresses and ports sorted, as RepackSubsets does so that equal inputs give equal objects.
 */
export function repackSubsets(
  entries: readonly { address: EndpointAddress; ports: EndpointPort[]; ready: boolean }[],
): EndpointSubset[] {
  const groups = new Map<
    string,
    { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }
  >();
  for (const e of entries) {
    const key = portKey(e.ports);
    let g = groups.get(key);
    if (!g) {
      g = {
        ports: [...e.ports].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '')),
        ready: [],
        notReady: [],
      };
      groups.set(key, g);
    }
    (e.ready ? g.ready : g.notReady).push(e.address);
  }
  const subsets: EndpointSubset[] = [];
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    const subset: EndpointSubset = {};
    if (g.ready.length) subset.addresses = g.ready.sort(compareAddr);
    if (g.notReady.length) subset.notReadyAddresses = g.notReady.sort(compareAddr);
    if (g.ports.length) subset.ports = g.ports;
    subsets.push(subset);
  }
  return subsets;
}

/**
 * The desired Endpoints of a selector Service given the pods of its namespace (syncService).
 * Returns undefined for a Service without a selector: its Endpoints are managed by someone else.
 */
export function computeEndpoints(
  svc: Readonly<Service>,
  pods: readonly Readonly<Pod>[],
): Endpoints | undefined {
  const selector = svc.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return undefined;
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const entries: { address: EndpointAddress; ports: EndpointPort[]; ready: boolean }[] = [];
  for (const pod of pods) {
    if (!selectorMatches(selector, pod.metadata?.labels)) continue;
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const address = podToEndpointAddress(pod, svc);
    const ready = publishNotReady || isPodReady(pod);
    const svcPorts = svc.spec?.ports ?? [];
    if (svcPorts.length === 0) {
      // Headless without ports: the address alone, for DNS.
      if (isHeadless(svc)) entries.push({ address, ports: [], ready });
      continue;
    }
    const ports: EndpointPort[] = [];
    for (const sp of svcPorts) {
      const port = findPort(pod, sp);
      // A named targetPort the pod does not declare: the pod serves nothing on that port.
      if (port === undefined) continue;
      const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      ports.push(ep);
    }
    if (ports.length) entries.push({ address, ports, ready });
  }
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  if (isHeadless(svc)) labels[headlessLabel] = '';
  const ep: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: svc.metadata?.name,
      namespace: svc.metadata?.namespace,
      labels,
    },
    subsets: repackSubsets(entries),
  };
  return ep;
}

/** True when two Endpoints carry the same subsets and labels (no write needed). */
export function endpointsEqual(a: Readonly<Endpoints>, b: Readonly<Endpoints>): boolean {
  return (
    JSON.stringify(a.subsets ?? []) === JSON.stringify(b.subsets ?? []) &&
    JSON.stringify(sortedLabels(a.metadata?.labels)) ===
      JSON.stringify(sortedLabels(b.metadata?.labels))
  );
}

function sortedLabels(l: Readonly<Record<string, string>> | undefined): [string, string][] {
  return Object.entries(l ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
}
