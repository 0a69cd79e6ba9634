// Events expire a while after their last write, as kube-apiserver's --event-ttl (default 1h) makes
// them: it attaches an etcd lease to every Event write, and etcd deletes the key when the lease
// runs out (watchers see the delete). Without it every pod ever started leaves its Events in the
// store and in every Event informer for good: a week of pod churn is a million Events.
import { type Clock, realClock, type Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { type Backend, ConflictError, KeyNotFoundError, type WatchHandle } from './backend.js';

/** Where Events are stored (both core/v1 and events.k8s.io/v1 Events are stored as core ones). */
export const eventPrefix = '/registry/core/events/';

/** kube-apiserver's default --event-ttl. */
export const defaultEventTtlMs = 3_600_000;

/** Options of startEventExpiry. */
export interface EventExpiryOptions {
  ttlMs?: number;
  /** How often expired Events are deleted (etcd's lease reuse makes upstream's TTL as coarse). */
  sweepEveryMs?: number;
  /** Most deletes per sweep; the rest follow a second later (a data dir from before Events
   * expired may hold a week of them, and each delete is a write and a watch event). */
  maxDeletesPerSweep?: number;
  clock?: Clock;
  logger?: Logger;
}

/**
 * When an Event stored before this process started was last written: the newest of the times it
 * carries (a repeat bumps lastTimestamp or series.lastObservedTime). The lease of that write is not
 * stored, so this is the closest the TTL can follow it across a restart.
 */
export function lastWriteMs(value: string): number | undefined {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const meta = (obj['metadata'] ?? {}) as Record<string, unknown>;
  const series = (obj['series'] ?? {}) as Record<string, unknown>;
  const times = [
    obj['lastTimestamp'],
    obj['eventTime'],
    series['lastObservedTime'],
    meta['creationTimestamp'],
  ]
    .map((t) => (typeof t === 'string' ? Date.parse(t) : Number.NaN))
    .filter((t) => !Number.isNaN(t));
  return times.length ? Math.max(...times) : undefined;
}

/**
 * Deletes each Event ttlMs after its last write. Guarantees:
 * 1. An Event written (created or updated) at t is deleted between t + ttl and t + ttl + sweep.
 * 2. An Event updated while its deletion is decided is kept (the delete compares revisions).
 * 3. Events already stored get their TTL from their own timestamps, never more than ttl from now.
 * 4. The deletes go through the store, so watchers and informers see DELETED.
 * 5. At most maxDeletesPerSweep deletes run at once, so a backlog cannot stall the event loop.
 * Returns a stop function.
 * @example
 * const stop = startEventExpiry(backend, { ttlMs: 3_600_000 });
 */
export function startEventExpiry(backend: Backend, opts: EventExpiryOptions = {}): () => void {
  const clock = opts.clock ?? realClock;
  const ttlMs = opts.ttlMs ?? defaultEventTtlMs;
  const sweepEveryMs = opts.sweepEveryMs ?? Math.min(60_000, Math.max(1000, ttlMs / 10));
  const maxDeletes = opts.maxDeletesPerSweep ?? 500;
  const log = opts.logger ?? createLogger({ component: 'event-ttl' });
  // Key → when it expires and the revision that expiry belongs to.
  const expiry = new Map<string, { at: number; rev: number }>();

  const now = clock.now();
  const { revision, items } = backend.list(eventPrefix);
  for (const kv of items) {
    const written = Math.min(lastWriteMs(kv.value) ?? now, now);
    expiry.set(kv.key, { at: written + ttlMs, rev: kv.modRevision });
  }
  const watch: WatchHandle = backend.watch(eventPrefix, revision, (ev) => {
    if (ev.type === 'delete') expiry.delete(ev.kv.key);
    else expiry.set(ev.kv.key, { at: clock.now() + ttlMs, rev: ev.kv.modRevision });
  });

  let timer: Timer | undefined;
  const sweep = () => {
    const t = clock.now();
    let deleted = 0;
    let more = false;
    for (const [key, e] of expiry) {
      if (e.at > t) continue;
      if (deleted >= maxDeletes) {
        more = true;
        break;
      }
      try {
        backend.delete(key, e.rev);
        deleted++;
      } catch (err) {
        // Rewritten since (the watch has set its new expiry) or already gone.
        if (err instanceof ConflictError) continue;
        if (err instanceof KeyNotFoundError) expiry.delete(key);
        else log.error('Cannot delete expired event', { key, err: errorMessage(err) });
      }
    }
    if (deleted > 0) log.debug('Deleted expired events', { count: deleted });
    timer = clock.setTimeout(sweep, more ? Math.min(1000, sweepEveryMs) : sweepEveryMs);
  };
  timer = clock.setTimeout(sweep, sweepEveryMs);
  return () => {
    timer?.cancel();
    watch.close();
  };
}
