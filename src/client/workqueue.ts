// A rate-limited work queue with client-go semantics (util/workqueue queue.go, delaying_queue.go,
// default_rate_limiters.go): dirty + processing sets, per-item dedup, one worker per item at a time.
import { type Clock, realClock, type Timer } from '../lib/clock.js';

/** Decides how long an item waits before being retried (client-go workqueue.RateLimiter). */
export interface RateLimiter<T> {
  /** Delay before the item's next retry; each call counts as one more failure. */
  when(item: T): number;
  /** Clears the item's failure history. */
  forget(item: T): void;
  /** Failures recorded for the item. */
  numRequeues(item: T): number;
}

/**
 * Per-item exponential backoff: base·2^failures, capped (client-go
 * ItemExponentialFailureRateLimiter; controllers default to 5 ms → 1000 s).
 */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  #failures = new Map<T, number>();
  #baseMs: number;
  #maxMs: number;

  constructor(opts: { baseMs?: number; maxMs?: number } = {}) {
    this.#baseMs = opts.baseMs ?? 5;
    this.#maxMs = opts.maxMs ?? 1_000_000;
  }

  when(item: T): number {
    const n = this.#failures.get(item) ?? 0;
    this.#failures.set(item, n + 1);
    // 2^n overflows to Infinity for large n; the cap keeps the result finite.
    return Math.min(this.#baseMs * 2 ** n, this.#maxMs);
  }

  forget(item: T): void {
    this.#failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.#failures.get(item) ?? 0;
  }
}

/** Options of WorkQueue. */
export interface WorkQueueOptions<T> {
  clock?: Clock;
  rateLimiter?: RateLimiter<T>;
}

/**
 * A work queue for controllers. Guarantees:
 * 1. An item added several times before it is processed is processed once (dedup via `dirty`).
 * 2. An item is never handed to two workers at once: adding it while it is processing marks it
 *    dirty, and it is re-queued when `done(item)` is called.
 * 3. Items are handed out in FIFO order of their (first) addition.
 * 4. `addAfter` keeps only the earliest pending time per item; timers run on the injected clock.
 * 5. After `shutDown()`, adds are ignored and `get()` resolves `undefined` once the queue drains.
 * @example
 * const q = new WorkQueue<string>();
 * q.add('default/web');
 * const key = await q.get(); // 'default/web'
 * try { await sync(key); q.forget(key); } catch { q.addRateLimited(key); } finally { q.done(key); }
 */
export class WorkQueue<T = string> {
  #clock: Clock;
  #limiter: RateLimiter<T>;
  #queue: T[] = [];
  #dirty = new Set<T>();
  #processing = new Set<T>();
  #waiting = new Map<T, { at: number; timer: Timer }>();
  #getters: ((item: T | undefined) => void)[] = [];
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions<T> = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#limiter = opts.rateLimiter ?? new ItemExponentialFailureRateLimiter<T>();
  }

  /** Items ready to be handed out (not counting processing or delayed ones). */
  get length(): number {
    return this.#queue.length;
  }

  /** Items waiting for an `addAfter`/`addRateLimited` delay. */
  get waitingCount(): number {
    return this.#waiting.size;
  }

  /** True once `shutDown()` was called. */
  get isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Marks an item as needing processing. */
  add(item: T): void {
    if (this.#shuttingDown || this.#dirty.has(item)) return;
    this.#dirty.add(item);
    // Processing items are re-queued by done(); queueing now would hand it to a second worker.
    if (this.#processing.has(item)) return;
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(item);
      this.#processing.add(item);
      getter(item);
      return;
    }
    this.#queue.push(item);
  }

  /** Adds the item after `ms` milliseconds (immediately when ms <= 0). */
  addAfter(item: T, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(item);
      return;
    }
    const at = this.#clock.now() + ms;
    const existing = this.#waiting.get(item);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(item);
      this.add(item);
    }, ms);
    this.#waiting.set(item, { at, timer });
  }

  /** Adds the item after the rate limiter's backoff for it. */
  addRateLimited(item: T): void {
    this.addAfter(item, this.#limiter.when(item));
  }

  /** Stops tracking the item's failures (call after a successful sync). */
  forget(item: T): void {
    this.#limiter.forget(item);
  }

  /** How many times the item was rate-limited since the last forget. */
  numRequeues(item: T): number {
    return this.#limiter.numRequeues(item);
  }

  /** Waits for the next item; resolves `undefined` when the queue is shut down and drained. */
  get(): Promise<T | undefined> {
    const item = this.#queue.shift();
    if (item !== undefined) {
      this.#dirty.delete(item);
      this.#processing.add(item);
      return Promise.resolve(item);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks the item as processed; re-queues it when it was added again meanwhile. */
  done(item: T): void {
    this.#processing.delete(item);
    if (this.#dirty.has(item)) {
      this.#dirty.delete(item);
      this.add(item);
    }
  }

  /** Stops accepting items, cancels delayed adds and releases idle getters. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const w of this.#waiting.values()) w.timer.cancel();
    this.#waiting.clear();
    for (const g of this.#getters.splice(0)) g(undefined);
  }
}
