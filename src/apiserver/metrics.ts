// The API server's own metrics in the Prometheus text format (/metrics): request counts and
// latencies by verb, resource and code, long-running requests (watches) in flight, and stored
// object counts. Names and labels follow k8s.io/apiserver pkg/endpoints/metrics/metrics.go
// (apiserver_request_total, apiserver_request_duration_seconds, apiserver_longrunning_requests)
// and the storage layer's apiserver_storage_objects.

import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { queryBool } from '../api/query.js';
import { builtinResources } from '../api/resources.js';
import { parseResourcePath } from './handlers/request-info.js';
import type { GenericStore } from './registry/generic/store.js';

/** Upstream's request duration buckets (seconds). */
const durationBuckets = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45,
  60,
];

/** What one served request is counted under. */
export interface RequestLabels {
  /** LIST, WATCH, GET, POST, PUT, PATCH, APPLY, DELETE, DELETECOLLECTION, CONNECT. */
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  /** cluster, namespace or resource (one object); '' for non-resource paths. */
  scope: string;
}

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const labelKeys = ['verb', 'group', 'version', 'resource', 'subresource', 'scope'] as const;

/** Escapes a label value for the text format. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(pairs: [string, string][]): string {
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** Request metrics of one API server; render() is the /metrics body. */
export class ApiServerMetrics {
  readonly #requests = new Map<string, number>();
  readonly #durations = new Map<string, Histogram>();
  readonly #longRunning = new Map<string, number>();
  readonly #store: GenericStore;

  constructor(opts: { store: GenericStore }) {
    this.#store = opts.store;
  }

  /** Counts one finished request with its HTTP code and duration. */
  observe(labels: RequestLabels, code: number, seconds: number): void {
    const base = labelKeys.map((k) => [k, labels[k]] as [string, string]);
    const reqKey = labelText([...base, ['component', 'apiserver'], ['code', String(code)]]);
    this.#requests.set(reqKey, (this.#requests.get(reqKey) ?? 0) + 1);
    const durKey = JSON.stringify([...base, ['component', 'apiserver']]);
    let h = this.#durations.get(durKey);
    if (!h) {
      h = { counts: durationBuckets.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(durKey, h);
    }
    durationBuckets.forEach((b, i) => {
      if (seconds <= b) h.counts[i]!++;
    });
    h.sum += seconds;
    h.count++;
  }

  /** Marks a long-running request (a watch) as started; returns the function that ends it. */
  startLongRunning(labels: RequestLabels): () => void {
    const key = labelText([
      ...labelKeys.map((k) => [k, labels[k]] as [string, string]),
      ['component', 'apiserver'],
    ]);
    this.#longRunning.set(key, (this.#longRunning.get(key) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#longRunning.set(key, (this.#longRunning.get(key) ?? 1) - 1);
    };
  }

