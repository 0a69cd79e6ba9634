// The two rollout strategies (kubernetes pkg/controller/deployment/rolling.go rolloutRolling and
// recreate.go rolloutRecreate).
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { syncRolloutStatus } from './progress.js';
import type { DeploymentSync } from './sync.js';
import {
  byCreationTimestamp,
  deploymentComplete,
  filterActiveReplicaSets,
  getAvailableReplicaCountForReplicaSets,
  getReplicaCountForReplicaSets,
  maxUnavailable,
  newRSNewReplicas,
  specReplicas,
} from './util.js';

/** Surge the new RS up, then scale old RSs down within maxUnavailable (upstream rolloutRolling). */
export async function rolloutRolling(
  s: DeploymentSync,
  d: Deployment,
  rsList: readonly ReplicaSet[],
): Promise<void> {
  const { newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(d, rsList, true);
  if (!newRS) return;
  const allRSs = [...oldRSs, newRS];
  if (await reconcileNewReplicaSet(s, allRSs, newRS, d)) {
    await syncRolloutStatus(s, allRSs, newRS, d);
    return;
  }
  if (await reconcileOldReplicaSets(s, allRSs, filterActiveReplicaSets(oldRSs), newRS, d)) {
    await syncRolloutStatus(s, allRSs, newRS, d);
    return;
  }
  if (d.status && deploymentComplete(d, d.status)) await s.cleanupDeployment(oldRSs, d);
  await syncRolloutStatus(s, allRSs, newRS, d);
}

/** Scales the new RS toward spec.replicas within maxSurge (upstream reconcileNewReplicaSet). */
export async function reconcileNewReplicaSet(
  s: DeploymentSync,
  allRSs: readonly ReplicaSet[],
  newRS: ReplicaSet,
  d: Deployment,
): Promise<boolean> {
  const current = newRS.spec?.replicas ?? 0;
  if (current === specReplicas(d)) return false;
  if (current > specReplicas(d))
    return (await s.scaleReplicaSetAndRecordEvent(newRS, specReplicas(d), d)).scaled;
  const count = newRSNewReplicas(d, allRSs, newRS);
  return (await s.scaleReplicaSetAndRecordEvent(newRS, count, d)).scaled;
}

/** Scales old RSs down as far as availability allows (upstream reconcileOldReplicaSets). */
export async function reconcileOldReplicaSets(
  s: DeploymentSync,
  allRSs: readonly ReplicaSet[],
  oldRSs: ReplicaSet[],
  newRS: ReplicaSet,
  d: Deployment,
): Promise<boolean> {
  const oldPodsCount = getReplicaCountForReplicaSets(oldRSs);
  if (oldPodsCount === 0) return false;
  const allPodsCount = getReplicaCountForReplicaSets(allRSs);
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const newRSUnavailable = (newRS.spec?.replicas ?? 0) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPodsCount - minAvailable - newRSUnavailable;
  if (maxScaledDown <= 0) return false;
  // Unhealthy old replicas go first: removing them costs no availability.
  const { oldRSs: cleaned, count: cleanupCount } = await cleanupUnhealthyReplicas(
    s,
    oldRSs,
    d,
    maxScaledDown,
  );
  const scaledDown = await scaleDownOldReplicaSetsForRollingUpdate(
    s,
    [...cleaned, newRS],
    cleaned,
    d,
  );
  return cleanupCount + scaledDown > 0;
}

/** Scales down old RSs' unavailable replicas, oldest RS first (upstream cleanupUnhealthyReplicas). */
async function cleanupUnhealthyReplicas(
  s: DeploymentSync,
  oldRSs: ReplicaSet[],
  d: Deployment,
  maxCleanupCount: number,
): Promise<{ oldRSs: ReplicaSet[]; count: number }> {
  const sorted = [...oldRSs].sort(byCreationTimestamp);
  let total = 0;
  for (const [i, rs] of sorted.entries()) {
    if (total >= maxCleanupCount) break;
    const replicas = rs.spec?.replicas ?? 0;
    const available = rs.status?.availableReplicas ?? 0;
    if (replicas === 0 || replicas === available) continue;
    const count = Math.min(maxCleanupCount - total, replicas - available);
    sorted[i] = (await s.scaleReplicaSetAndRecordEvent(rs, replicas - count, d)).rs;
    total += count;
  }
  return { oldRSs: sorted, count: total };
}

/** Scales old RSs down while available pods stay above minAvailable (upstream scaleDownOldReplicaSetsForRollingUpdate). */
async function scaleDownOldReplicaSetsForRollingUpdate(
  s: DeploymentSync,
  allRSs: readonly ReplicaSet[],
  oldRSs: ReplicaSet[],
  d: Deployment,
): Promise<number> {
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const available = getAvailableReplicaCountForReplicaSets(allRSs);
  if (available <= minAvailable) return 0;
  const target = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreationTimestamp)) {
    if (total >= target) break;
    const replicas = rs.spec?.replicas ?? 0;
    if (replicas === 0) continue;
    const count = Math.min(replicas, target - total);
    await s.scaleReplicaSetAndRecordEvent(rs, replicas - count, d);
    total += count;
  }
  return total;
}

/** Kill all old pods, then bring up the new RS (upstream rolloutRecreate). */
export async function rolloutRecreate(
  s: DeploymentSync,
  d: Deployment,
  rsList: readonly ReplicaSet[],
  podsByRS: ReadonlyMap<string, Pod[]>,
): Promise<void> {
  let { newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(d, rsList, false);
  let allRSs = [...oldRSs, newRS];
  let scaledDown = false;
  for (const rs of filterActiveReplicaSets(oldRSs)) {
    if ((await s.scaleReplicaSetAndRecordEvent(rs, 0, d)).scaled) scaledDown = true;
  }
  if (scaledDown || oldPodsRunning(newRS, oldRSs, podsByRS)) {
    await syncRolloutStatus(s, allRSs, newRS, d);
    return;
  }
  if (!newRS) {
    ({ newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(d, rsList, true));
    allRSs = [...oldRSs, newRS];
  }
  if (newRS) await s.scaleReplicaSetAndRecordEvent(newRS, specReplicas(d), d);
  if (d.status && deploymentComplete(d, d.status)) await s.cleanupDeployment(oldRSs, d);
  await syncRolloutStatus(s, allRSs, newRS, d);
}

/** True while any pod of an old RS may still run (upstream oldPodsRunning). */
export function oldPodsRunning(
  newRS: ReplicaSet | undefined,
  oldRSs: readonly ReplicaSet[],
  podsByRS: ReadonlyMap<string, Pod[]>,
): boolean {
  if (oldRSs.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
  for (const [uid, pods] of podsByRS) {
    if (newRS && newRS.metadata?.uid === uid) continue;
    for (const pod of pods) {
      const phase = pod.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') continue;
      return true;
    }
  }
  return false;
}
