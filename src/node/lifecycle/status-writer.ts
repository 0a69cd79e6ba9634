// Writes a pod's status to the API (the kubelet status manager): coalesced per microtask,
// serialized so an older write never lands after a newer one, retried when a write fails.
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import type { Timer } from '../../lib/clock.js';
import type { NodeContext } from '../pod-context.js';

/** The status pipe of one pod. */
export class StatusWriter {
  #ctx: NodeContext;
  #compute: () => PodStatus;
  #target: () => Pod;
  #written: (updated: Pod, ready: string | undefined) => void;
  #lastWritten = '';
  #queued = false;
  #flushing: Promise<void> = Promise.resolve();
  #retry?: Timer;
  #stopped = false;

  constructor(opts: {
    ctx: NodeContext;
    /** The status to report now. */
    compute: () => PodStatus;
    /** The pod object to patch (namespace/name). */
    target: () => Pod;
    /** Called with the API's answer after each successful write. */
    written: (updated: Pod, ready: string | undefined) => void;
  }) {
    this.#ctx = opts.ctx;
    this.#compute = opts.compute;
    this.#target = opts.target;
    this.#written = opts.written;
  }

  /** Writes soon (once per microtask however many changes happened). */
  queue(): void {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      void this.flush();
    });
  }

  /** Writes now (after any write in flight); resolves when done. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  /** No more retries. */
  stop(): void {
    this.#stopped = true;
    this.#retry?.cancel();
  }

  async #write(): Promise<void> {
    const status = this.#compute();
    const text = JSON.stringify(status);
    if (text === this.#lastWritten) return;
    this.#lastWritten = text;
    const ready = status.conditions?.find((x) => x.type === 'Ready')?.status;
    const m = this.#target().metadata;
    try {
      const updated = await this.#ctx.client.patch<Pod>(
        R.pods,
        m?.namespace,
        m?.name ?? '',
        { status },
        { type: 'merge', subresource: 'status' },
      );
      this.#written(updated, ready);
    } catch (err) {
      this.#lastWritten = '';
      this.#ctx.log.debug('status update failed', { key: `${m?.namespace}/${m?.name}`, err });
      // Retry later: nothing else may change to trigger the next write.
      this.#retry?.cancel();
      if (!this.#stopped) this.#retry = this.#ctx.clock.setTimeout(() => this.queue(), 1000);
    }
  }
}
