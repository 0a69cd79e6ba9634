// Warm sandbox parts for new pods: shims already started (through the reaper, which this pool
// holds) and, with pod networking, spare network namespaces with their veth in the bridge. A pod
// start then costs only its own mounts and addresses; the `ip` process and the interpreter start
// are off its critical path.
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { SpareNetns } from '../network/pod-network.js';
import { ShimReaper } from './reaper.js';
import { launchSandbox, type PendingSandbox } from './sandbox.js';

/** Where spare namespaces come from (PodNetwork). */
export interface SpareNetnsSource {
  makeSpare(): Promise<SpareNetns>;
  discardSpare(spare: SpareNetns): Promise<void>;
  /** Checks that a spare still exists as made (never trust one blindly: issue 12). */
  isSpareUsable(spare: SpareNetns): boolean;
}

interface NetnsSlot {
  made: Promise<SpareNetns | undefined>;
  value?: SpareNetns;
}

/**
 * The node's sandbox pool: holds the shim reaper (every shim is its child) and keeps `size` warm
 * shims and spare namespaces. Taken parts are replaced once the pod is Ready (fill), or after
 * refillMs at the latest, so the replacement does not compete with the pod's own start-up.
 */
export class SandboxPool {
  #dir: string;
  #size: number;
  #clock: Clock;
  #log?: Logger;
  #refillMs: number;
  #netns?: SpareNetnsSource;
  #isolated: boolean;
  #reaper?: ShimReaper;
  #refill?: { cancel(): void };
  #shims: PendingSandbox[] = [];
  #spares: NetnsSlot[] = [];
  #closed = false;

  /** dir: where the reaper's socket and log live (the data dir); netns: none without pod networks. */
  constructor(opts: {
    dir: string;
    size: number;
    clock: Clock;
    /** Shims for pods with namespaces (false: reduced mode). */
    isolated: boolean;
    log?: Logger;
    refillMs?: number;
    netns?: SpareNetnsSource;
  }) {
    this.#isolated = opts.isolated;
    this.#dir = opts.dir;
    this.#size = opts.size;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#refillMs = opts.refillMs ?? 2000;
    this.#netns = opts.netns;
  }

  /** Holds the reaper a previous run left (or starts one), then makes the spares. */
  async open(): Promise<void> {
    this.#reaper ??= await ShimReaper.open({ dir: this.#dir });
    this.fill();
  }

  /** The reaper; open() first. */
  get reaper(): ShimReaper {
    if (!this.#reaper) throw new Error('sandbox pool is not open');
    return this.#reaper;
  }

  /** Makes the missing spares. */
  fill(): void {
    this.#refill?.cancel();
    this.#refill = undefined;
    if (this.#closed || !this.#reaper) return;
    this.#shims = this.#shims.filter((s) => s.isUsable);
    while (this.#shims.length < this.#size)
      this.#shims.push(launchSandbox(this.#reaper, { isolated: this.#isolated }));
    const source = this.#netns;
    while (source && this.#spares.length < this.#size) {
      const slot: NetnsSlot = {
        made: source.makeSpare().then(
          (value) => {
            slot.value = value;
            return value;
          },
          (err: unknown) => {
            this.#log?.warn('spare network namespace failed', { err: errorMessage(err) });
            this.#spares = this.#spares.filter((x) => x !== slot);
            return undefined;
          },
        ),
      };
      this.#spares.push(slot);
    }
  }

  /** A waiting shim (a fresh one when no spare is usable). */
  take(): PendingSandbox {
    let s = this.#shims.shift();
    while (s && !s.isUsable) s = this.#shims.shift();
    this.#scheduleRefill();
    return s ?? launchSandbox(this.reaper, { isolated: this.#isolated });
  }

  /**
   * A ready spare namespace that is still intact, if any (the caller owns it from now on). A
   * spare found broken is discarded and the next one tried; none left: the caller makes the
   * namespace itself.
   */
  takeNetns(): SpareNetns | undefined {
    this.#scheduleRefill();
    for (;;) {
      const i = this.#spares.findIndex((x) => x.value);
      const spare = i < 0 ? undefined : this.#spares.splice(i, 1)[0]?.value;
      if (!spare || this.#netns?.isSpareUsable(spare)) return spare;
      this.#log?.warn('spare network namespace is gone or broken; discarded', {
        name: spare.name,
      });
      void this.discardNetns(spare);
    }
  }

  /** Removes a spare taken but not used (the pod could not start). */
  async discardNetns(spare: SpareNetns): Promise<void> {
    await this.#netns?.discardSpare(spare);
  }

  /** Lets every spare shim exit and removes every spare namespace; resolves once they are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#refill?.cancel();
    const shims = Promise.all(this.#shims.map((s) => s.abandon()));
    this.#shims = [];
    let timer: { cancel(): void } | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, 2000);
    });
    await Promise.race([shims.then(() => undefined), limit]).finally(() => timer?.cancel());
    const spares = this.#spares;
    this.#spares = [];
    for (const slot of spares) {
      const spare = await slot.made;
      if (spare) await this.discardNetns(spare);
    }
  }

  /**
   * Closes the pool and lets go of the reaper: it exits once no shim is left (pods stopped), or
   * keeps reaping the shims of the pods left running until a later run holds it again.
   */
  async release(): Promise<void> {
    await this.close();
    await this.#reaper?.release(this.#clock);
  }

  #scheduleRefill(): void {
    if (!this.#closed && !this.#refill)
      this.#refill = this.#clock.setTimeout(() => this.fill(), this.#refillMs);
  }
}
