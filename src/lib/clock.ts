// Injected time: every component takes a Clock so tests can drive time with FakeClock and never sleep.
// Nothing outside this file calls Date.now() or setTimeout directly.

/** A cancellable timer handle returned by Clock.setTimeout. */
export interface Timer {
  cancel(): void;
}

/** Source of time and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs fn after ms milliseconds unless cancelled first. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Resolves after ms milliseconds; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wall clock. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
  sleep(ms, signal) {
    return sleepWith(realClock, ms, signal);
  },
};

/**
 * A manually advanced clock for tests.
 * @example
 * const clock = new FakeClock(0); clock.setTimeout(fn, 10); clock.advance(10); // fn ran
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { cancel: () => this.#timers.delete(id) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Number of timers still pending. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing due timers in order (timers they schedule fire too if due). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
    }
    this.#now = target;
  }
}

/**
 * A clock running `rate` times faster than `base` from the moment it is made: a test knob (`skiff
 * up --cronjob-time-scale`) that lets a real cluster live through cron minutes in seconds. Time
 * never jumps: `now()` starts at the base's now and only runs faster, and a timer of `ms` scaled
 * milliseconds fires after `ms / rate` base milliseconds.
 * @example
 * const fast = scaledClock(realClock, 60); // a `* * * * *` schedule fires every real second
 */
export function scaledClock(base: Clock, rate: number): Clock {
  if (!(rate >= 1) || !Number.isFinite(rate)) {
    throw new RangeError(`Cannot scale a clock by "${rate}": the rate must be a number ≥ 1`);
  }
  const origin = base.now();
  const clock: Clock = {
    now: () => origin + (base.now() - origin) * rate,
    setTimeout: (fn, ms) => base.setTimeout(fn, Math.max(0, ms) / rate),
    sleep: (ms, signal) => sleepWith(clock, ms, signal),
  };
  return clock;
}
