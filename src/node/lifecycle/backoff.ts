// CrashLoopBackOff policy (pkg/kubelet/kuberuntime doBackOff over client-go flowcontrol.Backoff):
// the first restart is immediate, then 10 s doubling to 300 s; a clean 10-minute run starts over.

/** Restart back-off (pkg/kubelet: containerBackOffPeriod 10 s, MaxContainerBackOff 300 s). */
export const backOff = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** The restart delays of one container; pure (the caller owns timers and the clock). */
export class ContainerBackOff {
  #nextMs = 0;

  /** Delay before restarting a container that just exited after running for ranMs. */
  next(ranMs: number): number {
    if (ranMs > backOff.resetAfterMs) this.#nextMs = 0;
    const delay = this.#nextMs;
    this.#nextMs =
      this.#nextMs === 0 ? backOff.initialMs : Math.min(this.#nextMs * 2, backOff.maxMs);
    return delay;
  }
}
