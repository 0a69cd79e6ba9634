// What a pod worker does next, as one plan (kuberuntime_manager.go computePodActions, carried out
// by its SyncPod): compare the desired pod with the observed sandbox and containers. Pure: the
// worker observes, this decides, the worker acts.
import type { Pod } from 'kubernetes-types/core/v1.js';

/** One container as the worker observes it. */
export interface ObservedContainer {
  name: string;
  /**
   * never: no attempt yet; busy: a start is in flight or a restart waits out its back-off;
   * running: its process runs; exited: its last process exited and nothing is pending.
   */
  state: 'never' | 'busy' | 'running' | 'exited';
  exitCode?: number;
  /** A liveness probe failed: the running process must be killed (and then restarted). */
  isUnhealthy?: boolean;
}

/** What the pod needs now; the worker carries it out in this order. */
export interface PodActions {
  /** The pod is being deleted: kill everything (then the sandbox goes). */
  killPod: boolean;
  /** Running containers to kill (liveness failure); their exits then restart them. */
  containersToKill: string[];
  /** No sandbox yet: make one before any start. */
  createSandbox: boolean;
  /** The init container to start now (init containers run one at a time, in order). */
  nextInit?: string;
  /** App containers to start (first attempt or a restart per restartPolicy). */
  containersToStart: string[];
  /** Ephemeral containers not started yet (each runs once and is never restarted). */
  ephemeralContainersToStart: string[];
  /** Every init container succeeded (or there are none): the pod is Initialized. */
  isInitialized: boolean;
  /** An init container failed and restartPolicy is Never: the pod is Failed for good. */
  hasInitFailed: boolean;
}

/** Whether a container that exited with this code runs again (restartPolicy of the pod). */
export function shouldRestart(policy: string, exitCode: number, isInit: boolean): boolean {
  // Init containers run to success: OnFailure and Always both retry a failure.
  if (isInit) return exitCode !== 0 && policy !== 'Never';
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** Computes the plan for a pod from what is observed. */
export function computePodActions(opts: {
  pod: Pod;
  hasSandbox: boolean;
  init: ObservedContainer[];
  containers: ObservedContainer[];
  ephemeral?: ObservedContainer[];
}): PodActions {
  const { pod } = opts;
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const actions: PodActions = {
    killPod: false,
    containersToKill: [],
    createSandbox: false,
    containersToStart: [],
    ephemeralContainersToStart: [],
    isInitialized: false,
    hasInitFailed: false,
  };
  // Init containers (computeInitContainerActions): the first one not yet succeeded decides.
  let initPending = false;
  for (const c of opts.init) {
    if (c.state === 'exited' && c.exitCode === 0) continue;
    initPending = true;
    if (c.state === 'never') actions.nextInit = c.name;
    else if (c.state === 'exited') {
      if (shouldRestart(policy, c.exitCode ?? 1, true)) actions.nextInit = c.name;
      else actions.hasInitFailed = true;
    }
    break;
  }
  actions.isInitialized = !initPending;
  if (pod.metadata?.deletionTimestamp) {
    actions.nextInit = undefined;
    actions.killPod = true;
    return actions;
  }
  actions.createSandbox = !opts.hasSandbox;
  // As upstream, a debug container may start before the pod is initialized (to debug an init
  // container), once the sandbox exists; whatever its exit, it is not started again.
  if (opts.hasSandbox) {
    for (const c of opts.ephemeral ?? [])
      if (c.state === 'never') actions.ephemeralContainersToStart.push(c.name);
  }
  if (!actions.isInitialized) return actions;
  for (const c of opts.containers) {
    if (c.state === 'running' && c.isUnhealthy) actions.containersToKill.push(c.name);
    else if (c.state === 'never') actions.containersToStart.push(c.name);
    else if (c.state === 'exited' && shouldRestart(policy, c.exitCode ?? 1, false))
      actions.containersToStart.push(c.name);
  }
  return actions;
}
