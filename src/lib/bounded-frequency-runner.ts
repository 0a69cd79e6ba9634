// A runner that coalesces bursts of requests into bounded-rate calls of one function; follows
// kubernetes pkg/util/async/bounded_frequency_runner.go (used by kube-proxy for rule syncs).
import { type Clock, realClock, type Timer } from './clock.js';

/** Options of BoundedFrequencyRunner. */
export interface BoundedFrequencyRunnerOptions {
  /** The work; a rejected promise is reported to onError and retried at the next run. */
  fn: () => void | Promise<void>;
  /** Minimum time between two runs (bursts inside it coalesce into one run). */
  minIntervalMs: number;
  /** Maximum time between two runs (a periodic resync); 0 disables it. */
  maxIntervalMs: number;
  clock?: Clock;
  onError?: (err: unknown) => void;
}

/**
 * Runs `fn` on request, at most once per minInterval and at least once per maxInterval.
 * Guarantees:
 * 1. Never two runs at once: a request during a run schedules exactly one run after it.
 * 2. A request when the last run ended more than minInterval ago runs at once (synchronously).
 * 3. Requests inside minInterval coalesce into one run when the interval ends.
 * 4. After stop() nothing runs again.
 * @example
 * const r = new BoundedFrequencyRunner({ fn: sync, minIntervalMs: 100, maxIntervalMs: 30_000 });
 * r.start(); r.run(); r.run(); // one sync
 */
export class BoundedFrequencyRunner {
  #opts: BoundedFrequencyRunnerOptions;
  #clock: Clock;
  #lastRun = Number.NEGATIVE_INFINITY;
  #running = false;
  #pending = false;
  #timer: Timer | undefined;
  #periodic: Timer | undefined;
  #stopped = true;
  #idle: Promise<void> = Promise.resolve();

  constructor(opts: BoundedFrequencyRunnerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** Enables runs and arms the periodic resync. */
  start(): void {
    this.#stopped = false;
    this.#armPeriodic();
  }

  /** Stops for good; resolves when a run in progress has finished. */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#periodic?.cancel();
    return this.#idle;
  }

  /** Requests a run as soon as the minimum interval allows. */
  run(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#pending = true;
      return;
    }
    if (this.#timer) return;
    const wait = this.#lastRun + this.#opts.minIntervalMs - this.#clock.now();
    if (wait <= 0) {
      this.#idle = this.#exec();
      return;
    }
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.run();
    }, wait);
  }

  /** Resolves when no run is in progress. */
  idle(): Promise<void> {
    return this.#idle;
  }

  async #exec(): Promise<void> {
    this.#running = true;
    this.#lastRun = this.#clock.now();
    try {
      await this.#opts.fn();
    } catch (err) {
      this.#opts.onError?.(err);
    } finally {
      this.#running = false;
      this.#armPeriodic();
    }
    if (this.#pending) {
      this.#pending = false;
      this.run();
    }
  }

  #armPeriodic(): void {
    this.#periodic?.cancel();
    if (this.#stopped || this.#opts.maxIntervalMs <= 0) return;
    this.#periodic = this.#clock.setTimeout(() => this.run(), this.#opts.maxIntervalMs);
  }
}
