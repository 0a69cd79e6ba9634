// The load engine behind `skiff load` (an ab work-alike): c workers, each issuing its next request
// as soon as the previous one ends, until n requests or the time limit (transports: exchange.ts).
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type Clock, realClock, type Timer } from '../lib/clock.js';
import {
  type ExchangeTarget,
  keepAliveExchange,
  type Outcome,
  oneShotExchange,
  RequestTimeoutError,
} from './exchange.js';
import { type LatencySummary, summarizeLatencies, trailingPodName } from './stats.js';

/** What to send, how often and how hard. */
export interface LoadOptions {
  url: string | URL;
  /** Requests in flight at once (ab -c). */
  concurrency: number;
  /** Requests to perform (ab -n). */
  requests: number;
  /** Stop issuing after this long (ab -t), in milliseconds. */
  timeLimitMs?: number;
  /** Reuse connections (ab -k). */
  keepAlive?: boolean;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Per-request timeout (ab -s), in milliseconds; default 30 s. */
  timeoutMs?: number;
  /** Drives the time limit and the progress ticks; latencies use the monotonic performance clock. */
  clock?: Clock;
  /** Aborting stops the run early; what completed is still reported. */
  signal?: AbortSignal;
  /** Called every progressIntervalMs while the run lasts, and once at the end. */
  onProgress?: (p: LoadProgress) => void;
  progressIntervalMs?: number;
}

/** A snapshot while the run lasts. */
export interface LoadProgress {
  /** Requests finished, successfully or not. */
  done: number;
  failed: number;
  /** Requests planned (n). */
  target: number;
  elapsedMs: number;
  /** The time limit, when there is one. */
  timeLimitMs?: number;
}

/** Failed requests by kind (ab counts Connect, Receive, Length, Exceptions). */
export interface FailureCounts {
  /** The connection could not be opened (refused, unreachable, unresolvable). */
  connect: number;
  /** The connection broke before the whole answer came (reset, hang up). */
  reset: number;
  /** No complete answer within the timeout. */
  timeout: number;
  /** Anything else (parse errors, protocol errors). */
  other: number;
}

/** Everything a report needs. */
export interface LoadResult {
  url: string;
  hostname: string;
  port: number;
  path: string;
  /** The Server header of the first answer. */
  serverSoftware?: string;
  /** Body length of the first answer. */
  documentLength?: number;
  concurrency: number;
  requested: number;
  keepAlive: boolean;
  elapsedMs: number;
  /** Requests finished, successfully or not (ab's "Complete requests"). */
  complete: number;
  failed: number;
  failures: FailureCounts;
  /** Answers whose status was not 2xx (they are complete, and counted apart, as ab does). */
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Bytes read from the network, headers included. */
  totalBytes: number;
  /** Body bytes received. */
  bodyBytes: number;
  requestsPerSecond: number;
  /** Mean time per request as one client sees it (concurrency × elapsed / complete). */
  timePerRequestMs: number;
  /** Mean time per request across all concurrent requests (elapsed / complete). */
  timePerRequestAcrossMs: number;
  /** Kilobytes per second received. */
  transferRateKBps: number;
  /** Latency of answered requests, in milliseconds. */
  latency?: LatencySummary;
  /** Answers per pod, when the body ends with a pod name; ordered by name. */
  pods: Record<string, number>;
  /** A few error messages by count, to say what went wrong. */
  errorSamples: Record<string, number>;
  stoppedBy: 'count' | 'time' | 'signal';
}

const connectCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
]);
const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Sorts a request error into one of the failure kinds. */
export function classifyError(err: unknown): keyof FailureCounts {
  if (err instanceof RequestTimeoutError) return 'timeout';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (connectCodes.has(code)) return 'connect';
    if (resetCodes.has(code)) return 'reset';
  }
  return 'other';
}

// Keep at most this many body bytes per answer to find the trailing pod name.
const TAIL_BYTES = 256;
const MAX_ERROR_SAMPLES = 8;