  /** The Prometheus text exposition (format 0.0.4). */
  render(): string {
    const out: string[] = [];
    out.push(
      '# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
      '# TYPE apiserver_request_total counter',
    );
    for (const [k, v] of [...this.#requests].sort()) out.push(`apiserver_request_total${k} ${v}`);
    out.push(
      '# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
      '# TYPE apiserver_request_duration_seconds histogram',
    );
    for (const [k, h] of [...this.#durations].sort(([a], [b]) => a.localeCompare(b))) {
      const pairs = JSON.parse(k) as [string, string][];
      durationBuckets.forEach((b, i) => {
        out.push(
          `apiserver_request_duration_seconds_bucket${labelText([...pairs, ['le', String(b)]])} ${h.counts[i]}`,
        );
      });
      out.push(
        `apiserver_request_duration_seconds_bucket${labelText([...pairs, ['le', '+Inf']])} ${h.count}`,
        `apiserver_request_duration_seconds_sum${labelText(pairs)} ${h.sum}`,
        `apiserver_request_duration_seconds_count${labelText(pairs)} ${h.count}`,
      );
    }
    out.push(
      '# HELP apiserver_longrunning_requests Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.',
      '# TYPE apiserver_longrunning_requests gauge',
    );
    for (const [k, v] of [...this.#longRunning].sort()) {
      out.push(`apiserver_longrunning_requests${k} ${v}`);
    }
    out.push(
      '# HELP apiserver_storage_objects Number of stored objects at the time of last check split by kind.',
      '# TYPE apiserver_storage_objects gauge',
    );
    const seen = new Set<string>();
    for (const r of builtinResources) {
      const name = r.group ? `${r.resource}.${r.group}` : r.resource;
      if (seen.has(name)) continue;
      seen.add(name);
      const count = this.#store.backend.list(this.#store.prefix(r)).items.length;
      out.push(`apiserver_storage_objects${labelText([['resource', name]])} ${count}`);
    }
    out.push(...processMetrics());
    return `${out.join('\n')}\n`;
  }
}

/**
 * The process's memory, as Go binaries export process_resident_memory_bytes and prom-client names
 * Node's heap (nodejs_*): where skiff up's memory goes, for the footprint and soak benches (issues
 * #17, #18) and for anyone watching a long-running cluster.
 */
export function processMetrics(): string[] {
  const mem = process.memoryUsage();
  const heap = getHeapStatistics();
  const gauge = (name: string, help: string, lines: string[]) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    ...lines,
  ];
  return [
    ...gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [
      `process_resident_memory_bytes ${mem.rss}`,
    ]),
    ...gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', [
      `nodejs_heap_size_total_bytes ${mem.heapTotal}`,
    ]),
    ...gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', [
      `nodejs_heap_size_used_bytes ${mem.heapUsed}`,
    ]),
    ...gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', [
      `nodejs_external_memory_bytes ${mem.external}`,
    ]),
    ...gauge('nodejs_malloced_memory_bytes', 'Memory V8 allocated with malloc, in bytes.', [
      `nodejs_malloced_memory_bytes ${heap.malloced_memory}`,
    ]),
    ...gauge(
      'nodejs_heap_space_size_used_bytes',
      'Process heap space size used from Node.js in bytes.',
      getHeapSpaceStatistics().map(
        (s) =>
          `nodejs_heap_space_size_used_bytes${labelText([['space', s.space_name]])} ${s.space_used_size}`,
      ),
    ),
  ];
}

/** Subresources served as streams, counted under CONNECT as upstream does. */
const connectSubresources = new Set(['exec', 'attach', 'portforward', 'proxy']);

/** The labels a request is counted under (upstream cleanVerb and scope). */
export function requestLabels(
  method: string,
  url: URL,
  contentType: string | undefined,
): RequestLabels {
  let info: ReturnType<typeof parseResourcePath>;
  try {
    info = parseResourcePath(url.pathname);
  } catch {
    // A malformed path (bad escape) was answered 400; it counts as a non-resource request.
    info = undefined;
  }
  if (!info) {
    return { verb: method, group: '', version: '', resource: '', subresource: '', scope: '' };
  }
  let verb = method;
  if (info.subresource && connectSubresources.has(info.subresource)) verb = 'CONNECT';
  else if (method === 'GET' && (info.isWatchPath || queryBool(url.searchParams, 'watch'))) {
    verb = 'WATCH';
  } else if (method === 'GET' && info.name === undefined) verb = 'LIST';
  else if (method === 'PATCH' && contentType?.startsWith('application/apply-patch')) verb = 'APPLY';
  else if (method === 'DELETE' && info.name === undefined) verb = 'DELETECOLLECTION';
  const scope =
    info.name !== undefined ? 'resource' : info.namespace !== undefined ? 'namespace' : 'cluster';
  return {
    verb,
    group: info.group,
    version: info.version,
    resource: info.resource,
    subresource: info.subresource ?? '',
    scope,
  };
}
