// Time series the dashboard charts: per-HPA replicas/desired/CPU and ingress traffic, sampled once
// a second into bounded columns (uPlot's data layout), plus rates from the ingress stats counters.

/** Columns of one chart: column 0 is time in seconds, the rest are values (null = gap). */
export type Columns = (number | null)[][];

/** A bounded set of aligned columns, oldest points dropped first. */
export class SeriesTable {
  readonly columns: Columns;
  #capacity: number;

  constructor(opts: { width: number; capacity?: number }) {
    this.columns = Array.from({ length: opts.width }, () => []);
    this.#capacity = opts.capacity ?? 900;
  }

  /** Appends one point: time in seconds, then one value per series. */
  push(row: (number | null)[]): void {
    for (let i = 0; i < this.columns.length; i++) this.columns[i]?.push(row[i] ?? null);
    if ((this.columns[0]?.length ?? 0) > this.#capacity) for (const c of this.columns) c.shift();
  }

  get length(): number {
    return this.columns[0]?.length ?? 0;
  }
}

/**
 * What the ingress controller's stats endpoint answers (GET <status port>/stats). Counters are
 * cumulative since the controller started, so the dashboard derives rates from differences.
 */
export interface IngressStats {
  /** Requests proxied since start. */
  requests: number;
  /** Requests that failed: no ready backend, upstream error, or a 5xx answer. */
  errors: number;
  /** Latency over a recent window (e.g. the last 10 s), in milliseconds. */
  latencyMs?: { p50?: number; p90?: number; p99?: number };
  /** Optional: counts by status class, e.g. {"2xx": 120, "5xx": 1}. */
  status?: Record<string, number>;
  /** Optional: data-path events since start, e.g. held requests and cold starts (scale to zero). */
  events?: Record<string, number>;
}

/** One chart point of ingress traffic. */
export interface IngressSample {
  /** Seconds since the epoch. */
  t: number;
  rps: number;
  errorsPerSecond: number;
  p50?: number;
  p99?: number;
  requests: number;
  /** Requests held for a ready endpoint since the controller started. */
  held?: number;
  /** Services woken from zero by a held request since the controller started. */
  coldStarts?: number;
}

/** True when v has the IngressStats shape. */
export function isIngressStats(v: unknown): v is IngressStats {
  const o = v as Partial<IngressStats> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.requests === 'number' &&
    typeof o.errors === 'number'
  );
}

/**
 * Turns successive cumulative stats into rates. The first reading (and one after the counters go
 * backwards, i.e. the controller restarted) only sets the baseline.
 */
export class IngressRates {
  #last: { at: number; stats: IngressStats } | undefined;

  /** Feeds a reading taken at `at` (ms since the epoch); returns a sample once rates are known. */
  next(at: number, stats: IngressStats): IngressSample | undefined {
    const prev = this.#last;
    this.#last = { at, stats };
    if (!prev || stats.requests < prev.stats.requests || at <= prev.at) return undefined;
    const dt = (at - prev.at) / 1000;
    return {
      t: at / 1000,
      rps: (stats.requests - prev.stats.requests) / dt,
      errorsPerSecond: Math.max(0, stats.errors - prev.stats.errors) / dt,
      p50: stats.latencyMs?.p50,
      p99: stats.latencyMs?.p99,
      requests: stats.requests,
      ...(stats.events?.['held'] !== undefined ? { held: stats.events['held'] } : {}),
      ...(stats.events?.['coldStart'] !== undefined
        ? { coldStarts: stats.events['coldStart'] }
        : {}),
    };
  }

  /** Forgets the baseline (the endpoint went away). */
  reset(): void {
    this.#last = undefined;
  }
}
