// Pure Deployment helpers: surge/unavailable arithmetic, revisions, annotations, conditions
// (kubernetes pkg/controller/deployment/util/deployment_util.go).
import type {
  Deployment,
  DeploymentCondition,
  DeploymentStatus,
  ReplicaSet,
} from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../../api/time.js';
import { canonicalJSON } from '../runtime/hash.js';

/** Label that tells apart the pods of each ReplicaSet of a Deployment. */
export const defaultDeploymentUniqueLabelKey = 'pod-template-hash';
/** Revision of a ReplicaSet (and, mirrored, of its Deployment). */
export const revisionAnnotation = 'deployment.kubernetes.io/revision';
/** Earlier revisions a ReplicaSet held before a rollback reused it. */
export const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history';
/** Deployment spec.replicas when the ReplicaSet was last scaled by the controller. */
export const desiredReplicasAnnotation = 'deployment.kubernetes.io/desired-replicas';
/** spec.replicas + maxSurge when the ReplicaSet was last scaled by the controller. */
export const maxReplicasAnnotation = 'deployment.kubernetes.io/max-replicas';

// Annotations never copied from a Deployment onto its ReplicaSets (upstream skipCopyAnnotation).
const skipCopy = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  revisionAnnotation,
  revisionHistoryAnnotation,
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  'deprecated.deployment.rollback.to',
]);

/** Upstream condition reasons. */
export const Reasons = {
  NewReplicaSet: 'NewReplicaSetCreated',
  FoundNewRS: 'FoundNewReplicaSet',
  NewRSAvailable: 'NewReplicaSetAvailable',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  TimedOut: 'ProgressDeadlineExceeded',
  Paused: 'DeploymentPaused',
  Resumed: 'DeploymentResumed',
  FailedRSCreate: 'ReplicaSetCreateError',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

/** spec.replicas with the apps/v1 default of 1. */
export const specReplicas = (o: { spec?: { replicas?: number } }): number => o.spec?.replicas ?? 1;

/** Scales an int-or-percent against total, rounding up or down (upstream GetScaledValueFromIntOrPercent). */
export function scaledValue(
  v: number | string | undefined,
  total: number,
  roundUp: boolean,
): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new TypeError(`Invalid value for IntOrString: "${v}"`);
  }
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}

/** True for the RollingUpdate strategy (the default). */
export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** maxSurge and maxUnavailable as numbers; both 0 becomes unavailable 1 (upstream ResolveFenceposts). */
export function resolveFenceposts(d: Deployment): { surge: number; unavailable: number } {
  const desired = specReplicas(d);
  const ru = d.spec?.strategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge ?? '25%', desired, true);
  let unavailable = scaledValue(ru?.maxUnavailable ?? '25%', desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** The resolved maxSurge (0 unless RollingUpdate). */
export function maxSurge(d: Deployment): number {
  return isRollingUpdate(d) ? resolveFenceposts(d).surge : 0;
}

/** The resolved maxUnavailable, at most spec.replicas (0 unless RollingUpdate). */
export function maxUnavailable(d: Deployment): number {
  const replicas = specReplicas(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, replicas);
}

/** Sum of spec.replicas. */
export const getReplicaCountForReplicaSets = (rss: readonly (ReplicaSet | undefined)[]): number =>
  rss.reduce((n, rs) => n + (rs ? (rs.spec?.replicas ?? 0) : 0), 0);
/** Sum of status.replicas. */
export const getActualReplicaCountForReplicaSets = (
  rss: readonly (ReplicaSet | undefined)[],
): number => rss.reduce((n, rs) => n + (rs?.status?.replicas ?? 0), 0);
/** Sum of status.readyReplicas. */
export const getReadyReplicaCountForReplicaSets = (
  rss: readonly (ReplicaSet | undefined)[],
): number => rss.reduce((n, rs) => n + (rs?.status?.readyReplicas ?? 0), 0);
/** Sum of status.availableReplicas. */
export const getAvailableReplicaCountForReplicaSets = (
  rss: readonly (ReplicaSet | undefined)[],
): number => rss.reduce((n, rs) => n + (rs?.status?.availableReplicas ?? 0), 0);

/** ReplicaSets with spec.replicas > 0. */
export const filterActiveReplicaSets = (rss: readonly (ReplicaSet | undefined)[]): ReplicaSet[] =>
  rss.filter((rs): rs is ReplicaSet => !!rs && (rs.spec?.replicas ?? 0) > 0);

/** Oldest first, ties broken by name (upstream ReplicaSetsByCreationTimestamp). */
export function byCreationTimestamp(a: ReplicaSet, b: ReplicaSet): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** The numeric revision of an object, 0 when absent or malformed. */
export function revisionOf(o: { metadata?: { annotations?: Record<string, string> } }): number {
  const n = Number(o.metadata?.annotations?.[revisionAnnotation] ?? '');
  return Number.isInteger(n) ? n : 0;
}

/** The highest revision among the ReplicaSets. */
export const maxRevision = (rss: readonly ReplicaSet[]): number =>
  rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);

/** True when two templates are equal once the pod-template-hash label is ignored (upstream EqualIgnoreHash). */
export function equalIgnoreHash(
  a: PodTemplateSpec | undefined,
  b: PodTemplateSpec | undefined,
): boolean {
  const strip = (t: PodTemplateSpec | undefined) => {
    const c = structuredClone(t ?? {});
    if (c.metadata?.labels) {
      delete c.metadata.labels[defaultDeploymentUniqueLabelKey];
      if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
    }
    if (c.metadata && Object.keys(c.metadata).length === 0) delete c.metadata;
    return canonicalJSON(c);
  };
  return strip(a) === strip(b);
}

