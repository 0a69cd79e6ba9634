// A list+watch informer with a namespace-indexed cache and lister (client-go tools/cache reflector.go
// + shared_informer.go; relist on 410 as kubernetes-client/javascript src/cache.ts).

import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { type Labels, matchesSelector, parseSelector, type Selector } from '../api/labels.js';
import type { ResourceInfo } from '../api/resources.js';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage, isAbortError } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { isGone, type KObject, type KubeClient } from './rest.js';

/** Anything with object metadata: KObject or a typed kubernetes-types object such as Pod. */
export interface MetaObject {
  metadata?: ObjectMeta;
}

/** Event callbacks of an informer; objects are cache entries and must not be mutated. */
export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** Receives the last known state of the deleted object. */
  onDelete?(obj: T): void;
}

/** The cache key of an object: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

/** Splits a key made by objectKey into namespace ('' when cluster-scoped) and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Read access to an informer's cache (client-go Lister). Returned objects must not be mutated. */
export interface Lister<T> {
  /** Objects in a namespace (all namespaces when undefined), optionally filtered by labels. */
  list(namespace?: string, selector?: Selector | string): T[];
  get(namespace: string | undefined, name: string): T | undefined;
  getByKey(key: string): T | undefined;
}

/** Options of Informer. */
export interface InformerOptions {
  client: KubeClient;
  resource: ResourceInfo;
  /** Restricts to one namespace. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  clock?: Clock;
  log?: Logger;
  /** Watch backoff bounds in ms (client-go reflector: 800 ms → 30 s). */
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * Keeps a local cache of one resource in sync with the API server. Guarantees:
 * 1. The first list fills the cache before `hasSynced()` becomes true.
 * 2. Watches resume from the last seen resourceVersion; a 410 (or an ERROR event) forces a relist,
 *    whose result is diffed against the cache so handlers see adds, updates and deletes.
 * 3. Failures are retried with capped exponential backoff on the injected clock.
 * 4. Handlers run synchronously in event order; a throwing handler is logged, never fatal.
 * @example
 * const pods = new Informer<Pod>({ client, resource: R.pods });
 * pods.addEventHandler({ onAdd: (p) => queue.add(objectKey(p)) });
 * pods.start(signal); await pods.waitForSync(signal);
 * pods.lister.list('default', 'app=web');
 */
export class Informer<T extends MetaObject = KObject> {
  readonly resource: ResourceInfo;
  readonly lister: Lister<T>;
  #opts: InformerOptions;
  #clock: Clock;
  #log: Logger;
  #items = new Map<string, T>();
  #byNamespace = new Map<string, Set<string>>();
  #handlers: EventHandler<T>[] = [];
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #resourceVersion = '';
  #started = false;
  #done: Promise<void> = Promise.resolve();

  constructor(opts: InformerOptions) {
    this.#opts = opts;
    this.resource = opts.resource;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.log ?? createLogger()).child({
      component: 'informer',
      resource: opts.resource.resource,
    });
    this.lister = {
      list: (namespace, selector) => this.#list(namespace, selector),
      get: (namespace, name) => this.#items.get(namespace ? `${namespace}/${name}` : name),
      getByKey: (key) => this.#items.get(key),
    };
  }

