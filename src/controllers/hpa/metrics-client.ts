// Where the HPA gets resource metrics: the MetricsClient seam (upstream pkg/controller/podautoscaler/
// metrics/interfaces.go), the metrics.k8s.io client (metrics/client.go resourceMetricsClient) and a fake.

import { parseGoDuration } from '../../api/exact-quantity.js';
import { matchesSelector } from '../../api/labels.js';
import { milliValue } from '../../api/quantity.js';
import type { KubeClient } from '../../client/rest.js';
import type { PodMetricsInfo } from './replica-calculator.js';

/** Resource usage of the pods matching a selector, as the HPA needs it. */
export interface MetricsClient {
  /**
   * Per-pod usage of `resource` (milli-units) summed over containers, or of one container when
   * `container` is set, plus the timestamp of the samples. Throws when nothing can be fetched.
   */
  getResourceMetric(opts: {
    resource: string;
    namespace: string;
    /** Label selector in string form, e.g. "app=web". */
    selector: string;
    container?: string;
  }): Promise<{ metrics: PodMetricsInfo; timestamp: number }>;
}

/** A metrics.k8s.io/v1beta1 PodMetrics as served by metrics-server. */
export interface PodMetrics {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  timestamp: string;
  window: string;
  containers: { name: string; usage: Record<string, string> }[];
}

/** Fallback window when a sample carries none (upstream metricServerDefaultMetricWindow). */
export const defaultMetricWindowMs = 60_000;

/** Converts PodMetrics items into per-pod samples (getPodMetrics / getContainerMetrics). */
export function podMetricsInfo(
  items: readonly PodMetrics[],
  resource: string,
  container?: string,
): PodMetricsInfo {
  const out: PodMetricsInfo = new Map();
  for (const m of items) {
    const name = m.metadata.name ?? '';
    const timestamp = Date.parse(m.timestamp);
    const window = m.window ? parseGoDuration(m.window) : defaultMetricWindowMs;
    if (container) {
      const c = m.containers.find((x) => x.name === container);
      if (!c) {
        throw new Error(
          `container ${container} not present in metrics for pod ${m.metadata.namespace}/${name}`,
        );
      }
      const usage = c.usage[resource];
      if (usage !== undefined) out.set(name, { timestamp, window, value: milliValue(usage) });
      continue;
    }
    // A pod with any container missing the resource is left out (counted as missing upstream).
    let sum = 0;
    let isMissing = false;
    for (const c of m.containers) {
      const usage = c.usage[resource];
      if (usage === undefined) {
        isMissing = true;
        break;
      }
      sum += milliValue(usage);
    }
    if (!isMissing) out.set(name, { timestamp, window, value: sum });
  }
  return out;
}

/** Reads PodMetrics through the API server's aggregation of metrics.k8s.io/v1beta1. */
export class RestMetricsClient implements MetricsClient {
  #client: KubeClient;

  constructor(opts: { client: KubeClient }) {
    this.#client = opts.client;
  }

  async getResourceMetric(opts: {
    resource: string;
    namespace: string;
    selector: string;
    container?: string;
  }): Promise<{ metrics: PodMetricsInfo; timestamp: number }> {
    let items: PodMetrics[];
    try {
      const list = await this.#client.requestJSON<{ items?: PodMetrics[] }>(
        'GET',
        `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(opts.namespace)}/pods`,
        { query: { labelSelector: opts.selector } },
      );
      items = list.items ?? [];
    } catch (err) {
      throw new Error(
        `unable to fetch metrics from resource metrics API: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return toResult(items, opts);
  }
}

function toResult(
  items: readonly PodMetrics[],
  opts: { resource: string; container?: string },
): { metrics: PodMetricsInfo; timestamp: number } {
  if (items.length === 0) throw new Error('no metrics returned from resource metrics API');
  let metrics: PodMetricsInfo;
  try {
    metrics = podMetricsInfo(items, opts.resource, opts.container);
  } catch (err) {
    if (!opts.container) throw err;
    throw new Error(
      `failed to get container metrics: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return { metrics, timestamp: Date.parse(items[0]?.timestamp ?? '') };
}

/** An in-memory MetricsClient for tests: set PodMetrics per namespace, or an error to throw. */
export class FakeMetricsClient implements MetricsClient {
  /** PodMetrics served, filtered by namespace and the pods' labels. */
  items: PodMetrics[] = [];
  /** When set, every call throws this. */
  error: Error | undefined;
  /** Number of calls made. */
  calls = 0;

  /** Sets one PodMetrics per pod with a single container's cpu/memory usage. */
  setPodUsage(
    pods: { name: string; namespace?: string; labels?: Record<string, string> }[],
    usage: Record<string, string>,
    at: { timestamp: number; windowMs?: number },
  ): void {
    this.items = pods.map((p) => ({
      apiVersion: 'metrics.k8s.io/v1beta1',
      kind: 'PodMetrics',
      metadata: { name: p.name, namespace: p.namespace ?? 'default', labels: p.labels },
      timestamp: new Date(at.timestamp).toISOString(),
      window: `${(at.windowMs ?? 1000) / 1000}s`,
      containers: [{ name: 'app', usage }],
    }));
  }

  async getResourceMetric(opts: {
    resource: string;
    namespace: string;
    selector: string;
    container?: string;
  }): Promise<{ metrics: PodMetricsInfo; timestamp: number }> {
    this.calls++;
    if (this.error) throw this.error;
    const items = this.items.filter(
      (m) =>
        m.metadata.namespace === opts.namespace &&
        matchesSelector(opts.selector, m.metadata.labels),
    );
    return toResult(items, opts);
  }
}
