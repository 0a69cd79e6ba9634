// The controller runtime: informer events → keys on a rate-limited workqueue → N workers →
// reconcile(key) → Result (controller-runtime pkg/internal/controller/controller.go reconcileHandler).
import type { EventHandler, Informer, MetaObject } from '../../client/informer.js';
import { objectKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { isConflict } from '../../client/rest.js';
import { WorkQueue } from '../../client/workqueue.js';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage, isAbortError } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import { createLogger, type Logger } from '../../lib/log.js';

/** What a reconcile asks of the queue besides "done" (controller-runtime reconcile.Result). */
export interface Result {
  /** Process the key again after this many milliseconds. */
  requeueAfter?: number;
}

/** An error that retrying cannot fix: logged, not requeued (controller-runtime TerminalError). */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** Reconciles one key; throws to be retried with backoff. */
export type ReconcileFn = (key: string) => Promise<Result | undefined> | Promise<void>;

/** Options of Controller. */
export interface ControllerOptions {
  /** e.g. "replicaset-controller"; also the log component. */
  name: string;
  informers: InformerFactory;
  reconcile: ReconcileFn;
  /** Concurrent workers (upstream --concurrent-*-syncs, default 5). */
  workers?: number;
  clock?: Clock;
  log?: Logger;
}

/** Maps an informer object to the keys to enqueue (none when undefined or empty). */
export type KeyMapper<T> = (obj: T) => string | string[] | undefined;

/**
 * Runs a reconcile function over keys fed by informers. Guarantees:
 * 1. `start()` resolves only after every watched informer has synced; workers start then.
 * 2. A key is reconciled by one worker at a time (workqueue); bursts of events coalesce.
 * 3. Outcomes: success → forget; `requeueAfter` → timed re-add; throw → rate-limited requeue
 *    (5 ms → 1000 s); TerminalError → logged and forgotten; abort errors → dropped quietly.
 * @example
 * const c = new Controller({ name: 'x-controller', informers, reconcile: async (key) => {} });
 * c.watch(informers.informerFor(R.pods), (pod) => ownerKey(pod));
 * await c.start(signal);
 */
export class Controller implements Component {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  readonly log: Logger;
  #opts: ControllerOptions;
  #watched: Informer<MetaObject>[] = [];
  #workers: Promise<void>[] = [];

  constructor(opts: ControllerOptions) {
    this.#opts = opts;
    this.name = opts.name;
    this.queue = new WorkQueue<string>({ clock: opts.clock ?? realClock });
    this.log = (opts.log ?? createLogger()).child({ component: opts.name });
  }

  /** Enqueues the keys `map` returns for every add/update/delete of the informer's objects. */
  watch<T extends MetaObject>(
    informer: Informer<T>,
    map: KeyMapper<T> = objectKey,
    opts: { onUpdate?: (oldObj: T, newObj: T) => string | string[] | undefined } = {},
  ): void {
    this.#watched.push(informer as unknown as Informer<MetaObject>);
    const add = (keys: string | string[] | undefined) => {
      if (keys === undefined) return;
      for (const k of Array.isArray(keys) ? keys : [keys]) this.queue.add(k);
    };
    informer.addEventHandler({
      onAdd: (obj) => add(map(obj)),
      onUpdate: (oldObj, newObj) => {
        if (opts.onUpdate) add(opts.onUpdate(oldObj, newObj));
        else {
          add(map(oldObj));
          add(map(newObj));
        }
      },
      onDelete: (obj) => add(map(obj)),
    });
  }

  /** Registers raw handlers on an informer whose cache start() must wait for (custom mapping). */
  watchWith<T extends MetaObject>(informer: Informer<T>, handler: EventHandler<T>): void {
    this.#watched.push(informer as unknown as Informer<MetaObject>);
    informer.addEventHandler(handler);
  }

  /** Adds keys to the queue; `afterMs` delays them. */
  enqueue(keys: string | string[] | undefined, afterMs = 0): void {
    if (keys === undefined) return;
    for (const k of Array.isArray(keys) ? keys : [keys]) this.queue.addAfter(k, afterMs);
  }

  /** Starts informers, waits for their caches, then starts the workers. */
  async start(signal: AbortSignal): Promise<void> {
    this.#opts.informers.start(signal);
    // Listen on the factory's signal (aborts with ours) to keep listeners off the caller's.
    signal = this.#opts.informers.signal ?? signal;
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    // One abort listener for all caches (not one per informer: Node warns past ten).
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void Promise.all(this.#watched.map((i) => i.waitForSync())).then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    const n = this.#opts.workers ?? 5;
    for (let i = 0; i < n; i++) this.#workers.push(this.#runWorker());
    this.log.info('Controller started', { workers: n });
  }

  /** Resolves once the workers have exited after abort. */
  async stopped(): Promise<void> {
    await Promise.all(this.#workers);
    await this.#opts.informers.stopped();
  }

  async #runWorker(): Promise<void> {
    while (await this.processNextWorkItem()) {
      // keep going until the queue shuts down
    }
  }

  /** Takes one key, reconciles it and applies the outcome; false once the queue shut down. */
  async processNextWorkItem(): Promise<boolean> {
    const key = await this.queue.get();
    if (key === undefined) return false;
    try {
      await this.reconcileHandler(key);
    } finally {
      this.queue.done(key);
    }
    return true;
  }

  /** Reconciles one key and maps the outcome onto the queue (the processSync seam for tests). */
  async reconcileHandler(key: string): Promise<void> {
    try {
      const result = await this.#opts.reconcile(key);
      this.queue.forget(key);
      if (result?.requeueAfter !== undefined && result.requeueAfter >= 0) {
        this.queue.addAfter(key, result.requeueAfter);
      }
    } catch (err) {
      if (isAbortError(err) || this.queue.isShuttingDown) return;
      if (err instanceof TerminalError) {
        this.queue.forget(key);
        this.log.error('Reconcile failed permanently', { key, error: errorMessage(err) });
        return;
      }
      // Conflicts are routine (a stale cache); retry quietly.
      const level = isConflict(err) ? 'debug' : 'warn';
      this.log[level]('Reconcile failed, requeueing', {
        key,
        error: errorMessage(err),
        requeues: this.queue.numRequeues(key),
      });
      this.queue.addRateLimited(key);
    }
  }
}
