// The request loop of the seed's `while true; do curl http://127.0.0.1; done`, in process: a
// steady rate of GETs through the ingress, each answer attributed to the pod that wrote it.
import http from 'node:http';
import { type Clock, realClock, type Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { trailingPodName } from '../load/stats.js';

/** One request of the loop. */
export interface RequestRecord {
  /** Clock time the request was sent. */
  at: number;
  /** Clock time it finished. */
  doneAt: number;
  ok: boolean;
  status?: number;
  /** The pod named at the end of the answer. */
  pod?: string;
  error?: string;
}

/** Counts over a slice of the loop. */
export interface TrafficSummary {
  sent: number;
  failed: number;
  /** Answers per pod. */
  byPod: Record<string, number>;
  /** The pods in answer order, consecutive repeats collapsed (shows the alternation). */
  sequence: string[];
}

/** Options of a RequestLoop. */
export interface RequestLoopOptions {
  url: string;
  /** Requests per second (default 20). */
  rate?: number;
  /** Per-request timeout in ms (default 3000). */
  timeoutMs?: number;
  /** Requests allowed in flight at once; a slower answer makes the loop skip a beat. */
  maxInFlight?: number;
  clock?: Clock;
  onRecord?: (r: RequestRecord) => void;
}

/** Summarizes records (pure). */
export function summarizeTraffic(records: readonly RequestRecord[]): TrafficSummary {
  const byPod: Record<string, number> = {};
  const sequence: string[] = [];
  let failed = 0;
  for (const r of records) {
    if (!r.ok) {
      failed++;
      continue;
    }
    const pod = r.pod ?? '?';
    byPod[pod] = (byPod[pod] ?? 0) + 1;
    if (sequence[sequence.length - 1] !== pod) sequence.push(pod);
  }
  return { sent: records.length, failed, byPod, sequence };
}

/** Sends GETs at a steady rate until stop(); keeps every record. */
export class RequestLoop {
  readonly records: RequestRecord[] = [];
  #url: URL;
  #interval: number;
  #timeoutMs: number;
  #maxInFlight: number;
  #clock: Clock;
  #onRecord: ((r: RequestRecord) => void) | undefined;
  #agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  #timer: Timer | undefined;
  #inFlight = new Set<Promise<void>>();
  #running = false;

  constructor(opts: RequestLoopOptions) {
    this.#url = new URL(opts.url);
    this.#interval = 1000 / (opts.rate ?? 20);
    this.#timeoutMs = opts.timeoutMs ?? 3000;
    this.#maxInFlight = opts.maxInFlight ?? 32;
    this.#clock = opts.clock ?? realClock;
    this.#onRecord = opts.onRecord;
  }

  /** Starts sending. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#tick();
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    await Promise.all([...this.#inFlight]);
    this.#agent.destroy();
  }

  /** Records sent at or after the clock time `from` (and before `to`). */
  between(from: number, to = Number.POSITIVE_INFINITY): RequestRecord[] {
    return this.records.filter((r) => r.at >= from && r.at < to);
  }

  #tick(): void {
    if (!this.#running) return;
    if (this.#inFlight.size < this.#maxInFlight) {
      const p = this.#send().finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#interval);
  }

  #send(): Promise<void> {
    const at = this.#clock.now();
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = (r: Omit<RequestRecord, 'at' | 'doneAt'>) => {
        if (settled) return;
        settled = true;
        const rec: RequestRecord = { at, doneAt: this.#clock.now(), ...r };
        this.records.push(rec);
        this.#onRecord?.(rec);
        resolve();
      };
      const req = http.get(this.#url, { agent: this.#agent, timeout: this.#timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const pod = trailingPodName(Buffer.concat(chunks).toString('utf8'));
          const ok = status >= 200 && status < 300;
          finish({ ok, status, pod, error: ok ? undefined : `HTTP ${status}` });
        });
        res.on('error', (err) => finish({ ok: false, error: errorMessage(err) }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => finish({ ok: false, error: errorMessage(err) }));
    });
  }
}