/**
 * Runs the load and resolves with the result once every request has finished (or the time limit
 * or signal stopped the run; requests then in flight are dropped, as ab does).
 * @example
 * const r = await runLoad({ url: 'http://127.0.0.1/', concurrency: 50, requests: 10000 });
 */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const url = new URL(opts.url);
  const isTls = url.protocol === 'https:';
  if (!isTls && url.protocol !== 'http:') {
    return Promise.reject(
      new TypeError(`Unsupported URL scheme "${url.protocol}": use http or https`),
    );
  }
  const clock = opts.clock ?? realClock;
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  const target = Math.max(0, Math.floor(opts.requests));
  const keepAlive = opts.keepAlive ?? false;
  const port = Number(url.port) || (isTls ? 443 : 80);
  const path = `${url.pathname}${url.search}`;
  const headers: Record<string, string> = {
    'User-Agent': 'skiff-load/0.1',
    Accept: '*/*',
    ...opts.headers,
  };
  if (opts.body) headers['Content-Length'] = String(opts.body.length);
  const exchangeTarget: ExchangeTarget = {
    url,
    port,
    method: opts.method ?? 'GET',
    headers,
    body: opts.body,
    timeoutMs: opts.timeoutMs ?? 30_000,
    tailBytes: TAIL_BYTES,
  };
  // Without -k, like ab: a fresh connection per request, closed by the server after its answer.
  const pooled = keepAlive ? keepAliveExchange(exchangeTarget, concurrency) : undefined;
  const exchange = pooled?.exchange ?? oneShotExchange(exchangeTarget);

  const latencies = new Float64Array(target);
  const failures: FailureCounts = { connect: 0, reset: 0, timeout: 0, other: 0 };
  const statusCodes = new Map<number, number>();
  const pods = new Map<string, number>();
  const errorSamples = new Map<string, number>();
  const inFlight = new Set<() => void>();
  const liveSockets = new Set<Socket>();
  let readBytes = 0;
  let answered = 0;
  let issued = 0;
  let done = 0;
  let failed = 0;
  let non2xx = 0;
  let bodyBytes = 0;
  let serverSoftware: string | undefined;
  let documentLength: number | undefined;
  let stoppedBy: LoadResult['stoppedBy'] = 'count';
  let finished = false;
  let startedAt = 0;
  let endedAt = 0;
  let limitTimer: Timer | undefined;
  let progressTimer: Timer | undefined;

  return new Promise<LoadResult>((resolve) => {
    const progress = (): LoadProgress => ({
      done,
      failed,
      target,
      elapsedMs: (finished ? endedAt : performance.now()) - startedAt,
      timeLimitMs: opts.timeLimitMs,
    });

    const finish = (reason: LoadResult['stoppedBy']) => {
      if (finished) return;
      finished = true;
      stoppedBy = reason;
      endedAt = performance.now();
      limitTimer?.cancel();
      progressTimer?.cancel();
      opts.signal?.removeEventListener('abort', onAbort);
      for (const cancel of inFlight) cancel();
      inFlight.clear();
      let totalBytes = readBytes;
      for (const s of liveSockets) totalBytes += s.bytesRead;
      pooled?.agent.destroy();
      opts.onProgress?.(progress());
      resolve(
        buildResult({
          url,
          port,
          path,
          concurrency,
          target,
          keepAlive,
          elapsedMs: endedAt - startedAt,
          done,
          failed,
          failures,
          non2xx,
          statusCodes,
          totalBytes,
          bodyBytes,
          latencies,
          answered,
          pods,
          errorSamples,
          serverSoftware,
          documentLength,
          stoppedBy,
        }),
      );
    };

    const onAbort = () => finish('signal');

    // Keep-alive sockets serve many requests: count their bytes once, when they close.
    pooled?.agent.on('free', (socket: Socket) => {
      if (liveSockets.has(socket)) return;
      liveSockets.add(socket);
      socket.once('close', () => {
        liveSockets.delete(socket);
        readBytes += socket.bytesRead;
      });
    });

    const settle = (o: Outcome) => {
      done++;
      readBytes += o.bytesRead;
      if (o.error) {
        failures[classifyError(o.error)]++;
        failed++;
        const err = o.error as Error & { code?: string };
        const msg = err.code ?? err.message ?? String(err);
        if (errorSamples.size < MAX_ERROR_SAMPLES || errorSamples.has(msg)) {
          errorSamples.set(msg, (errorSamples.get(msg) ?? 0) + 1);
        }
        return;
      }
      bodyBytes += o.bodyLength;
      statusCodes.set(o.status, (statusCodes.get(o.status) ?? 0) + 1);
      if (documentLength === undefined) {
        documentLength = o.bodyLength;
        serverSoftware = o.server;
      }
      if (o.status < 200 || o.status >= 300) non2xx++;
      else if (o.tail) {
        const pod = trailingPodName(o.tail.toString('latin1'));
        if (pod) pods.set(pod, (pods.get(pod) ?? 0) + 1);
      }
    };

    const issue = (): void => {
      if (finished) return;
      if (issued >= target) {
        if (done >= target) finish('count');
        return;
      }
      issued++;
      const t0 = performance.now();
      const cancel = exchange((o) => {
        inFlight.delete(cancel);
        if (finished) return;
        if (!o.error) latencies[answered++] = performance.now() - t0;
        settle(o);
        issue();
      });
      inFlight.add(cancel);
    };

    if (opts.signal?.aborted) {
      startedAt = performance.now();
      finish('signal');
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    startedAt = performance.now();
    if (opts.timeLimitMs !== undefined) {
      limitTimer = clock.setTimeout(() => finish('time'), opts.timeLimitMs);
    }
    if (opts.onProgress) {
      const every = opts.progressIntervalMs ?? 1000;
      const tick = () => {
        if (finished) return;
        opts.onProgress?.(progress());
        progressTimer = clock.setTimeout(tick, every);
      };
      progressTimer = clock.setTimeout(tick, every);
    }
    if (target === 0) {
      finish('count');
      return;
    }
    for (let i = 0; i < concurrency && i < target; i++) issue();
  });
}