  /** Registers handlers; objects already cached are replayed as adds (as client-go does). */
  addEventHandler(handler: EventHandler<T>): void {
    this.#handlers.push(handler);
    for (const obj of this.#items.values()) this.#call(handler, 'onAdd', obj);
  }

  /** True once the first list has been stored. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** The resourceVersion of the last list or event seen. */
  get lastSyncResourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Resolves once synced; rejects when the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Starts the list/watch loop in the background until the signal aborts (idempotent). */
  start(signal: AbortSignal): void {
    if (this.#started) return;
    this.#started = true;
    this.#done = this.#run(signal);
  }

  /** Resolves when the loop has stopped after abort. */
  stopped(): Promise<void> {
    return this.#done;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { initialMs, maxMs } = this.#opts.backoff ?? { initialMs: 800, maxMs: 30_000 };
    let delay = initialMs;
    let needList = true;
    let relistsInARow = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#relist(signal);
          needList = false;
        }
        const sawEvents = await this.#watch(signal);
        // A clean stream end (server timeout) resumes from the last resourceVersion.
        if (sawEvents) {
          delay = initialMs;
          relistsInARow = 0;
        }
        continue;
      } catch (err) {
        if (signal.aborted || isAbortError(err)) break;
        if (isRelistError(err)) {
          // Our resourceVersion was compacted away: only a fresh list can resync the cache. Relist
          // at once, but back off if the server keeps refusing fresh resourceVersions.
          this.#log.debug('Watch expired, relisting', { error: errorMessage(err) });
          needList = true;
          if (++relistsInARow < 3) continue;
        } else {
          this.#log.warn('List/watch failed', { error: errorMessage(err), retryMs: delay });
          needList = needList || !this.#resourceVersion;
        }
      }
      try {
        await this.#clock.sleep(delay, signal);
      } catch {
        break; // aborted while backing off
      }
      delay = Math.min(delay * 2, maxMs);
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const { client, resource, namespace, labelSelector, fieldSelector } = this.#opts;
    if (signal.aborted) return;
    const list = await client.list<T>(resource, { namespace, labelSelector, fieldSelector });
    this.#replace(list.items, list.metadata.resourceVersion ?? '');
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  /** Watches from the current resourceVersion; resolves true when any event arrived. */
  async #watch(signal: AbortSignal): Promise<boolean> {
    const { client, resource, namespace, labelSelector, fieldSelector } = this.#opts;
    let saw = false;
    let failure: WatchErrorEvent | undefined;
    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.watch<T>(
        resource,
        {
          namespace,
          labelSelector,
          fieldSelector,
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          // Spread reconnects like client-go (5–10 minutes) so watchers do not reconnect in step.
          timeoutSeconds: 300 + (Math.floor(this.#clock.now() / 1000) % 300),
          signal: ctrl.signal,
        },
        (ev) => {
          if (failure) return;
          saw = true;
          if (ev.type === 'ERROR') {
            // The apiserver closes the stream right after an ERROR event; events after it (none
            // expected) are ignored. Aborting here would race the response's own end.
            failure = new WatchErrorEvent(ev.object as unknown as KObject);
            return;
          }
          const rv = ev.object.metadata?.resourceVersion;
          if (rv) this.#resourceVersion = rv;
          if (ev.type === 'BOOKMARK') return;
          if (ev.type === 'DELETED') this.#remove(ev.object);
          else this.#upsert(ev.object);
        },
      );
    } catch (err) {
      if (!failure) throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (failure) throw failure;
    return saw;
  }

  #replace(items: T[], resourceVersion: string): void {
    const seen = new Set<string>();
    for (const obj of items) {
      seen.add(objectKey(obj));
      this.#upsert(obj);
    }
    for (const [key, obj] of [...this.#items]) {
      if (!seen.has(key)) this.#remove(obj);
    }
    this.#resourceVersion = resourceVersion;
  }

  #upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.#items.get(key);
    this.#items.set(key, obj);
    const ns = obj.metadata?.namespace ?? '';
    const set = this.#byNamespace.get(ns);
    if (set) set.add(key);
    else this.#byNamespace.set(ns, new Set([key]));
    if (!old) {
      for (const h of this.#handlers) this.#call(h, 'onAdd', obj);
    } else {
      // Like client-go, a relist reports every surviving object as an update (a resync).
      for (const h of this.#handlers) this.#callUpdate(h, old, obj);
    }
  }

  #remove(obj: T): void {
    const key = objectKey(obj);
    const last = this.#items.get(key) ?? obj;
    if (!this.#items.delete(key)) return;
    this.#byNamespace.get(obj.metadata?.namespace ?? '')?.delete(key);
    for (const h of this.#handlers) this.#call(h, 'onDelete', last);
  }

  #list(namespace: string | undefined, selector: Selector | string | undefined): T[] {
    const out: T[] = [];
    // Parse a string selector once, not once per object.
    const sel = typeof selector === 'string' ? parseSelector(selector) : selector;
    const keys =
      namespace === undefined ? this.#items.keys() : (this.#byNamespace.get(namespace) ?? []);
    for (const key of keys) {
      const obj = this.#items.get(key);
      if (!obj) continue;
      if (sel !== undefined && !matchesSelector(sel, obj.metadata?.labels as Labels)) {
        continue;
      }
      out.push(obj);
    }
    return out;
  }

  #call(h: EventHandler<T>, which: 'onAdd' | 'onDelete', obj: T): void {
    try {
      h[which]?.(obj);
    } catch (err) {
      this.#log.error('Event handler failed', { error: errorMessage(err), handler: which });
    }
  }

  #callUpdate(h: EventHandler<T>, old: T, obj: T): void {
    try {
      h.onUpdate?.(old, obj);
    } catch (err) {
      this.#log.error('Event handler failed', { error: errorMessage(err), handler: 'onUpdate' });
    }
  }
}

/** A watch ERROR event (usually 410 Expired), which ends the watch and forces a relist. */
export class WatchErrorEvent extends Error {
  constructor(readonly status: KObject) {
    super(String((status as { message?: unknown }).message ?? 'watch error event'));
    this.name = 'WatchErrorEvent';
  }
}

/** True when err means the informer must relist (410 answer or ERROR event). */
export function isRelistError(err: unknown): boolean {
  return isGone(err) || err instanceof WatchErrorEvent;
}
