// Stable identity of StatefulSet pods: ordinal names, hostname/subdomain, claims per ordinal, and
// the ControllerRevisions that version the pod template (kubernetes pkg/controller/statefulset/
// stateful_set_utils.go newStatefulSetPod, getPersistentVolumeClaims, newRevision, getPatch).
import type { ControllerRevision, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { newControllerRef } from '../runtime/owner.js';
import { revisionTemplate } from '../runtime/revision.js';

export const setGVK = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const;
/** Pod label naming the revision it runs (upstream ControllerRevisionHashLabelKey). */
export const revisionLabel = 'controller-revision-hash';
/** Pod label with the pod's own name (upstream StatefulSetPodNameLabel). */
export const podNameLabel = 'statefulset.kubernetes.io/pod-name';
/** Pod label with the ordinal (upstream PodIndexLabel). */
export const podIndexLabel = 'apps.kubernetes.io/pod-index';

/** "<set>-<ordinal>". */
export const podName = (set: StatefulSet, ordinal: number) => `${set.metadata?.name}-${ordinal}`;

/** The ordinal of a pod of this set, or undefined when its name is not "<set>-<n>". */
export function getOrdinal(set: StatefulSet, pod: Pod): number | undefined {
  const prefix = `${set.metadata?.name}-`;
  const name = pod.metadata?.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

/** "<template>-<set>-<ordinal>" (upstream getPersistentVolumeClaimName). */
export const claimName = (set: StatefulSet, template: string, ordinal: number) =>
  `${template}-${set.metadata?.name}-${ordinal}`;

/** The claims the pod at `ordinal` needs, from volumeClaimTemplates. */
export function claimsFor(set: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  const selectorLabels = set.spec?.selector?.matchLabels ?? {};
  return (set.spec?.volumeClaimTemplates ?? []).map((t) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(set, t.metadata?.name ?? '', ordinal),
      namespace: set.metadata?.namespace,
      labels: { ...(t.metadata?.labels ?? {}), ...selectorLabels },
      annotations: t.metadata?.annotations ? { ...t.metadata.annotations } : undefined,
    },
    spec: structuredClone(t.spec ?? {}),
  }));
}

/** The pod for `ordinal` at a revision's template (upstream newVersionedStatefulSetPod). */
export function newPod(set: StatefulSet, rev: ControllerRevision, ordinal: number): Pod {
  const template = revisionTemplate(rev) ?? set.spec?.template ?? {};
  const name = podName(set, ordinal);
  const spec = structuredClone(template.spec ?? { containers: [] });
  spec.hostname = name;
  spec.subdomain = set.spec?.serviceName || undefined;
  // Each claim template replaces (or adds) the pod volume of the same name.
  const claimVolumes: Volume[] = (set.spec?.volumeClaimTemplates ?? []).map((t) => ({
    name: t.metadata?.name ?? '',
    persistentVolumeClaim: { claimName: claimName(set, t.metadata?.name ?? '', ordinal) },
  }));
  const names = new Set(claimVolumes.map((v) => v.name));
  spec.volumes = [...(spec.volumes ?? []).filter((v) => !names.has(v.name)), ...claimVolumes];
  if (spec.volumes.length === 0) delete spec.volumes;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata?.namespace,
      labels: {
        ...(template.metadata?.labels ?? {}),
        [podNameLabel]: name,
        [podIndexLabel]: String(ordinal),
        [revisionLabel]: rev.metadata?.name ?? '',
      },
      annotations: template.metadata?.annotations
        ? { ...template.metadata.annotations }
        : undefined,
      ownerReferences: [newControllerRef(set, setGVK)],
    },
    spec,
  };
}
