// ReplicaSet status calculation (kubernetes pkg/controller/replicaset/replica_set_utils.go
// calculateStatus, SetCondition / RemoveCondition for ReplicaFailure).
import type {
  ReplicaSet,
  ReplicaSetCondition,
  ReplicaSetStatus,
} from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { matchesSelector } from '../../api/labels.js';
import { rfc3339 } from '../../api/time.js';
import { isPodAvailable, isPodReady } from '../runtime/pods.js';

/** The status the ReplicaSet should have given its active, claimed pods. */
export function calculateStatus(
  rs: ReplicaSet,
  filteredPods: readonly Pod[],
  manageReplicasErr: { reason: 'FailedCreate' | 'FailedDelete'; message: string } | undefined,
  now: number,
): ReplicaSetStatus {
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of filteredPods) {
    if (matchesSelector({ matchLabels: templateLabels }, pod.metadata?.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
    }
  }
  let conditions = (rs.status?.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
  const existing = rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
  if (manageReplicasErr) {
    const cond: ReplicaSetCondition = {
      type: 'ReplicaFailure',
      status: 'True',
      reason: manageReplicasErr.reason,
      message: manageReplicasErr.message,
      lastTransitionTime: existing?.status === 'True' ? existing.lastTransitionTime : rfc3339(now),
    };
    conditions = [...conditions, cond];
  }
  const status: ReplicaSetStatus = {
    replicas: filteredPods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata?.generation ?? rs.status?.observedGeneration,
  };
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** True when the two statuses differ in anything the controller writes. */
export function statusChanged(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  return (
    (a?.replicas ?? 0) !== b.replicas ||
    (a?.fullyLabeledReplicas ?? 0) !== (b.fullyLabeledReplicas ?? 0) ||
    (a?.readyReplicas ?? 0) !== (b.readyReplicas ?? 0) ||
    (a?.availableReplicas ?? 0) !== (b.availableReplicas ?? 0) ||
    a?.observedGeneration !== b.observedGeneration ||
    JSON.stringify(a?.conditions ?? []) !== JSON.stringify(b.conditions ?? [])
  );
}
