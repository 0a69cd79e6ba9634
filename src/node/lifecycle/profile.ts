// A pod's start-up profile: one debug record per step with the milliseconds since the worker
// started (or since the last container exit, for restarts), to see where start-up time goes.
import type { Logger } from '../../lib/log.js';

/** Debug records of a pod's start and restarts. */
export class StartProfile {
  #log: Logger;
  #key: string;
  #t0 = performance.now();
  #phase: 'start' | 'restart' = 'start';

  constructor(opts: { log: Logger; key: string }) {
    this.#log = opts.log;
    this.#key = opts.key;
  }

  /** Records a step. */
  mark(step: string): void {
    this.#log.debug('pod start step', {
      key: this.#key,
      step: `${this.#phase}: ${step}`,
      ms: Math.round((performance.now() - this.#t0) * 10) / 10,
    });
  }

  /** A container exited: the clock of the marks starts over for its restart. */
  restart(): void {
    this.#phase = 'restart';
    this.#t0 = performance.now();
  }
}
