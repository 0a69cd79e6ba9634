// How many pods a PodDisruptionBudget expects and how many must stay healthy (behaviour follows
// kubernetes pkg/controller/disruption/disruption.go getExpectedPodCount, getExpectedScale and
// the finders getPodReplicaSet, getPodDeployment, getPodStatefulSet).
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';

/** A workload with a scale, as the listers show it. */
export interface ScaledController {
  uid?: string;
  replicas?: number;
  controllerRef?: OwnerReference;
}

/** Looks a controller up in the caches (undefined when absent). */
export type ControllerLookup = (
  kind: 'ReplicaSet' | 'Deployment' | 'StatefulSet',
  namespace: string,
  name: string,
) => ScaledController | undefined;

/** The counts of a budget, or why they cannot be known (the status then fails safe). */
export type ExpectedCount =
  | { expected: number; desired: number; unmanaged: string[] }
  | { error: string; unmanaged: string[] };

const controllerOf = (o: { metadata?: { ownerReferences?: OwnerReference[] } }) =>
  o.metadata?.ownerReferences?.find((r) => r.controller);

// "50%" of total rounded up, or the integer itself (intstr.GetScaledValueFromIntOrPercent, up).
const scaledUp = (v: number | string, total: number): number | undefined => {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  return m ? Math.ceil((Number(m[1]) * total) / 100) : undefined;
};

// The scale of the pod's controller: a Deployment through its ReplicaSet, a bare ReplicaSet, a
// StatefulSet. Anything else (a DaemonSet, a Job) has no scale to read.
function scaleOf(
  ref: OwnerReference,
  namespace: string,
  lookup: ControllerLookup,
): { uid: string; scale: number } | undefined {
  if (ref.kind === 'ReplicaSet') {
    const rs = lookup('ReplicaSet', namespace, ref.name);
    if (!rs || rs.uid !== ref.uid) return undefined;
    const owner = rs.controllerRef;
    if (owner?.kind !== 'Deployment') return { uid: ref.uid, scale: rs.replicas ?? 1 };
    const d = lookup('Deployment', namespace, owner.name);
    return d && d.uid === owner.uid ? { uid: owner.uid, scale: d.replicas ?? 1 } : undefined;
  }
  if (ref.kind === 'StatefulSet') {
    const s = lookup('StatefulSet', namespace, ref.name);
    return s && s.uid === ref.uid ? { uid: ref.uid, scale: s.replicas ?? 1 } : undefined;
  }
  return undefined;
}

// The summed scale of the controllers of `pods`, each counted once; pods without a controller
// are left out and reported (upstream getExpectedScale).
function expectedScale(
  pods: Pod[],
  lookup: ControllerLookup,
): { count: number; unmanaged: string[] } | { error: string; unmanaged: string[] } {
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  for (const p of pods) {
    const ref = controllerOf(p);
    if (!ref) {
      unmanaged.push(p.metadata?.name ?? '');
      continue;
    }
    const found = scaleOf(ref, p.metadata?.namespace ?? '', lookup);
    if (!found) return { error: `found no controllers for pod "${p.metadata?.name}"`, unmanaged };
    scales.set(found.uid, found.scale);
  }
  let count = 0;
  for (const s of scales.values()) count += s;
  return { count, unmanaged };
}

/**
 * expectedPods and desiredHealthy of a budget: an integer minAvailable counts the selected pods;
 * maxUnavailable and a percentage minAvailable count the controllers' scale.
 */
export function getExpectedPodCount(
  pdb: PodDisruptionBudget,
  pods: Pod[],
  lookup: ControllerLookup,
): ExpectedCount {
  const maxUnavailable = pdb.spec?.maxUnavailable;
  const minAvailable = pdb.spec?.minAvailable;
  if (maxUnavailable !== undefined) {
    const s = expectedScale(pods, lookup);
    if ('error' in s) return s;
    const n = scaledUp(maxUnavailable, s.count);
    if (n === undefined)
      return { error: `invalid maxUnavailable "${maxUnavailable}"`, unmanaged: s.unmanaged };
    return { expected: s.count, desired: Math.max(0, s.count - n), unmanaged: s.unmanaged };
  }
  if (typeof minAvailable === 'number' || minAvailable === undefined) {
    return { expected: pods.length, desired: minAvailable ?? 0, unmanaged: [] };
  }
  const s = expectedScale(pods, lookup);
  if ('error' in s) return s;
  const n = scaledUp(minAvailable, s.count);
  if (n === undefined)
    return { error: `invalid minAvailable "${minAvailable}"`, unmanaged: s.unmanaged };
  return { expected: s.count, desired: n, unmanaged: s.unmanaged };
}
