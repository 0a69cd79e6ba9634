// A shared informer factory (client-go informers.SharedInformerFactory): one list+watch per
// resource, shared by every controller that asks for it.
import { setMaxListeners } from 'node:events';
import type { ResourceInfo } from '../api/resources.js';
import { type Clock, realClock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/log.js';
import { Informer, type MetaObject } from './informer.js';
import type { KObject, KubeClient } from './rest.js';

/** Options of InformerFactory. */
export interface InformerFactoryOptions {
  client: KubeClient;
  clock?: Clock;
  log?: Logger;
  /** Restricts every informer to one namespace. */
  namespace?: string;
}

/**
 * Hands out shared informers, one per resource. Guarantees:
 * 1. `informerFor(r)` returns the same Informer for the same resource.
 * 2. Informers requested after `start()` are started at once with the same signal.
 * @example
 * const informers = new InformerFactory({ client });
 * const pods = informers.informerFor<Pod>(R.pods);
 * informers.start(signal); await informers.waitForCacheSync(signal);
 */
export class InformerFactory {
  readonly client: KubeClient;
  readonly clock: Clock;
  #opts: InformerFactoryOptions;
  #log: Logger;
  #informers = new Map<string, Informer<KObject>>();
  #signal: AbortSignal | undefined;

  constructor(opts: InformerFactoryOptions) {
    this.#opts = opts;
    this.client = opts.client;
    this.clock = opts.clock ?? realClock;
    this.#log = opts.log ?? createLogger();
  }

  /** The shared informer of a resource. */
  informerFor<T extends MetaObject = KObject>(resource: ResourceInfo): Informer<T> {
    const key = `${resource.group}/${resource.version}/${resource.resource}`;
    let inf = this.#informers.get(key);
    if (!inf) {
      inf = new Informer<KObject>({
        client: this.client,
        resource,
        namespace: this.#opts.namespace,
        clock: this.clock,
        log: this.#log,
      });
      this.#informers.set(key, inf);
      if (this.#signal) inf.start(this.#signal);
    }
    return inf as unknown as Informer<T>;
  }

  /**
   * The factory's own signal once started: aborts with the caller's. Components sharing the
   * factory listen on it, so the caller's signal carries one listener, not one per component.
   */
  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /** Starts every informer created so far and any created later (idempotent). */
  start(signal: AbortSignal): void {
    if (this.#signal) return;
    // One internal signal for all informers: each adds abort listeners, and dozens of informers
    // on the caller's signal would trip Node's MaxListeners leak warning.
    const inner = new AbortController();
    setMaxListeners(0, inner.signal);
    if (signal.aborted) inner.abort(signal.reason);
    else signal.addEventListener('abort', () => inner.abort(signal.reason), { once: true });
    this.#signal = inner.signal;
    signal = inner.signal;
    for (const inf of this.#informers.values()) inf.start(signal);
  }

  /** Resolves when every informer created so far has synced. */
  async waitForCacheSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(signal)));
  }

  /** Resolves when every informer's loop has stopped after abort. */
  async stopped(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.stopped()));
  }
}