interface Tally {
  url: URL;
  port: number;
  path: string;
  concurrency: number;
  target: number;
  keepAlive: boolean;
  elapsedMs: number;
  done: number;
  failed: number;
  failures: FailureCounts;
  non2xx: number;
  statusCodes: Map<number, number>;
  totalBytes: number;
  bodyBytes: number;
  latencies: Float64Array;
  answered: number;
  pods: Map<string, number>;
  errorSamples: Map<string, number>;
  serverSoftware: string | undefined;
  documentLength: number | undefined;
  stoppedBy: LoadResult['stoppedBy'];
}

function buildResult(t: Tally): LoadResult {
  const seconds = t.elapsedMs / 1000;
  const perReq = t.done > 0 ? t.elapsedMs / t.done : 0;
  return {
    url: t.url.href,
    hostname: t.url.hostname,
    port: t.port,
    path: t.path,
    serverSoftware: t.serverSoftware,
    documentLength: t.documentLength,
    concurrency: t.concurrency,
    requested: t.target,
    keepAlive: t.keepAlive,
    elapsedMs: t.elapsedMs,
    complete: t.done,
    failed: t.failed,
    failures: t.failures,
    non2xx: t.non2xx,
    statusCodes: Object.fromEntries([...t.statusCodes].sort((a, b) => a[0] - b[0])),
    totalBytes: t.totalBytes,
    bodyBytes: t.bodyBytes,
    requestsPerSecond: seconds > 0 ? t.done / seconds : 0,
    timePerRequestMs: perReq * t.concurrency,
    timePerRequestAcrossMs: perReq,
    transferRateKBps: seconds > 0 ? t.totalBytes / 1024 / seconds : 0,
    latency: summarizeLatencies(t.latencies, t.answered),
    pods: Object.fromEntries([...t.pods].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    errorSamples: Object.fromEntries(t.errorSamples),
    stoppedBy: t.stoppedBy,
  };
}
