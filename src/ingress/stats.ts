// Ingress traffic counters for GET /stats: cumulative requests, errors and status classes, plus
// latency percentiles over a recent window kept as per-second log-scale histograms, so snapshots
// of several worker processes merge by addition (the dashboard's IngressStats shape).
import { type Clock, realClock } from '../lib/clock.js';

/** Histogram bucket growth factor: a percentile is exact to within about 5%. */
const growth = 1.05;
/** Smallest latency bucket bound, in milliseconds. */
const minMs = 0.05;
/** Buckets up to about 2 minutes. */
const bucketCount = Math.ceil(Math.log(120_000 / minMs) / Math.log(growth)) + 1;

function bucketOf(ms: number): number {
  if (ms <= minMs) return 0;
  return Math.min(bucketCount - 1, Math.ceil(Math.log(ms / minMs) / Math.log(growth)));
}

/** Upper bound of a bucket, in milliseconds. */
function boundOf(bucket: number): number {
  return minMs * growth ** bucket;
}

/** What one process reports: mergeable counters and the window's latency histogram (sparse). */
export interface StatsSnapshot {
  requests: number;
  errors: number;
  status: Record<string, number>;
  /** bucket index → count over the window. */
  histogram: Record<string, number>;
  /** Data-path events since start (see UpstreamEvent), for diagnosing failures. */
  events?: Partial<Record<UpstreamEvent, number>>;
}

/**
 * What happened on the way to an answer: upstream connect errors, resets before the answer,
 * read timeouts, retries on another endpoint, requests held while no endpoint was ready (and holds
 * that ran out of budget), upstream answers cut off after the client got headers, GET/HEAD
 * answers the nginx data plane streamed instead of reading them whole (too big or no length), client
 * connections closed before their answer was complete, and cold starts (a Service at zero woken
 * by a held request, see activity.ts).
 */
export type UpstreamEvent =
  | 'connectError'
  | 'reset'
  | 'timeout'
  | 'retry'
  | 'held'
  | 'holdExpired'
  | 'cutOff'
  | 'streamed'
  | 'clientClosed'
  | 'coldStart';

/** The supervisor section of /stats. */
export interface SupervisorCounters {
  /** Worker processes alive now. */
  workers: number;
  /** Of them, those given the listening sockets (accepting connections). */
  listening: number;
  /** Of them, those whose route table is synced. */
  synced: number;
  /** Workers replaced since the add-on started. */
  restarts: number;
}

/** The /stats answer (src/dashboard/series.ts IngressStats). */
export interface StatsReport {
  requests: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number };
  status: Record<string, number>;
  /** Data-path event counters (UpstreamEvent). */
  events: Record<string, number>;
  /** The supervisor's workers (absent when the controller runs without workers). */
  supervisor?: SupervisorCounters;
}

/** Options of TrafficStats. */
export interface TrafficStatsOptions {
  clock?: Clock;
  /** Latency window; default 10 s. */
  windowMs?: number;
}

/**
 * Counts requests of one process. Guarantees:
 * 1. requests, errors and status classes only grow (since the process started).
 * 2. A request counts as an error when it got a 5xx answer or its response was cut off.
 * 3. Latencies older than the window (whole seconds) leave the histogram.
 */
export class TrafficStats {
  #clock: Clock;
  #slots: number;
  #requests = 0;
  #errors = 0;
  #status: Record<string, number> = {};
  #events: Partial<Record<UpstreamEvent, number>> = {};
  /** One histogram per second of the window, reused in a ring. */
  #ring: Uint32Array[];
  #ringSec: number[];

  constructor(opts: TrafficStatsOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#slots = Math.max(1, Math.round((opts.windowMs ?? 10_000) / 1000));
    this.#ring = Array.from({ length: this.#slots }, () => new Uint32Array(bucketCount));
    this.#ringSec = new Array<number>(this.#slots).fill(-1);
  }

  /** Records one finished request; status 0 means the response was cut off. */
  record(status: number, latencyMs: number): void {
    this.#requests++;
    if (status === 0 || status >= 500) this.#errors++;
    const cls = status === 0 ? 'failed' : `${Math.floor(status / 100)}xx`;
    this.#status[cls] = (this.#status[cls] ?? 0) + 1;
    const sec = Math.floor(this.#clock.now() / 1000);
    const i = sec % this.#slots;
    if (this.#ringSec[i] !== sec) {
      this.#ring[i]!.fill(0);
      this.#ringSec[i] = sec;
    }
    const h = this.#ring[i]!;
    const b = bucketOf(latencyMs);
    h[b] = h[b]! + 1;
  }

  /** Counts one data-path event. */
  count(event: UpstreamEvent): void {
    this.#events[event] = (this.#events[event] ?? 0) + 1;
  }

  /** This process's counters and window histogram. */
  snapshot(): StatsSnapshot {
    const oldest = Math.floor(this.#clock.now() / 1000) - this.#slots + 1;
    const histogram: Record<string, number> = {};
    for (let s = 0; s < this.#slots; s++) {
      if (this.#ringSec[s]! < oldest) continue;
      const h = this.#ring[s]!;
      for (let b = 0; b < bucketCount; b++) {
        if (h[b]) histogram[b] = (histogram[b] ?? 0) + h[b]!;
      }
    }
    return {
      requests: this.#requests,
      errors: this.#errors,
      status: { ...this.#status },
      histogram,
      events: { ...this.#events },
    };
  }
}

/** Adds up snapshots (of worker processes) into the /stats answer. */
export function mergeStats(snapshots: readonly StatsSnapshot[]): StatsReport {
  const status: Record<string, number> = {};
  const events: Record<string, number> = {};
  const hist = new Map<number, number>();
  let requests = 0;
  let errors = 0;
  for (const s of snapshots) {
    requests += s.requests;
    errors += s.errors;
    for (const [k, v] of Object.entries(s.status)) status[k] = (status[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.events ?? {})) events[k] = (events[k] ?? 0) + (v ?? 0);
    for (const [k, v] of Object.entries(s.histogram))
      hist.set(Number(k), (hist.get(Number(k)) ?? 0) + v);
  }
  const buckets = [...hist.entries()].sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  const pct = (p: number): number => {
    if (total === 0) return 0;
    const rank = Math.ceil(total * p);
    let seen = 0;
    for (const [b, c] of buckets) {
      seen += c;
      if (seen >= rank) return Math.round(boundOf(b) * 100) / 100;
    }
    return 0;
  };
  return {
    requests,
    errors,
    latencyMs: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99) },
    status,
    events,
  };
}
