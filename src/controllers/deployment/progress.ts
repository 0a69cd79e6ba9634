// Deployment status and progress: counts, Available/Progressing conditions, the progress
// deadline and paused conditions (kubernetes pkg/controller/deployment/progress.go and sync.go
// calculateStatus / syncDeploymentStatus / checkPausedConditions).
import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Clock } from '../../lib/clock.js';
import { canonicalJSON } from '../runtime/hash.js';
import {
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  getActualReplicaCountForReplicaSets,
  getAvailableReplicaCountForReplicaSets,
  getDeploymentCondition,
  getReadyReplicaCountForReplicaSets,
  getReplicaCountForReplicaSets,
  hasProgressDeadline,
  maxUnavailable,
  newDeploymentCondition,
  Reasons,
  removeDeploymentCondition,
  setDeploymentCondition,
  specReplicas,
} from './util.js';

/**
 * What the progress checks need of the sync in progress (DeploymentSync): the clock, a delayed
 * re-queue and the status writer. Declared here so progress.ts and sync.ts do not import each other.
 */
export interface ProgressSync {
  ctx: { clock: Clock; enqueueAfter(d: Deployment, ms: number): void };
  updateStatus(d: Deployment): Promise<void>;
}

/** Status counts and the Available condition (upstream calculateStatus). */
export function calculateStatus(
  s: ProgressSync,
  allRSs: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
): DeploymentStatus {
  const available = getAvailableReplicaCountForReplicaSets(allRSs);
  const total = getReplicaCountForReplicaSets(allRSs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata?.generation,
    replicas: getActualReplicaCountForReplicaSets(allRSs),
    updatedReplicas: getActualReplicaCountForReplicaSets([newRS]),
    readyReplicas: getReadyReplicaCountForReplicaSets(allRSs),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) status.conditions = d.status.conditions.map((c) => ({ ...c }));
  const now = s.ctx.clock.now();
  if (available >= specReplicas(d) - maxUnavailable(d)) {
    setDeploymentCondition(
      status,
      newDeploymentCondition(
        'Available',
        'True',
        Reasons.MinimumReplicasAvailable,
        'Deployment has minimum availability.',
        now,
      ),
    );
  } else {
    setDeploymentCondition(
      status,
      newDeploymentCondition(
        'Available',
        'False',
        Reasons.MinimumReplicasUnavailable,
        'Deployment does not have minimum availability.',
        now,
      ),
    );
  }
  return status;
}

/** Writes the calculated status when it changed (upstream syncDeploymentStatus). */
export async function syncDeploymentStatus(
  s: ProgressSync,
  allRSs: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
): Promise<void> {
  const newStatus = calculateStatus(s, allRSs, newRS, d);
  if (statusEqual(d.status, newStatus)) return;
  d.status = newStatus;
  await s.updateStatus(d);
}

