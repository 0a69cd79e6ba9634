// The HPA's pure replica calculation: follows kubernetes pkg/controller/podautoscaler/replica_calculator.go
// (GetResourceReplicas, GetRawResourceReplicas, groupPods, calculatePodRequests) and
// metrics/utilization.go (GetResourceUtilizationRatio, GetMetricUsageRatio). Metric values are milli-units.
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { milliValue } from '../../api/quantity.js';

/** One pod's metric sample: value in milli-units, timestamp and window in milliseconds. */
export interface PodMetric {
  timestamp: number;
  window: number;
  value: number;
}

/** Metric samples by pod name (metricsclient.PodMetricsInfo). */
export type PodMetricsInfo = Map<string, PodMetric>;

/** The controller-manager settings the calculation depends on. */
export interface ReplicaCalculatorOptions {
  /** Relative change below which nothing is scaled (upstream 0.1). */
  tolerance: number;
  /** Pods younger than this have CPU samples checked against readiness (upstream 5 min). */
  cpuInitializationPeriodMs: number;
  /** A pod whose Ready changed within this delay of its start has never been ready (upstream 30 s). */
  delayOfInitialReadinessStatusMs: number;
}

/** Upstream kube-controller-manager defaults. */
export const upstreamReplicaCalculatorOptions: ReplicaCalculatorOptions = {
  tolerance: 0.1,
  cpuInitializationPeriodMs: 5 * 60_000,
  delayOfInitialReadinessStatusMs: 30_000,
};

/** Pods sorted by how the calculation treats them. */
export interface PodGroups {
  readyPodCount: number;
  /** Pending pods, and for CPU pods not yet ready or whose sample predates readiness. */
  unreadyPods: Set<string>;
  /** Pods with no metric sample. */
  missingPods: Set<string>;
  /** Deleted or failed pods: left out entirely. */
  ignoredPods: Set<string>;
}

function timeOf(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Groups pods into ready, unready, missing-metrics and ignored (upstream groupPods). */
export function groupPods(
  pods: readonly Pod[],
  metrics: PodMetricsInfo,
  resource: string,
  opts: ReplicaCalculatorOptions & { now: number },
): PodGroups {
  const groups: PodGroups = {
    readyPodCount: 0,
    unreadyPods: new Set(),
    missingPods: new Set(),
    ignoredPods: new Set(),
  };
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Failed') {
      groups.ignoredPods.add(name);
      continue;
    }
    if (pod.status?.phase === 'Pending') {
      groups.unreadyPods.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      groups.missingPods.add(name);
      continue;
    }
    // Only CPU is distorted by start-up (JIT, caches warming), so only CPU samples are screened.
    if (resource === 'cpu') {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      const start = timeOf(pod.status?.startTime);
      const transition = timeOf(ready?.lastTransitionTime) ?? 0;
      let unready: boolean;
      if (!ready || start === undefined) {
        unready = true;
      } else if (start + opts.cpuInitializationPeriodMs > opts.now) {
        // Still initialising: ignore the sample unless ready for at least one full metric window.
        unready = ready.status === 'False' || metric.timestamp < transition + metric.window;
      } else {
        // Past initialisation: ignore only pods that are unready and have never been ready.
        unready =
          ready.status === 'False' && start + opts.delayOfInitialReadinessStatusMs > transition;
      }
      if (unready) {
        groups.unreadyPods.add(name);
        continue;
      }
    }
    groups.readyPodCount++;
  }
  return groups;
}

/** Containers counted toward a pod's request: regular ones plus restartable init containers (sidecars). */
function requestContainers(pod: Pod): Container[] {
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  return [...(pod.spec?.containers ?? []), ...sidecars];
}

/** Sums each pod's requests of `resource` in milli-units, for one container or all (calculatePodRequests). */
export function calculatePodRequests(
  pods: readonly Pod[],
  container: string,
  resource: string,
): Map<string, number> {
  const requests = new Map<string, number>();
  for (const pod of pods) {
    const podName = pod.metadata?.name ?? '';
    let sum = 0;
    for (const c of requestContainers(pod)) {
      if (container !== '' && container !== c.name) continue;
      const req = c.resources?.requests?.[resource];
      if (req === undefined) {
        throw new Error(`missing request for ${resource} in container ${c.name} of Pod ${podName}`);
      }
      sum += milliValue(req);
    }
    requests.set(podName, sum);
  }
  return requests;
}

/** Utilization ratio against a percentage target (upstream GetResourceUtilizationRatio). */
export function getResourceUtilizationRatio(
  metrics: PodMetricsInfo,
  requests: Map<string, number>,
  targetUtilization: number,
): { ratio: number; utilization: number; rawAverage: number } {
  let metricsTotal = 0;
  let requestsTotal = 0;
  let entries = 0;
  for (const [pod, m] of metrics) {
    const req = requests.get(pod);
    // Metrics of pods we hold no request for are extraneous (missing requests fail earlier).
    if (req === undefined) continue;
    metricsTotal += m.value;
    requestsTotal += req;
    entries++;
  }
  if (requestsTotal === 0) throw new Error('no metrics returned matched known pods');
  const utilization = Math.trunc((metricsTotal * 100) / requestsTotal);
  return {
    ratio: utilization / targetUtilization,
    utilization,
    rawAverage: Math.trunc(metricsTotal / entries),
  };
}

