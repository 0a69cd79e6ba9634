// Pod status as the kubelet reports it (pkg/kubelet/status/generate.go and kubelet_pods.go
// generateAPIPodStatus): phase, conditions with stable transition times, container statuses.
import type {
  ContainerState,
  ContainerStatus,
  Pod,
  PodCondition,
  PodStatus,
  ResourceRequirements,
} from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../api/quantity.js';

/** What the worker knows about one container. */
export interface ContainerView {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  started: boolean;
}

/** QoS class from requests and limits (pkg/apis/core/v1/helper/qos GetPodQOS). */
export function podQOSClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const cs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const rq = req[r] ?? lim[r];
      if (rq !== undefined && parseQuantity(rq) !== 0) any = true;
      const l = lim[r];
      if (l === undefined || rq === undefined || parseQuantity(l) !== parseQuantity(rq))
        guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * The resources a container's status reports (1.33 in-place resize): allocatedResources are the
 * requests the node allocated, resources the requests and limits its cgroup holds.
 */
function resourceStatus(r: ResourceRequirements | undefined): Partial<ContainerStatus> {
  if (!r || (!r.requests && !r.limits)) return {};
  return {
    ...(r.requests ? { allocatedResources: { ...r.requests } } : {}),
    resources: {
      ...(r.limits ? { limits: { ...r.limits } } : {}),
      ...(r.requests ? { requests: { ...r.requests } } : {}),
    },
  };
}

function toStatus(v: ContainerView, allocated?: ResourceRequirements): ContainerStatus {
  return {
    name: v.name,
    image: v.image,
    imageID: v.imageID,
    ...(v.containerID ? { containerID: v.containerID } : {}),
    ready: v.ready,
    started: v.started,
    restartCount: v.restartCount,
    state: v.state,
    lastState: v.lastState,
    ...resourceStatus(allocated),
  };
}

function condition(
  prev: PodCondition[] | undefined,
  type: string,
  ok: boolean,
  now: string,
  reason?: string,
): PodCondition {
  const status = ok ? 'True' : 'False';
  const old = prev?.find((c) => c.type === type);
  return {
    type,
    status,
    lastProbeTime: null as unknown as undefined,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    ...(!ok && reason ? { reason } : {}),
  };
}

/** Computes a pod's status from the worker's view. */
export function computePodStatus(opts: {
  pod: Pod;
  init: ContainerView[];
  containers: ContainerView[];
  /** Ephemeral (debug) containers: reported, but never part of the phase or readiness. */
  ephemeral?: ContainerView[];
  initDone: boolean;
  podIP?: string;
  hostIP: string;
  startTime?: string;
  now: string;
  /** Set when the pod reached a terminal phase that no restart will change. */
  terminalPhase?: 'Succeeded' | 'Failed';
  message?: string;
  reason?: string;
  /** What each container's cgroup holds (in-place resize); absent in tests of other fields. */
  allocated?: (container: string) => ResourceRequirements | undefined;
  /** A resize the node has not applied (PodResizePending's reason and message). */
  resizePending?: { reason: string; message: string };
}): PodStatus {
  const { pod, containers } = opts;
  const prev = pod.status?.conditions;
  const allReady = containers.length > 0 && containers.every((c) => c.ready);
  const anyRunning = containers.some((c) => c.state.running);
  const anyWaiting = [...opts.init, ...containers].some((c) => c.state.waiting);
  const policy = pod.spec?.restartPolicy ?? 'Always';
  let phase: PodStatus['phase'] = 'Pending';
  if (opts.terminalPhase) phase = opts.terminalPhase;
  else if (
    opts.initDone &&
    (anyRunning ||
      (policy !== 'Never' && containers.some((c) => c.lastState.terminated || c.state.terminated)))
  ) {
    phase = 'Running';
  }
  if (
    opts.initDone &&
    !anyWaiting &&
    containers.length > 0 &&
    containers.every((c) => c.state.terminated)
  ) {
    const failed = containers.some((c) => (c.state.terminated?.exitCode ?? 0) !== 0);
    if (policy === 'Never' || (policy === 'OnFailure' && !failed))
      phase = failed ? 'Failed' : 'Succeeded';
  }
  const notReady = containers.filter((c) => !c.ready).map((c) => c.name);
  const isTerminal = phase === 'Succeeded' || phase === 'Failed';
  const conditions: PodCondition[] = [
    condition(prev, 'PodReadyToStartContainers', !!opts.podIP || !!pod.spec?.hostNetwork, opts.now),
    condition(prev, 'Initialized', opts.initDone, opts.now, 'ContainersNotInitialized'),
    condition(
      prev,
      'Ready',
      allReady && !isTerminal,
      opts.now,
      isTerminal ? 'PodCompleted' : 'ContainersNotReady',
    ),
    condition(
      prev,
      'ContainersReady',
      allReady && !isTerminal,
      opts.now,
      isTerminal ? 'PodCompleted' : 'ContainersNotReady',
    ),
    prev?.find((c) => c.type === 'PodScheduled') ??
      condition(undefined, 'PodScheduled', true, opts.now),
  ];
  if (opts.resizePending) {
    // Upstream sets it with status True while the resize waits; it goes once the resize is done.
    const pending = condition(prev, 'PodResizePending', true, opts.now);
    conditions.push({ ...pending, ...opts.resizePending });
  }
  for (const c of conditions) {
    if (
      (c.type === 'Ready' || c.type === 'ContainersReady') &&
      c.status === 'False' &&
      !isTerminal
    ) {
      (c as { message?: string }).message =
        `containers with unready status: [${notReady.join(' ')}]`;
    }
    if (c.type === 'Initialized' && c.status === 'False') {
      const pending = opts.init.filter((i) => i.state.terminated?.exitCode !== 0);
      (c as { message?: string }).message =
        `containers with incomplete status: [${pending.map((i) => i.name).join(' ')}]`;
    }
  }
  const ips = opts.podIP ? [{ ip: opts.podIP }] : undefined;
  return {
    phase,
    conditions,
    ...(opts.message ? { message: opts.message } : {}),
    ...(opts.reason ? { reason: opts.reason } : {}),
    hostIP: opts.hostIP,
    hostIPs: [{ ip: opts.hostIP }],
    ...(opts.podIP ? { podIP: opts.podIP, podIPs: ips } : {}),
    ...(opts.startTime ? { startTime: opts.startTime } : {}),
    ...(opts.init.length ? { initContainerStatuses: opts.init.map((c) => toStatus(c)) } : {}),
    containerStatuses: containers.map((c) => toStatus(c, opts.allocated?.(c.name))),
    ...(opts.ephemeral?.length
      ? { ephemeralContainerStatuses: opts.ephemeral.map((c) => toStatus(c)) }
      : {}),
    qosClass: podQOSClass(pod),
  };
}
