// Controller expectations: how many creates/deletes a controller has issued but not yet seen in its
// informer, so a burst is not repeated (kubernetes pkg/controller/controller_utils.go
// ControllerExpectations and UIDTrackingControllerExpectations).
import { type Clock, realClock } from '../../lib/clock.js';

/** Expectations older than this are treated as satisfied (upstream ExpectationsTimeout: 5 min). */
export const expectationsTimeoutMs = 5 * 60 * 1000;

interface Record {
  add: number;
  deletes: Set<string>;
  timestamp: number;
}

/**
 * Tracks pending creations (by count) and deletions (by pod key) per controller key. Guarantees:
 * 1. `satisfiedExpectations(key)` is true when nothing is pending, when no record exists, or when
 *    the record is older than 5 minutes (a lost watch event must not wedge the controller).
 * 2. Observing more events than expected never goes negative.
 */
export class ControllerExpectations {
  #clock: Clock;
  #records = new Map<string, Record>();

  constructor(opts: { clock?: Clock } = {}) {
    this.#clock = opts.clock ?? realClock;
  }

  /** True when the controller may act on its cache for key. */
  satisfiedExpectations(key: string): boolean {
    const r = this.#records.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.deletes.size === 0) return true;
    return this.#clock.now() - r.timestamp > expectationsTimeoutMs;
  }

  /** Records that n creations were issued. */
  expectCreations(key: string, n: number): void {
    this.#records.set(key, { add: n, deletes: new Set(), timestamp: this.#clock.now() });
  }

  /** Records that the pods with these keys are being deleted. */
  expectDeletions(key: string, podKeys: string[]): void {
    this.#records.set(key, { add: 0, deletes: new Set(podKeys), timestamp: this.#clock.now() });
  }

  /** A created object was observed (or its creation failed / was skipped). */
  creationObserved(key: string): void {
    const r = this.#records.get(key);
    if (r && r.add > 0) r.add--;
  }

  /** A deleted object was observed (or its deletion failed with NotFound). */
  deletionObserved(key: string, podKey: string): void {
    this.#records.get(key)?.deletes.delete(podKey);
  }

  /** Drops the record, e.g. when the controller object is deleted. */
  deleteExpectations(key: string): void {
    this.#records.delete(key);
  }

  /** Pending creations and deletions for key (for tests and logs). */
  pending(key: string): { add: number; del: number } {
    const r = this.#records.get(key);
    return { add: r?.add ?? 0, del: r?.deletes.size ?? 0 };
  }
}
