// An EventRecorder writing core/v1 Events with client-go's correlation: similar events combined,
// repeats counted, per-object spam filtered (client-go tools/record event.go + events_cache.go).

import type { Event, ObjectReference } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../api/time.js';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { R } from './resources.js';
import { isNotFound, type KObject, type KubeClient } from './rest.js';

/** Event type: Normal or Warning. */
export type EventType = 'Normal' | 'Warning';

/** Options of EventRecorder. */
export interface EventRecorderOptions {
  client: KubeClient;
  /** source.component and reportingComponent, e.g. "deployment-controller". */
  component: string;
  /** source.host, e.g. the node name for the kubelet. */
  host?: string;
  clock?: Clock;
  log?: Logger;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  /** When it was last written (clock ms), for pruning. */
  last: number;
}

// Forget aggregation state beyond this many distinct events (client-go's LRU is 4096).
const maxCache = 4096;
// An Event not written for this long has expired from the API (its TTL is an hour): its entry
// would only meet NotFound.
const seenTtlMs = 3_600_000;
// How often the caches drop entries that can no longer change an outcome (a soak showed them
// filling to their caps over hours of pod churn: one entry per pod name, never revisited).
const pruneEveryMs = 60_000;
// More than this many events differing only by message within the interval are combined
// (client-go defaultAggregateMaxEvents / defaultAggregateIntervalInSeconds).
const aggregateMaxEvents = 10;
const aggregateIntervalMs = 600_000;
// Per source+object token bucket: a burst of 25, then one event per 5 minutes
// (client-go defaultSpamBurst / defaultSpamQPS).
const spamBurst = 25;
const spamRefillMs = 300_000;

/**
 * Records Events about objects. Guarantees:
 * 1. Events about one object are written in call order, so `describe` shows them chronologically.
 * 2. An identical event (same object, type, reason, message) is aggregated: the existing Event's
 *    count and lastTimestamp are bumped instead of creating a new object.
 * 3. From the 10th distinct message with the same object, type and reason within 10 minutes, the
 *    events are combined into one "(combined from similar events): …" Event.
 * 4. Each object gets at most 25 writes in a burst, then one per 5 minutes; the rest are dropped
 *    (upstream's spam filter), so a burst of pod creations cannot flood the API server.
 * 5. Write failures are logged, never thrown to the caller.
 * @example
 * const rec = new EventRecorder({ client, component: 'replicaset-controller' });
 * rec.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
 * await rec.flush(); // in tests
 */
export class EventRecorder {
  #client: KubeClient;
  #component: string;
  #host: string | undefined;
  #clock: Clock;
  #log: Logger;
  #seen = new Map<string, Seen>();
  #chains = new Map<string, Promise<void>>();
  #pending = new Set<Promise<void>>();
  #lastNanos = 0n;
  #similar = new Map<string, { messages: Set<string>; last: number }>();
  #buckets = new Map<string, { tokens: number; at: number }>();
  #prunedAt = 0;

  constructor(opts: EventRecorderOptions) {
    this.#client = opts.client;
    this.#component = opts.component;
    this.#host = opts.host;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.log ?? createLogger()).child({ component: opts.component });
  }