/** Usage ratio against an average-value target (upstream GetMetricUsageRatio). */
export function getMetricUsageRatio(
  metrics: PodMetricsInfo,
  targetUsage: number,
): { ratio: number; usage: number } {
  let total = 0;
  for (const m of metrics.values()) total += m.value;
  const usage = Math.trunc(total / metrics.size);
  return { ratio: usage / targetUsage, usage };
}

/** Inputs shared by both resource calculations. */
export interface ResourceReplicasArgs {
  currentReplicas: number;
  /** 'cpu' or 'memory'. */
  resource: string;
  /** Container name for ContainerResource metrics; '' for the whole pod. */
  container?: string;
  /** Pods selected by the scale target's selector. */
  pods: readonly Pod[];
  metrics: PodMetricsInfo;
  now: number;
}

interface Prepared {
  metrics: PodMetricsInfo;
  groups: PodGroups;
}

function prepare(args: ResourceReplicasArgs, opts: ReplicaCalculatorOptions): Prepared {
  if (args.pods.length === 0) {
    throw new Error('no pods returned by selector while calculating replica count');
  }
  const metrics: PodMetricsInfo = new Map(args.metrics);
  const groups = groupPods(args.pods, metrics, args.resource, { ...opts, now: args.now });
  for (const p of groups.ignoredPods) metrics.delete(p);
  for (const p of groups.unreadyPods) metrics.delete(p);
  if (metrics.size === 0) {
    throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  }
  return { metrics, groups };
}

/**
 * Replays the missing/unready adjustments and decides the count: shared tail of GetResourceReplicas
 * and calcPlainMetricReplicas. `fallback(pod)` is what a missing pod counts as on a scale-down.
 */
function adjustForMissingAndUnready(opts: {
  prepared: Prepared;
  currentReplicas: number;
  usageRatio: number;
  tolerance: number;
  fallback: (pod: string) => number;
  recompute: (m: PodMetricsInfo) => number;
}): number {
  const { metrics, groups } = opts.prepared;
  const { usageRatio, currentReplicas, tolerance } = opts;
  const scaleUpWithUnready = groups.unreadyPods.size > 0 && usageRatio > 1.0;
  if (!scaleUpWithUnready && groups.missingPods.size === 0) {
    if (Math.abs(1.0 - usageRatio) <= tolerance) return currentReplicas;
    return Math.ceil(usageRatio * groups.readyPodCount);
  }
  // Missing pods dampen the move: assume the worst case for the direction being taken.
  if (groups.missingPods.size > 0) {
    for (const pod of groups.missingPods) {
      if (usageRatio < 1.0)
        metrics.set(pod, { timestamp: 0, window: 0, value: opts.fallback(pod) });
      else if (usageRatio > 1.0) metrics.set(pod, { timestamp: 0, window: 0, value: 0 });
    }
  }
  // Unready pods will soon take load, so on a scale-up they count as idle.
  if (scaleUpWithUnready) {
    for (const pod of groups.unreadyPods) metrics.set(pod, { timestamp: 0, window: 0, value: 0 });
  }
  const newRatio = opts.recompute(metrics);
  if (
    Math.abs(1.0 - newRatio) <= tolerance ||
    (usageRatio < 1.0 && newRatio > 1.0) ||
    (usageRatio > 1.0 && newRatio < 1.0)
  ) {
    return currentReplicas;
  }
  const newReplicas = Math.ceil(newRatio * metrics.size);
  if (
    (newRatio < 1.0 && newReplicas > currentReplicas) ||
    (newRatio > 1.0 && newReplicas < currentReplicas)
  ) {
    return currentReplicas;
  }
  return newReplicas;
}

/** Desired replicas for a Utilization target in percent of request (upstream GetResourceReplicas). */
export function getResourceReplicas(
  args: ResourceReplicasArgs & { targetUtilization: number },
  opts: ReplicaCalculatorOptions = upstreamReplicaCalculatorOptions,
): { replicaCount: number; utilization: number; rawUtilization: number } {
  const prepared = prepare(args, opts);
  const requests = calculatePodRequests(args.pods, args.container ?? '', args.resource);
  const first = getResourceUtilizationRatio(prepared.metrics, requests, args.targetUtilization);
  const fallbackUtilization = Math.max(100, args.targetUtilization);
  const replicaCount = adjustForMissingAndUnready({
    prepared,
    currentReplicas: args.currentReplicas,
    usageRatio: first.ratio,
    tolerance: opts.tolerance,
    fallback: (pod) => Math.trunc(((requests.get(pod) ?? 0) * fallbackUtilization) / 100),
    recompute: (m) => getResourceUtilizationRatio(m, requests, args.targetUtilization).ratio,
  });
  return { replicaCount, utilization: first.utilization, rawUtilization: first.rawAverage };
}

/** Desired replicas for an AverageValue target in milli-units (upstream GetRawResourceReplicas). */
export function getRawResourceReplicas(
  args: ResourceReplicasArgs & { targetUsage: number },
  opts: ReplicaCalculatorOptions = upstreamReplicaCalculatorOptions,
): { replicaCount: number; usage: number } {
  const prepared = prepare(args, opts);
  const first = getMetricUsageRatio(prepared.metrics, args.targetUsage);
  const replicaCount = adjustForMissingAndUnready({
    prepared,
    currentReplicas: args.currentReplicas,
    usageRatio: first.ratio,
    tolerance: opts.tolerance,
    fallback: () => args.targetUsage,
    recompute: (m) => getMetricUsageRatio(m, args.targetUsage).ratio,
  });
  return { replicaCount, usage: first.usage };
}
