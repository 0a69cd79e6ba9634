// Samples the demo's objects every 250 ms (pods of the app, its Deployment and HPA) through the
// API, keeps the samples, and lets steps wait for a condition on the newest one.

import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../client/resources.js';
import { isNotFound, type KubeClient } from '../client/rest.js';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';

/** What one pod looked like in a sample. */
export interface PodView {
  name: string;
  ready: boolean;
  restarts: number;
  phase: string;
  deleting: boolean;
}

/** The world at one instant. */
export interface Sample {
  at: number;
  pods: PodView[];
  /** Deployment spec.replicas (what the HPA asked for). */
  specReplicas?: number;
  readyReplicas?: number;
  hpaDesired?: number;
  hpaCurrent?: number;
  /** Current average CPU utilization the HPA saw, in percent of the request. */
  cpuPercent?: number;
}

/** Reduces a Pod to what the demo looks at. */
export function podView(p: Pod): PodView {
  const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const restarts = (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
  return {
    name: p.metadata?.name ?? '',
    ready: ready === true,
    restarts,
    phase: p.status?.phase ?? 'Pending',
    deleting: p.metadata?.deletionTimestamp !== undefined,
  };
}

/** Reads the HPA's desired/current replicas and CPU utilization (autoscaling/v2 status). */
export function hpaView(
  h: HorizontalPodAutoscaler,
): Pick<Sample, 'hpaDesired' | 'hpaCurrent' | 'cpuPercent'> {
  const cpu = h.status?.currentMetrics?.find(
    (m) => m.type === 'Resource' && m.resource?.name === 'cpu',
  )?.resource?.current.averageUtilization;
  return {
    hpaDesired: h.status?.desiredReplicas,
    hpaCurrent: h.status?.currentReplicas,
    cpuPercent: cpu,
  };
}

/** Options of a Sampler. */
export interface SamplerOptions {
  client: KubeClient;
  namespace?: string;
  name?: string;
  intervalMs?: number;
  clock?: Clock;
}

/** Polls the app's pods, Deployment and HPA at a fixed interval until stopped. */
export class Sampler {
  readonly samples: Sample[] = [];
  /** The last polling error, if the newest poll failed. */
  lastError: string | undefined;
  #client: KubeClient;
  #ns: string;
  #name: string;
  #interval: number;
  #clock: Clock;
  #listeners = new Set<(s: Sample) => void>();
  #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(opts: SamplerOptions) {
    this.#client = opts.client;
    this.#ns = opts.namespace ?? 'default';
    this.#name = opts.name ?? 'hello-world-flask';
    this.#interval = opts.intervalMs ?? 250;
    this.#clock = opts.clock ?? realClock;
  }

  /** The newest sample. */
  get latest(): Sample | undefined {
    return this.samples[this.samples.length - 1];
  }

  /** Starts polling. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops polling. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  /** Calls fn with every new sample until the returned function is called. */
  subscribe(fn: (s: Sample) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Resolves with the first new sample for which pred holds, or undefined after timeoutMs. */
  waitFor(pred: (s: Sample) => boolean, timeoutMs: number): Promise<Sample | undefined> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        unsubscribe();
        resolve(undefined);
      }, timeoutMs);
      const unsubscribe = this.subscribe((s) => {
        if (!pred(s)) return;
        timer.cancel();
        unsubscribe();
        resolve(s);
      });
    });
  }

  /** Takes one sample now. */
  async sample(): Promise<Sample> {
    const at = this.#clock.now();
    const [pods, dep, hpa] = await Promise.all([
      this.#client.list<Pod>(R.pods, {
        namespace: this.#ns,
        labelSelector: `app=${this.#name}`,
      }),
      this.#getOrUndefined<Deployment>(R.deployments),
      this.#getOrUndefined<HorizontalPodAutoscaler>(R.hpas),
    ]);
    return {
      at,
      pods: pods.items.map(podView).sort((a, b) => a.name.localeCompare(b.name)),
      specReplicas: dep?.spec?.replicas,
      readyReplicas: dep?.status?.readyReplicas ?? (dep ? 0 : undefined),
      ...(hpa ? hpaView(hpa) : {}),
    };
  }

  async #getOrUndefined<T>(r: typeof R.hpas): Promise<T | undefined> {
    try {
      return await this.#client.get<T>(r, this.#ns, this.#name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        const s = await this.sample();
        this.lastError = undefined;
        this.samples.push(s);
        for (const fn of [...this.#listeners]) fn(s);
      } catch (err) {
        // A failed poll (API restarting, timeout) is retried on the next beat; the demo's
        // waits are bounded, so a persistent failure shows up as a timed-out step.
        this.lastError = errorMessage(err);
      }
      try {
        await this.#clock.sleep(this.#interval, signal);
      } catch {
        // Aborted: the loop condition ends it.
        break;
      }
    }
  }
}
