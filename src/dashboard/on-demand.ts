// An informer that runs only while somebody looks: started by the first user, stopped (its cache
// dropped) idleMs after the last one left. The dashboard watches Events this way: under churn a
// cluster keeps an hour of them (--event-ttl), megabytes that no one reads while no page is open.
import type { Informer, MetaObject } from '../client/informer.js';
import { type Clock, realClock, type Timer } from '../lib/clock.js';

/** Options of OnDemandInformer. */
export interface OnDemandOptions<T extends MetaObject> {
  /** A new informer (one is never restarted: each run starts from a fresh list). */
  create: () => Informer<T>;
  /** How long it keeps running after the last user left. */
  idleMs: number;
  clock?: Clock;
}

/**
 * Guarantees: between acquire() and the matching release() the informer runs; idleMs after the
 * last release() it stops and list() is empty until the next acquire(); the parent signal stops
 * it for good.
 */
export class OnDemandInformer<T extends MetaObject> {
  #opts: OnDemandOptions<T>;
  #clock: Clock;
  #run?: { informer: Informer<T>; abort: AbortController };
  #users = 0;
  #idle?: Timer;
  #signal?: AbortSignal;
  #setup: ((i: Informer<T>) => void)[] = [];
  #ending: Promise<void> = Promise.resolve();

  constructor(opts: OnDemandOptions<T>) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** Applies fn to every informer this creates (event handlers). */
  onCreate(fn: (i: Informer<T>) => void): void {
    this.#setup.push(fn);
  }

  /** Enables starting; the signal's abort stops the informer for good. */
  start(signal: AbortSignal): void {
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#stop(), { once: true });
  }

  /** The cached objects; empty while not running. */
  list(): T[] {
    return this.#run?.informer.lister.list() ?? [];
  }

  /** True once the running informer listed (false while stopped). */
  hasSynced(): boolean {
    return this.#run?.informer.hasSynced() ?? false;
  }

  /** One more user: starts the informer when none runs. */
  acquire(): void {
    this.#users++;
    this.#idle?.cancel();
    this.#idle = undefined;
    const parent = this.#signal;
    if (this.#run || !parent || parent.aborted) return;
    const informer = this.#opts.create();
    for (const fn of this.#setup) fn(informer);
    const abort = new AbortController();
    this.#run = { informer, abort };
    informer.start(abort.signal);
  }

  /** One user fewer: the last one leaving stops the informer idleMs later. */
  release(): void {
    this.#users = Math.max(0, this.#users - 1);
    if (this.#users > 0 || !this.#run) return;
    this.#idle?.cancel();
    this.#idle = this.#clock.setTimeout(() => this.#stop(), this.#opts.idleMs);
  }

  /** For a one-shot reader: runs the informer and waits up to timeoutMs for its first list. */
  async synced(timeoutMs: number): Promise<void> {
    this.acquire();
    try {
      const informer = this.#run?.informer;
      if (!informer || informer.hasSynced()) return;
      const abort = new AbortController();
      const timer = this.#clock.setTimeout(() => abort.abort(), timeoutMs);
      await informer.waitForSync(abort.signal).catch(() => undefined);
      timer.cancel();
    } finally {
      this.release();
    }
  }

  /** Resolves once the last stopped run's loop has ended. */
  stopped(): Promise<void> {
    return this.#ending;
  }

  #stop(): void {
    this.#idle?.cancel();
    this.#idle = undefined;
    if (!this.#run) return;
    this.#run.abort.abort();
    this.#ending = this.#run.informer.stopped();
    this.#run = undefined;
  }
}
