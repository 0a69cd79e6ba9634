// metrics-server's in-memory storage: the last two points per node and per container, and usage as a
// rate between them. Follows kubernetes-sigs/metrics-server pkg/storage/{node,pod,types}.go.

/** One scraped sample: cumulative CPU time (ns) and working set (bytes) at a time (ms). */
export interface MetricsPoint {
  /** When the sample was taken (ms since epoch). */
  timestamp: number;
  /** When the node booted or the container started (ms since epoch). */
  startTime: number;
  /** Cumulative CPU time in core-nanoseconds. */
  cumulativeCpuUsed: number;
  /** Working-set memory in bytes. */
  memoryUsage: number;
}

/** A pod's key, "namespace/name". */
export type PodKey = string;

/** One scrape of every node: node points and per-pod, per-container points. */
export interface MetricsBatch {
  nodes: Map<string, MetricsPoint>;
  pods: Map<PodKey, Map<string, MetricsPoint>>;
}

/** Usage over a window: CPU in nanocores, memory in bytes; timestamp/window in ms. */
export interface Usage {
  cpuNanoCores: number;
  memoryBytes: number;
  timestamp: number;
  window: number;
}

/** A pod's usage per container, with the earliest timestamp and window among them. */
export interface PodUsage {
  timestamp: number;
  window: number;
  containers: { name: string; usage: Usage }[];
}

/** Containers younger than this never get a synthetic start point (freshContainerMinMetricsResolution). */
export const freshContainerMinResolutionMs = 10_000;

/**
 * Computes usage between two points: CPU = Δcumulative / Δt, memory = last working set
 * (upstream resourceUsage). Throws when the counter went backwards (a restart).
 */
export function resourceUsage(last: MetricsPoint, prev: MetricsPoint): Usage {
  if (last.cumulativeCpuUsed < prev.cumulativeCpuUsed) {
    throw new RangeError('unexpected decrease in cumulative CPU usage value');
  }
  const window = last.timestamp - prev.timestamp;
  if (window <= 0) throw new RangeError('non-positive metrics window');
  const cpuNanoCores = Math.trunc(
    (last.cumulativeCpuUsed - prev.cumulativeCpuUsed) / (window / 1000),
  );
  return { cpuNanoCores, memoryBytes: last.memoryUsage, timestamp: last.timestamp, window };
}

/** Picks what becomes the previous point when `next` arrives (shared by nodes and containers). */
function previousFor(
  next: MetricsPoint,
  last: MetricsPoint | undefined,
  prev: MetricsPoint | undefined,
): MetricsPoint | undefined {
  if (!last) return undefined;
  // A newer sample pushes the stored one back; a repeat of the same sample keeps the older pair.
  if (next.timestamp > last.timestamp) return last;
  if (prev && prev.timestamp < next.timestamp) return prev;
  return undefined;
}

/**
 * Node and pod metrics storage. Guarantees:
 * 1. `store` replaces the data wholesale: nodes, pods and containers absent from a batch vanish.
 * 2. Usage needs two points with increasing time; a pod is served only when all of its
 *    containers have usable pairs.
 */
export class MetricsStorage {
  #resolutionMs: number;
  #lastNodes = new Map<string, MetricsPoint>();
  #prevNodes = new Map<string, MetricsPoint>();
  #lastPods = new Map<PodKey, Map<string, MetricsPoint>>();
  #prevPods = new Map<PodKey, Map<string, MetricsPoint>>();

  constructor(opts: { resolutionMs: number }) {
    this.#resolutionMs = opts.resolutionMs;
  }

  /** Stores one scrape. */
  store(batch: MetricsBatch): void {
    const prevNodes = new Map<string, MetricsPoint>();
    for (const [name, point] of batch.nodes) {
      const p = previousFor(point, this.#lastNodes.get(name), this.#prevNodes.get(name));
      if (p) prevNodes.set(name, p);
    }
    this.#lastNodes = new Map(batch.nodes);
    this.#prevNodes = prevNodes;

    const prevPods = new Map<PodKey, Map<string, MetricsPoint>>();
    for (const [pod, containers] of batch.pods) {
      const prev = new Map<string, MetricsPoint>();
      for (const [name, point] of containers) {
        let p = previousFor(
          point,
          this.#lastPods.get(pod)?.get(name),
          this.#prevPods.get(pod)?.get(name),
        );
        // A container started within the last resolution gets a zero point at its start time, so
        // its first usage is available one scrape earlier (only when it is old enough to be sane).
        const age = point.timestamp - point.startTime;
        if (!p && age > 0 && age < this.#resolutionMs && age >= freshContainerMinResolutionMs) {
          p = { ...point, timestamp: point.startTime, cumulativeCpuUsed: 0 };
        }
        if (p) prev.set(name, p);
      }
      prevPods.set(pod, prev);
    }
    this.#lastPods = new Map(batch.pods);
    this.#prevPods = prevPods;
  }

  /** True once at least one node has a full window (what /readyz reports). */
  isReady(): boolean {
    for (const name of this.#lastNodes.keys()) if (this.nodeUsage(name)) return true;
    return false;
  }

  /** Names of the nodes last scraped. */
  nodeNames(): string[] {
    return [...this.#lastNodes.keys()];
  }

  /** A node's usage, or undefined without two usable points. */
  nodeUsage(name: string): Usage | undefined {
    const last = this.#lastNodes.get(name);
    const prev = this.#prevNodes.get(name);
    if (!last || !prev) return undefined;
    try {
      return resourceUsage(last, prev);
    } catch {
      // A counter reset (node reboot) or clock step: no usage until two fresh points exist.
      return undefined;
    }
  }

  /** A pod's usage, or undefined unless every container has two usable points. */
  podUsage(key: PodKey): PodUsage | undefined {
    const last = this.#lastPods.get(key);
    const prev = this.#prevPods.get(key);
    if (!last || !prev || last.size === 0) return undefined;
    const containers: PodUsage['containers'] = [];
    let timestamp = Number.POSITIVE_INFINITY;
    let window = Number.POSITIVE_INFINITY;
    for (const [name, point] of last) {
      const p = prev.get(name);
      if (!p) return undefined;
      let usage: Usage;
      try {
        usage = resourceUsage(point, p);
      } catch {
        // Restarted container (counter went back): the pod waits for two fresh points.
        return undefined;
      }
      timestamp = Math.min(timestamp, usage.timestamp);
      window = Math.min(window, usage.window);
      containers.push({ name, usage });
    }
    containers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { timestamp, window, containers };
  }
}
