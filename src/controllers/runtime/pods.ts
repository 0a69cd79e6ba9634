// Pod state helpers and the scale-down ranking (kubernetes pkg/api/v1/pod/util.go IsPodReady,
// IsPodAvailable; pkg/controller/controller_utils.go IsPodActive and ActivePodsWithRanks.Less).
import type { Pod } from 'kubernetes-types/core/v1.js';

/** The annotation that biases which pod is deleted first (lower cost goes first). */
export const podDeletionCostAnnotation = 'controller.kubernetes.io/pod-deletion-cost';

/** True for a pod that is neither finished nor being deleted (upstream IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

/** True when the pod's Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** When the pod last became Ready (ms), or undefined when it is not Ready. */
export function podReadyTime(pod: Pod): number | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
  return c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : undefined;
}

/** True when the pod has been Ready for at least minReadySeconds at `now` (upstream IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const t = podReadyTime(pod);
  return t !== undefined && t + minReadySeconds * 1000 <= now;
}

function phaseOrdinal(phase: string | undefined): number {
  switch (phase) {
    case 'Pending':
      return 0;
    case 'Running':
      return 2;
    default:
      return 1; // Unknown (and anything else) sorts between Pending and Running.
  }
}

function deletionCost(pod: Pod): number {
  const v = Number(pod.metadata?.annotations?.[podDeletionCostAnnotation] ?? 0);
  return Number.isFinite(v) ? v : 0;
}

function maxRestarts(pod: Pod): number {
  let m = 0;
  for (const s of pod.status?.containerStatuses ?? []) m = Math.max(m, s.restartCount ?? 0);
  return m;
}

// Buckets durations by powers of two (nanoseconds) so pods of similar age compare equal
// (upstream logarithmicRankDiff under the LogarithmicScaleDown gate, on by default).
function logRank(t: number, now: number): number {
  const d = (now - t) * 1e6;
  return d > 0 ? Math.floor(Math.log2(d)) : -1;
}

// "After or zero": a missing time sorts first, then the later time.
function afterOrZero(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || Number.isNaN(a)) return b !== undefined && !Number.isNaN(b);
  if (b === undefined || Number.isNaN(b)) return false;
  return a > b;
}

function compareTimes(
  a: number | undefined,
  b: number | undefined,
  now: number,
  uidA: string,
  uidB: string,
): boolean | undefined {
  if (a === b) return undefined;
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b)) {
    return afterOrZero(a, b);
  }
  const diff = logRank(a, now) - logRank(b, now);
  if (diff === 0) return uidA < uidB;
  return diff < 0;
}

/** A pod with its rank: the number of related active pods on the same node. */
export interface RankedPod {
  pod: Pod;
  rank: number;
}

/**
 * True when a should be deleted before b (upstream ActivePodsWithRanks.Less): unassigned, then
 * Pending < Unknown < Running, not ready, lower deletion cost, doubled-up, more recently ready,
 * more restarts, newer.
 */
export function deletesBefore(a: RankedPod, b: RankedPod, now: number): boolean {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '';
  const oa = phaseOrdinal(pa.status?.phase);
  const ob = phaseOrdinal(pb.status?.phase);
  if (oa !== ob) return oa < ob;
  const ra = isPodReady(pa);
  const rb = isPodReady(pb);
  if (ra !== rb) return !ra;
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca < cb;
  if (a.rank !== b.rank) return a.rank > b.rank;
  const uidA = pa.metadata?.uid ?? '';
  const uidB = pb.metadata?.uid ?? '';
  if (ra && rb) {
    const r = compareTimes(podReadyTime(pa), podReadyTime(pb), now, uidA, uidB);
    if (r !== undefined) return r;
  }
  const xa = maxRestarts(pa);
  const xb = maxRestarts(pb);
  if (xa !== xb) return xa > xb;
  const ta = pa.metadata?.creationTimestamp ? Date.parse(pa.metadata.creationTimestamp) : undefined;
  const tb = pb.metadata?.creationTimestamp ? Date.parse(pb.metadata.creationTimestamp) : undefined;
  return compareTimes(ta, tb, now, uidA, uidB) ?? false;
}

/**
 * Picks the `diff` pods to delete from filteredPods, ranking by how many relatedPods share their
 * node (upstream getPodsToDelete + getPodsRankedByRelatedPodsOnSameNode).
 */
export function getPodsToDelete(
  filteredPods: readonly Pod[],
  relatedPods: readonly Pod[],
  diff: number,
  now: number,
): Pod[] {
  if (diff >= filteredPods.length) return [...filteredPods];
  const perNode = new Map<string, number>();
  for (const p of relatedPods) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    perNode.set(n, (perNode.get(n) ?? 0) + 1);
  }
  const ranked: RankedPod[] = filteredPods.map((pod) => ({
    pod,
    rank: perNode.get(pod.spec?.nodeName ?? '') ?? 0,
  }));
  ranked.sort((a, b) => (deletesBefore(a, b, now) ? -1 : deletesBefore(b, a, now) ? 1 : 0));
  return ranked.slice(0, diff).map((r) => r.pod);
}