/** Status plus the Progressing condition and deadline requeue (upstream syncRolloutStatus). */
export async function syncRolloutStatus(
  s: ProgressSync,
  allRSs: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
): Promise<void> {
  const now = s.ctx.clock.now();
  const newStatus = calculateStatus(s, allRSs, newRS, d);
  if (!hasProgressDeadline(d)) removeDeploymentCondition(newStatus, 'Progressing');
  const currentCond = getDeploymentCondition(d.status, 'Progressing');
  const isCompleteDeployment =
    newStatus.replicas === newStatus.updatedReplicas &&
    currentCond?.reason === Reasons.NewRSAvailable;
  if (hasProgressDeadline(d) && !isCompleteDeployment) {
    const rsName = newRS?.metadata?.name;
    if (deploymentComplete(d, newStatus)) {
      const msg = rsName
        ? `ReplicaSet "${rsName}" has successfully progressed.`
        : `Deployment "${d.metadata?.name}" has successfully progressed.`;
      setDeploymentCondition(
        newStatus,
        newDeploymentCondition('Progressing', 'True', Reasons.NewRSAvailable, msg, now),
      );
    } else if (deploymentProgressing(d, newStatus)) {
      const msg = rsName
        ? `ReplicaSet "${rsName}" is progressing.`
        : `Deployment "${d.metadata?.name}" is progressing.`;
      const cond = newDeploymentCondition(
        'Progressing',
        'True',
        Reasons.ReplicaSetUpdated,
        msg,
        now,
      );
      // Progress refreshes lastUpdateTime even when the reason is unchanged.
      if (currentCond) {
        if (currentCond.status === 'True') cond.lastTransitionTime = currentCond.lastTransitionTime;
        removeDeploymentCondition(newStatus, 'Progressing');
      }
      setDeploymentCondition(newStatus, cond);
    } else if (deploymentTimedOut(d, newStatus, now)) {
      const msg = rsName
        ? `ReplicaSet "${rsName}" has timed out progressing.`
        : `Deployment "${d.metadata?.name}" has timed out progressing.`;
      setDeploymentCondition(
        newStatus,
        newDeploymentCondition('Progressing', 'False', Reasons.TimedOut, msg, now),
      );
    }
  }
  const failure = [newRS, ...allRSs]
    .flatMap((rs) => rs?.status?.conditions ?? [])
    .find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (failure) {
    setDeploymentCondition(newStatus, {
      type: 'ReplicaFailure',
      status: 'True',
      reason: failure.reason,
      message: failure.message,
      lastTransitionTime: failure.lastTransitionTime,
      lastUpdateTime: failure.lastTransitionTime,
    });
  } else {
    removeDeploymentCondition(newStatus, 'ReplicaFailure');
  }
  if (statusEqual(d.status, newStatus)) {
    requeueStuckDeployment(s, d, newStatus);
    return;
  }
  d.status = newStatus;
  await s.updateStatus(d);
}

/** Re-checks a stalled rollout once its progress deadline passes (upstream requeueStuckDeployment). */
export function requeueStuckDeployment(
  s: ProgressSync,
  d: Deployment,
  newStatus: DeploymentStatus,
): void {
  const cond = getDeploymentCondition(d.status, 'Progressing');
  if (!hasProgressDeadline(d) || !cond) return;
  if (deploymentComplete(d, newStatus) || cond.reason === Reasons.TimedOut) return;
  const after =
    Date.parse(cond.lastUpdateTime ?? '') +
    (d.spec?.progressDeadlineSeconds ?? 600) * 1000 -
    s.ctx.clock.now();
  s.ctx.enqueueAfter(d, after < 1000 ? 1000 : after + 1000);
}

/** Adds/removes the paused Progressing condition (upstream checkPausedConditions). */
export async function checkPausedConditions(s: ProgressSync, d: Deployment): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  const cond = getDeploymentCondition(d.status, 'Progressing');
  if (cond?.reason === Reasons.TimedOut) return;
  const pausedCondExists = cond?.reason === Reasons.Paused;
  const now = s.ctx.clock.now();
  d.status ??= {};
  if (d.spec?.paused && !pausedCondExists) {
    setDeploymentCondition(
      d.status,
      newDeploymentCondition('Progressing', 'Unknown', Reasons.Paused, 'Deployment is paused', now),
    );
  } else if (!d.spec?.paused && pausedCondExists) {
    setDeploymentCondition(
      d.status,
      newDeploymentCondition(
        'Progressing',
        'Unknown',
        Reasons.Resumed,
        'Deployment is resumed',
        now,
      ),
    );
  } else {
    return;
  }
  await s.updateStatus(d);
}

// Compares statuses ignoring key order and undefined fields (upstream reflect.DeepEqual).
function statusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  const norm = (s: DeploymentStatus | undefined) => {
    const c: Record<string, unknown> = { ...(s ?? {}) };
    for (const k of [
      'replicas',
      'updatedReplicas',
      'readyReplicas',
      'availableReplicas',
      'unavailableReplicas',
    ]) {
      c[k] = c[k] ?? 0;
    }
    return canonicalJSON(c);
  };
  return norm(a) === norm(b);
}
