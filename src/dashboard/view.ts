// The dashboard's view model, computed from informer caches: pods grouped under their Deployment
// (through the ReplicaSet ownerReference chain), kubectl-style pod status, HPA samples, events.

import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';

/** One pod as the dashboard shows it. */
export interface PodView {
  namespace: string;
  name: string;
  /** kubectl's STATUS column: Running, Pending, ContainerCreating, CrashLoopBackOff, Terminating... */
  status: string;
  phase: string;
  ready: number;
  containers: number;
  restarts: number;
  /** ISO time of the pod's creation. */
  created?: string;
  podIP?: string;
}

/** A Deployment with its pods (or a group of pods that no Deployment owns). */
export interface WorkloadView {
  namespace: string;
  name: string;
  /** False for the "other pods" group of a namespace. */
  isDeployment: boolean;
  desired: number;
  ready: number;
  updated: number;
  available: number;
  pods: PodView[];
}

/** An HPA's state at one moment (one point of its charts). */
export interface HpaSample {
  namespace: string;
  name: string;
  target: string;
  minReplicas: number;
  maxReplicas: number;
  currentReplicas: number;
  desiredReplicas: number;
  /** Current average CPU utilization in percent of requests, when known. */
  cpu?: number;
  /** Target average CPU utilization in percent. */
  cpuTarget?: number;
}

/** One line of the events feed. */
export interface EventView {
  time: string;
  type: string;
  reason: string;
  object: string;
  namespace: string;
  message: string;
  count: number;
}

/** kubectl's STATUS column for a pod (printers.go printPod, simplified to one app container set). */
export function podStatus(pod: Pod): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  let reason = pod.status?.reason || pod.status?.phase || 'Pending';
  for (const cs of pod.status?.initContainerStatuses ?? []) {
    if (cs.state?.terminated && cs.state.terminated.exitCode === 0) continue;
    if (cs.state?.waiting?.reason && cs.state.waiting.reason !== 'PodInitializing') {
      return `Init:${cs.state.waiting.reason}`;
    }
    if (cs.state?.terminated || cs.state?.waiting || cs.state?.running) return 'Init:0';
  }
  let running = false;
  for (const cs of [...(pod.status?.containerStatuses ?? [])].reverse()) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
    else if (cs.state?.terminated) reason = `ExitCode:${cs.state.terminated.exitCode}`;
    else if (cs.state?.running && cs.ready) running = true;
  }
  if (reason === 'Completed' && running) reason = 'Running';
  return reason;
}

/** The dashboard's view of one pod. */
export function podView(pod: Pod): PodView {
  const statuses = pod.status?.containerStatuses ?? [];
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    status: podStatus(pod),
    phase: pod.status?.phase ?? 'Pending',
    ready: statuses.filter((s) => s.ready).length,
    containers: pod.spec?.containers.length ?? statuses.length,
    restarts: statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0),
    created: pod.metadata?.creationTimestamp,
    podIP: pod.status?.podIP,
  };
}

function controllerOf(
  meta: { ownerReferences?: { controller?: boolean; kind: string; name: string }[] } | undefined,
) {
  return meta?.ownerReferences?.find((o) => o.controller);
}

/**
 * Groups pods under the Deployment that owns their ReplicaSet; pods of no Deployment form one
 * "other pods" group per namespace. User namespaces come first, kube-* namespaces last.
 */
export function groupWorkloads(
  deployments: readonly Deployment[],
  replicaSets: readonly ReplicaSet[],
  pods: readonly Pod[],
): WorkloadView[] {
  const rsOwner = new Map<string, string>();
  for (const rs of replicaSets) {
    const owner = controllerOf(rs.metadata);
    if (owner?.kind === 'Deployment')
      rsOwner.set(`${rs.metadata?.namespace}/${rs.metadata?.name}`, owner.name);
  }
  const byKey = new Map<string, WorkloadView>();
  for (const d of deployments) {
    const ns = d.metadata?.namespace ?? '';
    const name = d.metadata?.name ?? '';
    byKey.set(`${ns}/${name}`, {
      namespace: ns,
      name,
      isDeployment: true,
      desired: d.spec?.replicas ?? 1,
      ready: d.status?.readyReplicas ?? 0,
      updated: d.status?.updatedReplicas ?? 0,
      available: d.status?.availableReplicas ?? 0,
      pods: [],
    });
  }
  for (const pod of pods) {
    const ns = pod.metadata?.namespace ?? '';
    const owner = controllerOf(pod.metadata);
    const deployment =
      owner?.kind === 'ReplicaSet' ? rsOwner.get(`${ns}/${owner.name}`) : undefined;
    let group = deployment !== undefined ? byKey.get(`${ns}/${deployment}`) : undefined;
    if (!group) {
      const key = `${ns}/\0other`;
      group = byKey.get(key);
      if (!group) {
        group = {
          namespace: ns,
          name: 'other pods',
          isDeployment: false,
          desired: 0,
          ready: 0,
          updated: 0,
          available: 0,
          pods: [],
        };
        byKey.set(key, group);
      }
    }
    group.pods.push(podView(pod));
  }
  const system = (ns: string) => (ns.startsWith('kube-') ? 1 : 0);
  const groups = [...byKey.values()];
  for (const g of groups) {
    g.pods.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (!g.isDeployment)
      g.ready = g.pods.filter((p) => p.ready === p.containers && p.containers > 0).length;
  }
  return groups.sort(
    (a, b) =>
      system(a.namespace) - system(b.namespace) ||
      a.namespace.localeCompare(b.namespace) ||
      Number(b.isDeployment) - Number(a.isDeployment) ||
      a.name.localeCompare(b.name),
  );
}

/** The chartable state of an HPA (autoscaling/v2). */
export function hpaSample(hpa: HorizontalPodAutoscaler): HpaSample {
  const cpuSpec = hpa.spec?.metrics?.find(
    (m) => m.type === 'Resource' && m.resource?.name === 'cpu',
  );
  const cpuNow = hpa.status?.currentMetrics?.find(
    (m) => m.type === 'Resource' && m.resource?.name === 'cpu',
  );
  const ref = hpa.spec?.scaleTargetRef;
  return {
    namespace: hpa.metadata?.namespace ?? '',
    name: hpa.metadata?.name ?? '',
    target: ref ? `${ref.kind}/${ref.name}` : '',
    minReplicas: hpa.spec?.minReplicas ?? 1,
    maxReplicas: hpa.spec?.maxReplicas ?? 0,
    currentReplicas: hpa.status?.currentReplicas ?? 0,
    desiredReplicas: hpa.status?.desiredReplicas ?? 0,
    cpu: cpuNow?.resource?.current.averageUtilization,
    cpuTarget: cpuSpec?.resource?.target.averageUtilization,
  };
}

/** The newest events first (by last timestamp), at most `limit`. */
export function recentEvents(events: readonly Event[], limit = 60): EventView[] {
  const time = (e: Event) =>
    e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? '';
  return [...events]
    .sort((a, b) => (time(a) < time(b) ? 1 : time(a) > time(b) ? -1 : 0))
    .slice(0, limit)
    .map((e) => ({
      time: time(e),
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      object: `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name ?? ''}`,
      namespace: e.metadata?.namespace ?? '',
      message: e.message ?? '',
      count: e.count ?? 1,
    }));
}
