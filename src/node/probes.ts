// Container probes (pkg/kubelet/prober: prober.go runners, worker.go thresholds): httpGet,
// tcpSocket and exec; startup gates liveness/readiness; results feed the pod worker.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import type { Clock, Timer } from '../lib/clock.js';

/** Outcome of one probe run. */
export interface ProbeResult {
  ok: boolean;
  message: string;
}

/** Where and how probes run for one container. */
export interface ProbeTarget {
  host: string;
  container: Container;
  /** Runs a command in the container; resolves with its exit code and output. */
  exec(argv: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }>;
}

function resolvePort(port: number | string | undefined, c: Container): number {
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port);
  return named?.containerPort ?? Number(port);
}

/** Runs one probe once. */
export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = resolvePort(g.port, target.container);
    const host = g.host || target.host;
    return new Promise((resolve) => {
      const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
      for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
      const scheme = g.scheme === 'HTTPS' ? 'https' : 'http';
      // Like the kubelet, an HTTPS probe does not verify the serving certificate.
      const get = scheme === 'https' ? https.get : http.get;
      const req = get(
        {
          host,
          port,
          path: g.path ?? '/',
          headers,
          timeout: timeoutMs,
          agent: false,
          rejectUnauthorized: false,
        },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve(
            code >= 200 && code < 400
              ? { ok: true, message: '' }
              : { ok: false, message: `HTTP probe failed with statuscode: ${code}` },
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) =>
        resolve({
          ok: false,
          message: `Get "${scheme}://${host}:${port}${g.path ?? '/'}": ${e.message}`,
        }),
      );
    });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, target.container);
    return tcpProbe(probe.tcpSocket.host || target.host, port, timeoutMs);
  }
  if (probe.exec) {
    try {
      const r = await target.exec(probe.exec.command ?? [], timeoutMs);
      return r.exitCode === 0
        ? { ok: true, message: '' }
        : { ok: false, message: r.output.trim() || `command exited with ${r.exitCode}` };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }
  return { ok: true, message: '' };
}

/** True when host:port accepts a TCP connection within timeoutMs. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(timeoutMs, () => s.destroy(new Error('i/o timeout')));
    s.once('connect', () => {
      s.destroy();
      resolve({ ok: true, message: '' });
    });
    s.once('error', (e) =>
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${e.message}` }),
    );
  });
}

/** Kind of probe. */
export type ProbeType = 'startup' | 'readiness' | 'liveness';

/**
 * Periodic prober of one container. Guarantees:
 * 1. Until startup succeeds, only the startup probe runs (a missing one counts as success).
 * 2. Readiness is probed right away and every 50 ms until its first success (so a new pod becomes
 *    Ready within tens of ms of serving), then every periodSeconds, as upstream after that.
 * 3. onResult fires only when a probe's thresholded result changes; liveness/startup failure fires
 *    once per failure streak.
 */
export class ContainerProber {
  #clock: Clock;
  #target: ProbeTarget;
  #onResult: (type: ProbeType, ok: boolean, message: string) => void;
  #timers = new Map<ProbeType, Timer>();
  #stopped = false;
  #started = false;

  constructor(opts: {
    clock: Clock;
    target: ProbeTarget;
    onResult: (type: ProbeType, ok: boolean, message: string) => void;
  }) {
    this.#clock = opts.clock;
    this.#target = opts.target;
    this.#onResult = opts.onResult;
  }

  /** True once the startup probe has succeeded (or there is none). */
  get isStarted(): boolean {
    return this.#started;
  }

  /** Starts probing (container just started). */
  start(): void {
    const c = this.#target.container;
    if (c.startupProbe) this.#loop('startup', c.startupProbe);
    else this.#afterStartup();
  }

  /** Stops every timer. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
  }

  #afterStartup(): void {
    this.#started = true;
    this.#onResult('startup', true, '');
    const c = this.#target.container;
    if (c.readinessProbe) this.#loop('readiness', c.readinessProbe);
    if (c.livenessProbe) this.#loop('liveness', c.livenessProbe);
  }

  #loop(type: ProbeType, probe: Probe): void {
    const period = (probe.periodSeconds ?? 10) * 1000;
    const successThreshold = probe.successThreshold ?? 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    let successes = 0;
    let failures = 0;
    let last: boolean | undefined;
    let everOk = false;
    const tick = async () => {
      if (this.#stopped) return;
      const r = await runProbe(probe, this.#target);
      if (this.#stopped) return;
      if (r.ok) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
      }
      let result: boolean | undefined;
      if (r.ok && successes >= successThreshold) result = true;
      if (!r.ok && (failures >= failureThreshold || (type === 'readiness' && !everOk)))
        result = false;
      if (result === true) everOk = true;
      if (result !== undefined && result !== last) {
        last = result;
        if (type === 'startup' && result) {
          this.#timers.get('startup')?.cancel();
          this.#timers.delete('startup');
          this.#afterStartup();
          return;
        }
        this.#onResult(type, result, r.message);
        if (!result && type !== 'readiness') return; // the container is being restarted
      }
      const fast = type !== 'liveness' && !everOk;
      this.#timers.set(
        type,
        this.#clock.setTimeout(() => void tick(), fast ? Math.min(50, period) : period),
      );
    };
    const delay = (probe.initialDelaySeconds ?? 0) * 1000;
    this.#timers.set(
      type,
      this.#clock.setTimeout(() => void tick(), delay),
    );
  }
}
