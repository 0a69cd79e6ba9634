// Fan-out of store events to watchers, filtered by key prefix (the kine broadcaster idea, without a
// poller: only this process writes, so backends publish straight from their write calls).

import { createLogger, type Logger } from '../lib/log.js';
import type { StoreEvent, WatchHandle } from './backend.js';

/** Options for a Broadcaster. */
export interface BroadcasterOptions {
  /** Where a throwing watcher callback is reported (default: a store logger). */
  logger?: Logger;
}

interface Subscriber {
  readonly prefix: string;
  readonly afterRevision: number;
  readonly onEvent: (ev: StoreEvent) => void;
  pending: StoreEvent[];
  head: number;
  isClosed: boolean;
}

/**
 * Delivers published events to every subscriber whose prefix matches.
 *
 * Guarantees:
 * 1. Each subscriber sees its backlog first, then live events, in publish (revision) order.
 * 2. Delivery is synchronous with publish/subscribe, except when a callback itself writes to the
 *    store (re-entrancy): the nested event is queued and delivered right after the current one,
 *    so no subscriber ever sees revisions out of order.
 * 3. After close() a subscriber receives nothing more, even events already queued for it.
 * 4. A throwing callback is logged; it does not affect other subscribers or the writer.
 */
export class Broadcaster {
  #subscribers = new Set<Subscriber>();
  #isDraining = false;
  #log: Logger;

  constructor(options: BroadcasterOptions = {}) {
    this.#log = options.logger ?? createLogger({ component: 'store' });
  }

  /** Number of open subscriptions. */
  get size(): number {
    return this.#subscribers.size;
  }

  /**
   * Subscribes to events under prefix with revision > afterRevision; backlog (already filtered,
   * in order) is delivered before any live event.
   */
  subscribe(opts: {
    prefix: string;
    afterRevision: number;
    backlog: StoreEvent[];
    onEvent: (ev: StoreEvent) => void;
  }): WatchHandle {
    const sub: Subscriber = {
      prefix: opts.prefix,
      afterRevision: opts.afterRevision,
      onEvent: opts.onEvent,
      pending: opts.backlog.slice(),
      head: 0,
      isClosed: false,
    };
    this.#subscribers.add(sub);
    this.#drain();
    return {
      close: () => {
        sub.isClosed = true;
        sub.pending = [];
        sub.head = 0;
        this.#subscribers.delete(sub);
      },
    };
  }

  /** Queues ev for every matching subscriber and delivers it. */
  publish(ev: StoreEvent): void {
    for (const sub of this.#subscribers) {
      if (ev.kv.modRevision > sub.afterRevision && ev.kv.key.startsWith(sub.prefix)) {
        sub.pending.push(ev);
      }
    }
    this.#drain();
  }

  /** Closes every subscription (the backend is closing). */
  closeAll(): void {
    for (const sub of this.#subscribers) {
      sub.isClosed = true;
      sub.pending = [];
    }
    this.#subscribers.clear();
  }

  #drain(): void {
    // A callback that writes to the store re-enters publish(); the outer loop delivers the queued
    // event after the current one, which keeps per-subscriber order intact.
    if (this.#isDraining) return;
    this.#isDraining = true;
    try {
      let hasMore = true;
      while (hasMore) {
        hasMore = false;
        for (const sub of this.#subscribers) {
          while (!sub.isClosed && sub.head < sub.pending.length) {
            const ev = sub.pending[sub.head++]!;
            this.#deliver(sub, ev);
          }
          sub.pending = [];
          sub.head = 0;
        }
        for (const sub of this.#subscribers) {
          if (sub.pending.length > 0) hasMore = true;
        }
      }
    } finally {
      this.#isDraining = false;
    }
  }

  #deliver(sub: Subscriber, ev: StoreEvent): void {
    try {
      sub.onEvent(ev);
    } catch (err) {
      this.#log.error('Watch callback failed', { key: ev.kv.key, err });
    }
  }
}