  /** Records an event about obj (asynchronously; see flush). */
  event(obj: KObject, type: EventType, reason: string, text: string): void {
    const ref = referenceTo(obj);
    const now = this.#clock.now();
    if (now - this.#prunedAt >= pruneEveryMs) this.#prune(now);
    const { message, key } = this.#aggregate(ref, type, reason, text, now);
    if (!this.#allow(ref, now)) return;
    // Writes about one object are chained (in order, and so repeats aggregate); writes about
    // different objects overlap, so a burst of pods does not queue behind one slow chain.
    const objKey = `${ref.kind}/${ref.namespace}/${ref.name}`;
    const prev = this.#chains.get(objKey) ?? Promise.resolve();
    const next = prev.then(() => this.#write(ref, type, reason, message, key, now));
    this.#chains.set(objKey, next);
    this.#pending.add(next);
    void next.then(() => {
      this.#pending.delete(next);
      if (this.#chains.get(objKey) === next) this.#chains.delete(objKey);
    });
  }

  /**
   * Drops what cannot change an outcome any more: Events past their TTL, similar-message records
   * past the aggregation interval, and spam buckets refilled to full (the same as no bucket).
   */
  #prune(now: number): void {
    this.#prunedAt = now;
    for (const [k, v] of this.#seen) if (now - v.last > seenTtlMs) this.#seen.delete(k);
    for (const [k, v] of this.#similar)
      if (now - v.last > aggregateIntervalMs) this.#similar.delete(k);
    for (const [k, b] of this.#buckets)
      if (now - b.at >= (spamBurst - b.tokens) * spamRefillMs) this.#buckets.delete(k);
  }

  /** Number of entries in the recorder's caches (tests). */
  get cacheSize(): number {
    return this.#seen.size + this.#similar.size + this.#buckets.size;
  }

  /** Resolves once every event recorded so far has been written (or has failed). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  // Upstream EventAggregate: the message to write and the key that identifies its Event.
  #aggregate(ref: ObjectReference, type: EventType, reason: string, message: string, now: number) {
    const base = [ref.kind, ref.namespace, ref.name, ref.uid, type, reason].join('\u0000');
    let rec = this.#similar.get(base);
    if (!rec || now - rec.last > aggregateIntervalMs) {
      if (this.#similar.size >= maxCache) this.#similar.clear();
      rec = { messages: new Set(), last: now };
      this.#similar.set(base, rec);
    }
    rec.last = now;
    rec.messages.add(message);
    if (rec.messages.size < aggregateMaxEvents) return { message, key: `${base}\u0000${message}` };
    return { message: `(combined from similar events): ${message}`, key: base };
  }

  // Upstream EventSourceObjectSpamFilter: one token bucket per source + object.
  #allow(ref: ObjectReference, now: number): boolean {
    const key = [ref.kind, ref.namespace, ref.name, ref.uid].join('\u0000');
    const b = this.#buckets.get(key) ?? { tokens: spamBurst, at: now };
    const refill = Math.floor((now - b.at) / spamRefillMs);
    if (refill > 0) {
      b.tokens = Math.min(spamBurst, b.tokens + refill);
      b.at += refill * spamRefillMs;
    }
    if (b.tokens === spamBurst) b.at = now;
    if (this.#buckets.size >= maxCache && !this.#buckets.has(key)) this.#buckets.clear();
    this.#buckets.set(key, b);
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  async #write(
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
    aggKey: string,
    now: number,
  ): Promise<void> {
    const namespace = ref.namespace || 'default';
    const ts = rfc3339(now);
    const seen = this.#seen.get(aggKey);
    try {
      if (seen) {
        seen.count++;
        seen.last = now;
        try {
          await this.#client.patch(
            R.events,
            seen.namespace,
            seen.name,
            { count: seen.count, lastTimestamp: ts, message },
            { type: 'merge' },
          );
          return;
        } catch (err) {
          // The Event expired or was deleted: fall through and create a fresh one.
          if (!isNotFound(err)) throw err;
          this.#seen.delete(aggKey);
        }
      }
      // Upstream names events "<object>.<unix nanos in hex>"; keep them unique within a ms.
      // BigInt: ms × 1e6 exceeds 2^53, where a float "+ 1" is lost and names would collide.
      const candidate = BigInt(Math.floor(now)) * 1_000_000n;
      const nanos = candidate > this.#lastNanos ? candidate : this.#lastNanos + 1n;
      this.#lastNanos = nanos;
      const ev: Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${ref.name}.${nanos.toString(16)}`, namespace },
        involvedObject: ref,
        reason,
        message,
        type,
        source: { component: this.#component, ...(this.#host ? { host: this.#host } : {}) },
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
        reportingComponent: this.#component,
        reportingInstance: this.#host ?? '',
      };
      const created = await this.#client.create<Event>(R.events, ev, { namespace });
      if (this.#seen.size >= maxCache) this.#seen.clear();
      this.#seen.set(aggKey, {
        name: created.metadata?.name ?? ev.metadata!.name!,
        namespace,
        count: 1,
        firstTimestamp: ts,
        last: now,
      });
    } catch (err) {
      this.#log.warn('Cannot record event', {
        error: errorMessage(err),
        reason,
        kind: ref.kind,
        namespace: ref.namespace,
        name: ref.name,
      });
    }
  }
}

/** Builds the ObjectReference of an object (upstream reference.GetReference). */
export function referenceTo(obj: KObject): ObjectReference {
  const meta = obj.metadata ?? {};
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: meta.namespace,
    name: meta.name,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
  };
}
