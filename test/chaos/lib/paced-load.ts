// An open-loop, paced HTTP GET load (a fixed request rate, not max throughput) for the chaos,
// crash and soak suites: every answer is timed and every failure sorted by kind, so a report can
// say which requests failed, when, and why.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { type Summary, summarize } from '../../../bench/lib/stats.js';
import { realClock, type Timer } from '../../../src/lib/clock.js';
import { classifyError } from '../../../src/load/engine.js';

/** Why a request failed: the engine's kinds, plus a non-2xx answer. */
export type FailureKind = 'connect' | 'reset' | 'timeout' | 'other' | 'status';

/** One finished request. */
export interface RequestSample {
  /** When it was sent, in ms since the load started. */
  at: number;
  /** How long it took, in ms. */
  ms: number;
  ok: boolean;
  status?: number;
  kind?: FailureKind;
  /** The pod named at the end of the answer (the seed app ends its reply with its hostname). */
  pod?: string;
  /**
   * Sent again on a fresh connection after its reused keep-alive connection died before any
   * answer byte (see PacedLoadOptions.retryReusedConnection); the sample is the second attempt's.
   */
  retried?: boolean;
}

/** Counts and latency over a set of samples. */
export interface LoadSummary {
  sent: number;
  ok: number;
  failed: number;
  byKind: Record<FailureKind, number>;
  /** Requests the pacer could not send because maxInFlight were still pending. */
  skipped: number;
  latency: Summary;
  /** Requests per second actually achieved. */
  rate: number;
  /** Answers by HTTP status code. */
  statusCodes: Record<string, number>;
  /** Requests sent again on a fresh connection after their reused one died (ok or not). */
  retried: number;
}

/** Options of a PacedLoad. */
export interface PacedLoadOptions {
  url: string;
  /** Requests per second. */
  rate: number;
  /** Per-request timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Requests allowed in flight at once (default 256); beyond it a beat is skipped and counted. */
  maxInFlight?: number;
  /**
   * When a request sent on a reused keep-alive connection fails before any answer byte (the
   * server side closed or reset it), send it once more on a fresh connection, as browsers and
   * curl do for such requests (curl: "Connection died, retrying a fresh connect"); node's agent
   * does not. Counted in LoadSummary.retried. Default false.
   */
  retryReusedConnection?: boolean;
}

/** Summarizes samples (pure); `skipped` and `durationMs` come from the caller. */
export function summarizeSamples(
  samples: readonly RequestSample[],
  opts: { skipped?: number; durationMs?: number } = {},
): LoadSummary {
  const byKind: Record<FailureKind, number> = {
    connect: 0,
    reset: 0,
    timeout: 0,
    other: 0,
    status: 0,
  };
  let ok = 0;
  let retried = 0;
  const statusCodes: Record<string, number> = {};
  for (const s of samples) {
    if (s.status !== undefined) statusCodes[s.status] = (statusCodes[s.status] ?? 0) + 1;
    if (s.ok) ok++;
    else byKind[s.kind ?? 'other']++;
    if (s.retried) retried++;
  }
  const span =
    opts.durationMs ?? (samples.length ? Math.max(...samples.map((s) => s.at + s.ms)) : 0);
  return {
    sent: samples.length,
    ok,
    failed: samples.length - ok,
    byKind,
    skipped: opts.skipped ?? 0,
    latency: summarize(samples.map((s) => s.ms)),
    rate: span > 0 ? (samples.length * 1000) / span : 0,
    statusCodes,
    retried,
  };
}

/** Failed requests per second of the run, as "12s: 3 (status 502 x3)" lines (for diagnosis). */
export function failureTimeline(samples: readonly RequestSample[]): string[] {
  const bySecond = new Map<number, RequestSample[]>();
  for (const s of samples) {
    if (s.ok) continue;
    const sec = Math.floor(s.at / 1000);
    bySecond.set(sec, [...(bySecond.get(sec) ?? []), s]);
  }
  return [...bySecond.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([sec, xs]) => {
      const kinds = new Map<string, number>();
      for (const x of xs) {
        const k = x.kind === 'status' ? `status ${x.status}` : (x.kind ?? 'other');
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
      }
      return `${sec}s: ${xs.length} (${[...kinds].map(([k, n]) => `${k} x${n}`).join(', ')})`;
    });
}

/**
 * Per second of sending in [fromMs, toMs): requests sent, failed, median and slowest latency, and
 * pods that answered, as "31s: 200 sent, 0 failed, p50 40 ms, max 900 ms, 4 pods" (for diagnosis).
 */
