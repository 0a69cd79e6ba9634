// The ingress's side of scale to zero (issue #19; Knative's activator reports to its autoscaler the
// same way): it renews the activity Lease of each Service with the time of its last request, so
// the scale-to-zero controller (src/controllers/scale-to-zero) sees idleness and demand through
// the API. The Lease's existence also tells the ingress to hold requests while the Service is at
// zero instead of answering 503.
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import {
  activityLeaseName,
  activityServiceLabel,
  microTime,
  scaledToZeroAtAnnotation,
} from '../api/scale-to-zero.js';
import { Informer } from '../client/informer.js';
import { R } from '../client/resources.js';
import type { KObject, KubeClient } from '../client/rest.js';
import { type Clock, realClock, type Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import type { TrafficStats } from './stats.js';

/** Options of ActivityReporter. */
export interface ActivityReporterOptions {
  client: KubeClient;
  clock?: Clock;
  log?: Logger;
  /** Written as the Leases' holderIdentity; default "ingress-nginx-controller". */
  identity?: string;
  /** Least time between two renewals of one Lease while requests keep coming; default 1 s. */
  intervalMs?: number;
  /** Counts cold starts ('coldStart') for /stats. */
  stats?: TrafficStats;
}

/**
 * Renews activity Leases. Guarantees:
 * 1. Only Services with an activity Lease cost anything beyond a map lookup per request.
 * 2. While requests keep coming, a Service's Lease is renewed at least once per interval, with
 *    the time of the latest request (never moved backwards).
 * 3. The first request held while its Service is at zero renews the Lease at once (the wake-up
 *    signal) and counts one cold start; the cold start ends when the Service has endpoints.
 * 4. While requests of a Service are held, its Lease is renewed every interval: a cold start
 *    longer than the idle window does not let the workload go back to zero under them.
 */
export class ActivityReporter {
  #opts: ActivityReporterOptions;
  #clock: Clock;
  #log: Logger;
  #leases: Informer<Lease & KObject>;
  /** "ns/svc" → time of the latest request not yet written. */
  #pending = new Map<string, number>();
  /** "ns/svc" → time written last (or being written). */
  #written = new Map<string, number>();
  /** Services at zero whose wake-up was signalled ("ns/svc" → when). */
  #waking = new Map<string, number>();
  /** Requests held now, per Service ("ns/svc" → count). */
  #held = new Map<string, number>();
  #timer: Timer | undefined;
  #flushing: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(opts: ActivityReporterOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.log ?? createLogger()).child({ component: 'ingress-activity' });
    this.#leases = new Informer<Lease & KObject>({
      client: opts.client,
      resource: R.leases,
      labelSelector: activityServiceLabel,
      clock: this.#clock,
      log: this.#log,
    });
  }

  /** The Lease informer, to react to Leases coming and going (the controller wakes waiters). */
  get leases(): Informer<Lease & KObject> {
    return this.#leases;
  }

  /** Starts the Lease informer; resolves once it has synced. */
  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener(
      'abort',
      () => {
        this.#stopped = true;
        this.#timer?.cancel();
      },
      { once: true },
    );
    this.#leases.start(signal);
    await this.#leases.waitForSync(signal);
  }

  /** Whether Service ns/svc scales from zero (it has an activity Lease). */
  scalesFromZero(ns: string, svc: string): boolean {
    const l = this.#leases.lister.get(ns, activityLeaseName(svc));
    return l?.metadata?.labels?.[activityServiceLabel] === svc;
  }

  /**
   * Whether the controller scaled Service ns/svc's workload to zero and has not woken it yet (its
   * Lease carries the scaled-to-zero-at annotation from before the scale until the wake).
   */
  atZero(ns: string, svc: string): boolean {
    const l = this.#leases.lister.get(ns, activityLeaseName(svc));
    return !!l?.metadata?.annotations?.[scaledToZeroAtAnnotation];
  }

  /** Whether any Service scales from zero (the nginx data plane is polled only then). */
  get active(): boolean {
    return this.#leases.lister.list().length > 0;
  }

  /** A request for Service ns/svc arrived at `at` (default now). */
  seen(ns: string, svc: string, at = this.#clock.now()): void {
    if (!this.scalesFromZero(ns, svc)) return;
    const key = `${ns}/${svc}`;
    if (at <= (this.#pending.get(key) ?? this.#written.get(key) ?? 0)) return;
    this.#pending.set(key, at);
    this.#schedule(this.#interval());
  }

  /**
   * A request for Service ns/svc is held with no endpoint at all: the first of an episode renews
   * the Lease at once (the workload may be at zero) and counts a cold start.
   */
  held(ns: string, svc: string): void {
    this.holding(ns, svc, +1);
    if (!this.scalesFromZero(ns, svc)) return;
    const key = `${ns}/${svc}`;
    const now = this.#clock.now();
    if (this.#waking.has(key)) return;
    this.#waking.set(key, now);
    this.#opts.stats?.count('coldStart');
    this.#schedule(0);
  }

  /** One more (+1) or one fewer (-1) request of Service ns/svc held now (see guarantee 4). */
  holding(ns: string, svc: string, delta: 1 | -1): void {
    const key = `${ns}/${svc}`;
    const n = (this.#held.get(key) ?? 0) + delta;
    if (n > 0) this.#held.set(key, n);
    else this.#held.delete(key);
    if (n > 0 && delta > 0) this.seen(ns, svc);
  }

  /** Service ns/svc lists endpoints again: its cold start, if any, is over. */
  endpointsAppeared(ns: string, svc: string): void {
    this.#waking.delete(`${ns}/${svc}`);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer && ms > 0) return;
    this.#timer?.cancel();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, ms);
  }

  /** Writes every pending renewal (one merge patch per Lease, no conflicts with the controller). */
  async #flush(): Promise<void> {
    if (this.#flushing) {
      // One flush at a time: this one runs again right after it (the held requests' renewals
      // included: returning without would end their periodic renewal while a write is slow).
      this.#again = true;
      return;
    }
    // Held requests are activity as long as they wait (guarantee 4).
    for (const key of this.#held.keys()) {
      const slash = key.indexOf('/');
      this.seen(key.slice(0, slash), key.slice(slash + 1));
    }
    const batch = [...this.#pending];
    this.#pending.clear();
    if (this.#held.size > 0) this.#schedule(this.#interval());
    this.#flushing = (async () => {
      await Promise.all(batch.map(([key, at]) => this.#renew(key, at)));
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
    if (this.#again) {
      this.#again = false;
      this.#schedule(0);
    }
  }

  /**
   * Time between renewals: intervalMs, or a third of the shortest idle window (a Lease's
   * leaseDurationSeconds) when that is shorter, so a busy Service is renewed well within it.
   */
  #interval(): number {
    let ms = this.#opts.intervalMs ?? 1000;
    for (const l of this.#leases.lister.list()) {
      const d = l.spec?.leaseDurationSeconds;
      if (d) ms = Math.min(ms, Math.max(100, (d * 1000) / 3));
    }
    return ms;
  }

  async #renew(key: string, at: number): Promise<void> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const svc = key.slice(slash + 1);
    this.#written.set(key, at);
    try {
      await this.#opts.client.patch(R.leases, ns, activityLeaseName(svc), {
        spec: {
          renewTime: microTime(at),
          holderIdentity: this.#opts.identity ?? 'ingress-nginx-controller',
        },
      });
    } catch (err) {
      this.#written.delete(key);
      this.#log.debug('Cannot renew activity lease', { key, err: errorMessage(err) });
      // Retried while the Lease exists (a held request may depend on it); a Lease that is gone
      // means the workload opted out.
      if (this.scalesFromZero(ns, svc) && !this.#pending.has(key)) {
        this.#pending.set(key, at);
        this.#schedule(this.#interval());
      }
    }
  }
}