/** The ReplicaSet whose template matches the Deployment's, oldest first (upstream FindNewReplicaSet). */
export function findNewReplicaSet(
  d: Deployment,
  rsList: readonly ReplicaSet[],
): ReplicaSet | undefined {
  return [...rsList]
    .sort(byCreationTimestamp)
    .find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Copies the Deployment's annotations onto the RS; true when something changed. */
export function copyDeploymentAnnotationsToReplicaSet(d: Deployment, rs: ReplicaSet): boolean {
  let changed = false;
  rs.metadata ??= {};
  rs.metadata.annotations ??= {};
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (skipCopy.has(k) || rs.metadata.annotations[k] === v) continue;
    rs.metadata.annotations[k] = v;
    changed = true;
  }
  return changed;
}

/** Sets desired-replicas and max-replicas; true when they changed (upstream SetReplicasAnnotations). */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  rs.metadata ??= {};
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  let changed = false;
  if (a[desiredReplicasAnnotation] !== String(desired)) {
    a[desiredReplicasAnnotation] = String(desired);
    changed = true;
  }
  if (a[maxReplicasAnnotation] !== String(max)) {
    a[maxReplicasAnnotation] = String(max);
    changed = true;
  }
  return changed;
}

/** Revision and annotation bookkeeping for the new RS; true when anything changed (upstream SetNewReplicaSetAnnotations). */
export function setNewReplicaSetAnnotations(
  d: Deployment,
  rs: ReplicaSet,
  newRevision: number,
  exists: boolean,
): boolean {
  let changed = copyDeploymentAnnotationsToReplicaSet(d, rs);
  rs.metadata!.annotations ??= {};
  const a = rs.metadata!.annotations;
  const had = a[revisionAnnotation];
  const oldRevision = had === undefined ? 0 : Number(had);
  if (had !== undefined && !Number.isInteger(oldRevision)) return false;
  if (oldRevision < newRevision) {
    a[revisionAnnotation] = String(newRevision);
    changed = true;
    // A rollback reuses this RS: remember the revisions it had (bounded like upstream, 2000 chars).
    if (had !== undefined) {
      const hist = a[revisionHistoryAnnotation];
      const list = hist ? hist.split(',') : [];
      list.push(had);
      while (list.join(',').length > 2000) list.shift();
      a[revisionHistoryAnnotation] = list.join(',');
    }
  }
  if (!exists && setReplicasAnnotations(rs, specReplicas(d), specReplicas(d) + maxSurge(d)))
    changed = true;
  return changed;
}

/** Replicas the new RS may have now (upstream NewRSNewReplicas). */
export function newRSNewReplicas(
  d: Deployment,
  allRSs: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet,
): number {
  if (!isRollingUpdate(d)) return specReplicas(d);
  const current = getReplicaCountForReplicaSets(allRSs);
  const maxTotal = specReplicas(d) + maxSurge(d);
  const newReplicas = newRS.spec?.replicas ?? 0;
  if (current >= maxTotal) return newReplicas;
  const scaleUp = Math.min(maxTotal - current, specReplicas(d) - newReplicas);
  return newReplicas + scaleUp;
}

/** True when the new RS is fully scaled and available (upstream IsSaturated). */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = Number(rs.metadata?.annotations?.[desiredReplicasAnnotation] ?? 'x');
  const r = specReplicas(d);
  return (
    (rs.spec?.replicas ?? 0) === r && desired === r && (rs.status?.availableReplicas ?? 0) === r
  );
}

/** A condition stamped with `now` (upstream NewDeploymentCondition). */
export function newDeploymentCondition(
  type: string,
  status: 'True' | 'False' | 'Unknown',
  reason: string,
  message: string,
  now: number,
): DeploymentCondition {
  const t = rfc3339(now);
  return { type, status, reason, message, lastUpdateTime: t, lastTransitionTime: t };
}

/** The condition of a type. */
export const getDeploymentCondition = (s: DeploymentStatus | undefined, type: string) =>
  s?.conditions?.find((c) => c.type === type);

/** Sets a condition unless one with the same status and reason exists (upstream SetDeploymentCondition). */
export function setDeploymentCondition(s: DeploymentStatus, cond: DeploymentCondition): void {
  const current = getDeploymentCondition(s, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  const next = { ...cond };
  if (current && current.status === cond.status)
    next.lastTransitionTime = current.lastTransitionTime;
  s.conditions = [...(s.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

/** Removes the condition of a type. */
export function removeDeploymentCondition(s: DeploymentStatus, type: string): void {
  s.conditions = (s.conditions ?? []).filter((c) => c.type !== type);
  if (s.conditions.length === 0) delete s.conditions;
}

/** True when a progress deadline is set (upstream HasProgressDeadline; MaxInt32 means none). */
export const hasProgressDeadline = (d: Deployment): boolean => {
  const p = d.spec?.progressDeadlineSeconds ?? 600;
  return p !== 2147483647;
};

/** True when the rollout finished (upstream DeploymentComplete). */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = specReplicas(d);
  return (
    (s.updatedReplicas ?? 0) === r &&
    (s.replicas ?? 0) === r &&
    (s.availableReplicas ?? 0) === r &&
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
  );
}

/** True when newStatus shows progress over the Deployment's current status (upstream DeploymentProgressing). */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0)
  );
}

/** True when the Progressing condition is older than the deadline (upstream DeploymentTimedOut). */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getDeploymentCondition(s, 'Progressing');
  if (!c) return false;
  if (c.reason === Reasons.NewRSAvailable) return false;
  if (c.reason === Reasons.TimedOut) return true;
  const from = Date.parse(c.lastUpdateTime ?? '');
  return from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 < now;
}
