// The subset of the kubelet Summary API (GET /stats/summary, k8s.io/kubelet/pkg/apis/stats/v1alpha1)
// metrics-server reads, and its decoding into a MetricsBatch (metrics-server pkg/scraper decode).
import type { MetricsBatch, MetricsPoint } from './storage.js';

/** CPU stats: cumulative core-nanoseconds at `time`. */
export interface CPUStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}

/** Memory stats: working set at `time`. */
export interface MemoryStats {
  time: string;
  workingSetBytes?: number;
  usageBytes?: number;
  rssBytes?: number;
}

/** Stats of one container. */
export interface ContainerStats {
  name: string;
  startTime: string;
  cpu?: CPUStats;
  memory?: MemoryStats;
}

/** Stats of one pod. */
export interface PodStats {
  podRef: { name: string; namespace: string; uid?: string };
  startTime?: string;
  containers?: ContainerStats[];
  cpu?: CPUStats;
  memory?: MemoryStats;
}

/** The Summary document. */
export interface Summary {
  node: {
    nodeName: string;
    startTime?: string;
    cpu?: CPUStats;
    memory?: MemoryStats;
  };
  pods?: PodStats[];
}

function point(
  cpu: CPUStats | undefined,
  memory: MemoryStats | undefined,
  startTime: string | undefined,
): MetricsPoint | undefined {
  if (cpu?.usageCoreNanoSeconds === undefined || memory?.workingSetBytes === undefined) {
    return undefined;
  }
  const timestamp = Date.parse(cpu.time);
  if (Number.isNaN(timestamp)) return undefined;
  return {
    timestamp,
    startTime: startTime ? Date.parse(startTime) : 0,
    cumulativeCpuUsed: cpu.usageCoreNanoSeconds,
    memoryUsage: memory.workingSetBytes,
  };
}

/**
 * Decodes one node's Summary into `batch`. A pod with any container lacking CPU or memory is left out
 * whole, as upstream, so that a partial pod never under-reports.
 */
export function decodeSummary(summary: Summary, batch: MetricsBatch): void {
  const node = point(summary.node.cpu, summary.node.memory, summary.node.startTime);
  if (node) batch.nodes.set(summary.node.nodeName, node);
  for (const pod of summary.pods ?? []) {
    const containers = new Map<string, MetricsPoint>();
    let isComplete = (pod.containers?.length ?? 0) > 0;
    for (const c of pod.containers ?? []) {
      const p = point(c.cpu, c.memory, c.startTime);
      if (!p) {
        isComplete = false;
        break;
      }
      containers.set(c.name, p);
    }
    if (isComplete) batch.pods.set(`${pod.podRef.namespace}/${pod.podRef.name}`, containers);
  }
}

/** An empty batch. */
export function newBatch(): MetricsBatch {
  return { nodes: new Map(), pods: new Map() };
}
