// Keeps skiff up's memory flat over days (issue #18). Under steady pod churn V8 lets the old
// generation grow by a step proportional to the live heap before its next full collection, and
// grows that step when collections are cheap: a 2-hour soak showed RSS rising ~13–17 MB between
// collections and falling back after each (a sawtooth, not a leak: a forced collection took RSS
// from 174 to 157 MB). This looks at the old generation every few seconds and runs a full
// collection itself once it holds more than `growthBytes` over what the last collection left,
// which bounds the sawtooth to about that much. A collection of skiff up's ~20 MB heap costs tens
// of milliseconds, and churn brings one every few minutes at most; an idle cluster never
// triggers one (no growth).
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock, Timer } from './clock.js';

/** Options of startHeapTrim. */
export interface HeapTrimOptions {
  clock: Clock;
  /** Growth of the old generation over the last collection's result that triggers one. */
  growthBytes: number;
  /** How often the heap is looked at. */
  everyMs: number;
  /** Runs a full collection. */
  collect: () => void;
  /** Bytes used outside the young generation (default: V8's heap space statistics). */
  oldBytes?: () => number;
  /** Told of each collection this ran. */
  onCollect?: (c: { beforeBytes: number; afterBytes: number; ms: number }) => void;
}

/** Bytes in use in every V8 heap space but the young generation's. */
export function oldGenerationBytes(): number {
  let used = 0;
  for (const s of getHeapSpaceStatistics())
    if (s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space')
      used += s.space_used_size;
  return used;
}

/** Starts the periodic check; returns the function that stops it. */
export function startHeapTrim(o: HeapTrimOptions): () => void {
  const read = o.oldBytes ?? oldGenerationBytes;
  // The smallest size seen since the last collection this ran: V8's own collections lower it too.
  let floor = read();
  let timer: Timer | undefined;
  const tick = () => {
    const used = read();
    floor = Math.min(floor, used);
    if (used - floor > o.growthBytes) {
      const t0 = o.clock.now();
      o.collect();
      const after = read();
      o.onCollect?.({ beforeBytes: used, afterBytes: after, ms: o.clock.now() - t0 });
      floor = after;
    }
    timer = o.clock.setTimeout(tick, o.everyMs);
  };
  timer = o.clock.setTimeout(tick, o.everyMs);
  return () => timer?.cancel();
}

/**
 * V8's full collection: `gc` when node runs with --expose-gc, else exposed now. V8 reads the flag
 * when it sets up a new context, so a fresh context hands the function out (Node's documented way;
 * the main context's globals stay as they are).
 */
export function fullCollection(): () => void {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as () => void;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