export function latencyTimeline(
  samples: readonly RequestSample[],
  fromMs: number,
  toMs: number,
): string[] {
  const bySecond = new Map<number, RequestSample[]>();
  for (const s of samples) {
    if (s.at < fromMs || s.at >= toMs) continue;
    const sec = Math.floor(s.at / 1000);
    bySecond.set(sec, [...(bySecond.get(sec) ?? []), s]);
  }
  return [...bySecond.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([sec, xs]) => {
      const ms = xs.map((x) => x.ms).sort((a, b) => a - b);
      const pods = new Set(xs.flatMap((x) => (x.pod ? [x.pod] : [])));
      const failed = xs.filter((x) => !x.ok).length;
      return (
        `${sec}s: ${xs.length} sent, ${failed} failed, p50 ${(ms[Math.floor(ms.length / 2)] ?? 0).toFixed(0)} ms, ` +
        `max ${(ms[ms.length - 1] ?? 0).toFixed(0)} ms, ${pods.size} pods`
      );
    });
}

/** Renders "sent 1000, failed 3 (reset 2, status 1)" for logs. */
export function describeSummary(s: LoadSummary): string {
  const kinds = Object.entries(s.byKind)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `sent ${s.sent}, ok ${s.ok}, failed ${s.failed}${kinds ? ` (${kinds})` : ''}` +
    `${s.skipped ? `, skipped ${s.skipped}` : ''}` +
    `${s.retried ? `, retried on a fresh connection ${s.retried}` : ''}, p99 ${s.latency.p99.toFixed(1)} ms`
  );
}

/**
 * A paced GET loop: request i is sent at start + i/rate whatever the previous answers did (open
 * loop, like a fleet of users), over keep-alive connections.
 * Invariants: 1. every request sent ends as exactly one sample; 2. stop() resolves only once
 * every request in flight has ended (answered, failed or timed out).
 */
export class PacedLoad {
  readonly samples: RequestSample[] = [];
  #opts: Required<PacedLoadOptions>;
  #agent: http.Agent;
  #t0 = 0;
  #sent = 0;
  #skipped = 0;
  #inFlight = 0;
  #timer: Timer | undefined;
  #running = false;
  #drained: (() => void) | undefined;

  constructor(opts: PacedLoadOptions) {
    this.#opts = { timeoutMs: 5000, maxInFlight: 256, retryReusedConnection: false, ...opts };
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: this.#opts.maxInFlight });
  }

  /** Milliseconds since start(). */
  elapsed(): number {
    return performance.now() - this.#t0;
  }

  /** Starts sending. */
  start(): void {
    this.#t0 = performance.now();
    this.#running = true;
    this.#tick();
  }

  /** Stops sending, waits for the requests in flight, and summarizes the whole run. */
  async stop(): Promise<LoadSummary> {
    const durationMs = this.elapsed();
    this.#running = false;
    this.#timer?.cancel();
    if (this.#inFlight > 0) await new Promise<void>((r) => (this.#drained = r));
    this.#agent.destroy();
    return summarizeSamples(this.samples, { skipped: this.#skipped, durationMs });
  }

  /** Summarizes the samples sent in [fromMs, toMs) of the run so far. */
  window(fromMs: number, toMs = Number.POSITIVE_INFINITY): LoadSummary {
    const picked = this.samples.filter((s) => s.at >= fromMs && s.at < toMs);
    return summarizeSamples(picked, { durationMs: Math.min(toMs, this.elapsed()) - fromMs });
  }

  #tick(): void {
    if (!this.#running) return;
    const interval = 1000 / this.#opts.rate;
    // Catch up on every beat that is due (timers fire late on a loaded machine).
    while (this.#sent * interval <= this.elapsed()) {
      this.#sent++;
      if (this.#inFlight >= this.#opts.maxInFlight) this.#skipped++;
      else this.#send();
    }
    const next = this.#sent * interval - this.elapsed();
    this.#timer = realClock.setTimeout(() => this.#tick(), Math.max(0, next));
  }

  #send(): void {
    this.#inFlight++;
    const at = this.elapsed();
    let settled = false;
    let retried = false;
    const finish = (s: Omit<RequestSample, 'at' | 'ms'>) => {
      if (settled) return;
      settled = true;
      this.samples.push({ at, ms: this.elapsed() - at, ...s, ...(retried ? { retried } : {}) });
      this.#inFlight--;
      if (this.#inFlight === 0) this.#drained?.();
    };
    // agent false: the retry opens a connection of its own rather than another pooled one.
    const attempt = (agent: http.Agent | false) => {
      let answered = false;
      const req = http.get(this.#opts.url, { agent }, (res) => {
        answered = true;
        let tail = '';
        res.on('data', (d: Buffer) => {
          tail = (tail + d.toString('latin1')).slice(-256);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          const pod = /(\S+)\s*$/.exec(tail)?.[1];
          finish(ok ? { ok, status, pod } : { ok, status, kind: 'status' });
        });
        res.on('error', (err) => finish({ ok: false, kind: classifyError(err) }));
      });
      req.setTimeout(this.#opts.timeoutMs, () => {
        req.destroy();
        finish({ ok: false, kind: 'timeout' });
      });
      req.on('error', (err) => {
        if (settled) return;
        if (this.#opts.retryReusedConnection && !retried && !answered && req.reusedSocket) {
          retried = true;
          attempt(false);
          return;
        }
        finish({ ok: false, kind: classifyError(err) });
      });
    };
    attempt(this.#agent);
  }
}
