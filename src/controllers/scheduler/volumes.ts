// Volume checks of scheduling (kubernetes pkg/scheduler/framework/plugins/volumebinding
// PreFilter/PreBind, reduced to one node): every claim must exist, and unbound claims either wait
// for their first consumer (the scheduler then names the node) or block the pod.
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { Lister } from '../../client/informer.js';

/** The outcome for one pod: a failure message, or the unbound WaitForFirstConsumer claims. */
export interface VolumeCheck {
  failure?: string;
  unbound: PersistentVolumeClaim[];
}

/** Checks the pod's persistentVolumeClaim volumes against the claim and class caches. */
export function checkPodVolumes(
  pod: Pod,
  opts: { claims: Lister<PersistentVolumeClaim>; classes: Lister<StorageClass> },
): VolumeCheck {
  const unbound: PersistentVolumeClaim[] = [];
  const ns = pod.metadata?.namespace;
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    if (!name) continue;
    const c = opts.claims.get(ns, name);
    if (!c) return { failure: `persistentvolumeclaim "${name}" not found`, unbound };
    if (c.metadata?.deletionTimestamp) {
      return { failure: `persistentvolumeclaim "${name}" is being deleted`, unbound };
    }
    if (c.spec?.volumeName) continue;
    const cls = opts.classes.get(undefined, c.spec?.storageClassName ?? '');
    if (cls?.volumeBindingMode === 'WaitForFirstConsumer') unbound.push(c);
    else return { failure: 'pod has unbound immediate PersistentVolumeClaims', unbound };
  }
  return { unbound };
}
