// The persistent-volume controller: gives class-less claims the default StorageClass, provisions
// local-path volumes (at once, or once the scheduler picked a node for WaitForFirstConsumer),
// binds claims to volumes, reclaims released volumes and holds the pvc-protection finalizer
// (behaviour follows kubernetes pkg/controller/volume/persistentvolume/pv_controller.go syncClaim,
// syncVolume, provisionClaim, reclaimVolume, and pkg/controller/volume/pvcprotection).
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { parseQuantity } from '../../api/quantity.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isAlreadyExists, isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller } from '../runtime/controller.js';
import {
  claimRefOf,
  deleteVolumeDir,
  isDefaultClassAnnotation,
  localPathProvisioner,
  provisionVolume,
} from './provisioner.js';

/** Set by the scheduler on a WaitForFirstConsumer claim (upstream AnnSelectedNode). */
export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';
/** Keeps a claim while a pod uses it (upstream PVCProtectionFinalizer). */
export const pvcProtectionFinalizer = 'kubernetes.io/pvc-protection';
const storageProvisionerAnnotation = 'volume.kubernetes.io/storage-provisioner';
const betaStorageProvisionerAnnotation = 'volume.beta.kubernetes.io/storage-provisioner';
const bindCompletedAnnotation = 'pv.kubernetes.io/bind-completed';
const boundByControllerAnnotation = 'pv.kubernetes.io/bound-by-controller';

/** Options of createVolumeController. */
export interface VolumeControllerOptions {
  informers: InformerFactory;
  /** Host directory holding local-path volumes (<data dir>/storage). */
  storageRoot: string;
  /** The node local-path volumes are pinned to. */
  nodeName: string;
  clock?: Clock;
  log?: Logger;
}

/** The volume controller; `syncClaim` and `syncVolume` are exposed for tests. */
export interface VolumeController extends Component {
  readonly controller: Controller;
  readonly recorder: EventRecorder;
  syncClaim(key: string): Promise<void>;
  syncVolume(name: string): Promise<void>;
}

// Claims and volumes share one queue: volume keys carry a prefix no claim key has.
const pvPrefix = 'pv:';
const quantityBytes = (q: string | undefined): number => {
  try {
    return q ? parseQuantity(q) : 0;
  } catch {
    return 0; // validation rejects bad quantities; an odd one just matches nothing
  }
};

/** Creates the volume controller. */
export function createVolumeController(opts: VolumeControllerOptions): VolumeController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const pvcs = informers.informerFor<PersistentVolumeClaim>(R.persistentvolumeclaims);
  const pvs = informers.informerFor<PersistentVolume>(R.persistentvolumes);
  const classes = informers.informerFor<StorageClass>(R.storageclasses);
  const pods = informers.informerFor<Pod>(R.pods);
  const recorder = new EventRecorder({
    client,
    component: 'persistentvolume-controller',
    clock,
    log: opts.log,
  });
  const ref = (pvc: PersistentVolumeClaim) =>
    ({ ...pvc, apiVersion: 'v1', kind: 'PersistentVolumeClaim' }) as KObject;

  const defaultClass = (): StorageClass | undefined =>
    classes.lister
      .list()
      .filter((c) => c.metadata?.annotations?.[isDefaultClassAnnotation] === 'true')
      .sort((a, b) =>
        (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''),
      )[0];

  const podsUsing = (pvc: PersistentVolumeClaim): Pod[] =>
    pods.lister
      .list(pvc.metadata?.namespace)
      .filter(
        (p) =>
          p.status?.phase !== 'Succeeded' &&
          p.status?.phase !== 'Failed' &&
          p.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === pvc.metadata?.name),
      );

  const patchClaim = (pvc: PersistentVolumeClaim, patch: unknown, subresource?: string) =>
    client.patch<PersistentVolumeClaim>(
      R.persistentvolumeclaims,
      pvc.metadata?.namespace,
      pvc.metadata?.name ?? '',
      patch,
      { type: 'merge', subresource },
    );

  const syncClaim = async (key: string): Promise<void> => {
    const { namespace, name } = splitKey(key);
    const pvc = pvcs.lister.get(namespace, name);
    if (!pvc) return;
    const finalizers = pvc.metadata?.finalizers ?? [];
    if (pvc.metadata?.deletionTimestamp) {
      // pvc-protection: the claim goes only once no pod that can still run uses it.
      if (finalizers.includes(pvcProtectionFinalizer) && podsUsing(pvc).length === 0) {
        await patchClaim(pvc, {
          metadata: {
            resourceVersion: pvc.metadata.resourceVersion,
            finalizers: finalizers.filter((f) => f !== pvcProtectionFinalizer),
          },
        });
      }
      return;
    }
    if (!finalizers.includes(pvcProtectionFinalizer)) {
      await patchClaim(pvc, {
        metadata: {
          resourceVersion: pvc.metadata?.resourceVersion,
          finalizers: [...finalizers, pvcProtectionFinalizer],
        },
      });
      return; // the update event syncs again
    }
    // Retroactive default class: a claim created without one gets today's default.
    if (pvc.spec?.storageClassName == null && !pvc.spec?.volumeName) {
      const dc = defaultClass();
      if (dc) await patchClaim(pvc, { spec: { storageClassName: dc.metadata?.name } });
      return;
    }
    if (pvc.spec?.volumeName) {
      const pv = pvs.lister.get(undefined, pvc.spec.volumeName);
      if (pv && pv.spec?.claimRef?.uid === pvc.metadata?.uid) await markClaimBound(pvc, pv);
      return;
    }
    // Pending: an existing matching volume first, else provision one.
    const match = findMatchingVolume(pvc);
    if (match) {
      await bindVolume(match, pvc);
      return;
    }
    const cls = classes.lister.get(undefined, pvc.spec?.storageClassName ?? '');
    if (!cls) {
      await setClaimPending(pvc);
      return;
    }
    if (cls.provisioner !== localPathProvisioner) {
      await setClaimPending(pvc);
      return;
    }
    const selected = pvc.metadata?.annotations?.[selectedNodeAnnotation];
    if (cls.volumeBindingMode === 'WaitForFirstConsumer' && !selected) {
      recorder.event(
        ref(pvc),
        'Normal',
        'WaitForFirstConsumer',
        'waiting for first consumer to be created before binding',
      );
      await setClaimPending(pvc);
      return;
    }
    recorder.event(
      ref(pvc),
      'Normal',
      'Provisioning',
      `External provisioner is provisioning volume for claim "${key}"`,
    );
    const pv = await provisionVolume({
      root: opts.storageRoot,
      pvc,
      storageClass: cls,
      nodeName: selected ?? opts.nodeName,
    });
    let created: PersistentVolume;
    try {
      created = await client.create<PersistentVolume>(R.persistentvolumes, pv);
    } catch (err) {
      if (!isAlreadyExists(err)) {
        recorder.event(ref(pvc), 'Warning', 'ProvisioningFailed', errorMessage(err));
        throw err;
      }
      created = await client.get<PersistentVolume>(
        R.persistentvolumes,
        undefined,
        pv.metadata?.name ?? '',
      );
    }
    recorder.event(
      ref(pvc),
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${created.metadata?.name}`,
    );
    // The provisioner annotations ride on the binding write: one write less on the way to a
    // bound claim (upstream's in-tree controller sets them in an update of their own).
    await bindVolume(created, pvc, {
      [storageProvisionerAnnotation]: localPathProvisioner,
      [betaStorageProvisionerAnnotation]: localPathProvisioner,
    });
  };

  const setClaimPending = async (pvc: PersistentVolumeClaim) => {
    if (pvc.status?.phase === 'Pending') return;
    await patchClaim(pvc, { status: { phase: 'Pending' } }, 'status');
  };

  // Static binding: an Available volume of the claim's class that is big enough and has the modes.
  const findMatchingVolume = (pvc: PersistentVolumeClaim): PersistentVolume | undefined => {
    const want = quantityBytes(pvc.spec?.resources?.requests?.storage);
    const modes = pvc.spec?.accessModes ?? [];
    const candidates = pvs.lister.list().filter((pv) => {
      const cr = pv.spec?.claimRef;
      if (cr && !(cr.namespace === pvc.metadata?.namespace && cr.name === pvc.metadata?.name))
        return false;
      if (cr?.uid && cr.uid !== pvc.metadata?.uid) return false;
      if (pv.metadata?.deletionTimestamp || pv.status?.phase === 'Released') return false;
      if ((pv.spec?.storageClassName ?? '') !== (pvc.spec?.storageClassName ?? '')) return false;
      if (quantityBytes(pv.spec?.capacity?.storage) < want) return false;
      return modes.every((m) => pv.spec?.accessModes?.includes(m));
    });
    // Pre-bound volumes first, then the smallest that fits (upstream findBestMatchForClaim).
    candidates.sort(
      (a, b) =>
        Number(!!b.spec?.claimRef) - Number(!!a.spec?.claimRef) ||
        quantityBytes(a.spec?.capacity?.storage) - quantityBytes(b.spec?.capacity?.storage),
    );
    return candidates[0];
  };

  // Volume side first (claimRef, Bound), then the claim (volumeName, Bound): a crash in between
  // leaves a volume pre-bound to the claim, which the next sync completes.
  const bindVolume = async (
    pv: PersistentVolume,
    pvc: PersistentVolumeClaim,
    annotations: Record<string, string> = {},
  ) => {
    let bound = pv;
    if (pv.spec?.claimRef?.uid !== pvc.metadata?.uid) {
      bound = await client.patch<PersistentVolume>(
        R.persistentvolumes,
        undefined,
        pv.metadata?.name ?? '',
        {
          metadata: {
            resourceVersion: pv.metadata?.resourceVersion,
            annotations: { [boundByControllerAnnotation]: 'yes' },
          },
          spec: {
            claimRef: { ...claimRefOf(pvc), resourceVersion: pvc.metadata?.resourceVersion },
          },
        },
        { type: 'merge' },
      );
    }
    if (bound.status?.phase !== 'Bound') {
      bound = await client.patch<PersistentVolume>(
        R.persistentvolumes,
        undefined,
        bound.metadata?.name ?? '',
        { status: { phase: 'Bound' } },
        { type: 'merge', subresource: 'status' },
      );
    }
    const claimed = await patchClaim(pvc, {
      metadata: {
        annotations: {
          ...annotations,
          [bindCompletedAnnotation]: 'yes',
          [boundByControllerAnnotation]: 'yes',
        },
      },
      spec: { volumeName: bound.metadata?.name },
    });
    await markClaimBound(claimed, bound);
  };

  const markClaimBound = async (pvc: PersistentVolumeClaim, pv: PersistentVolume) => {
    if (pvc.status?.phase === 'Bound') return;
    await patchClaim(
      pvc,
      {
        status: {
          phase: 'Bound',
          accessModes: pv.spec?.accessModes,
          capacity: pv.spec?.capacity,
        },
      },
      'status',
    );
  };

  // A volume whose claim is gone is Released, then deleted or kept per its reclaim policy.
  const syncVolume = async (name: string): Promise<void> => {
    const pv = pvs.lister.get(undefined, name);
    if (!pv || pv.metadata?.deletionTimestamp) return;
    const cr = pv.spec?.claimRef;
    if (!cr) {
      if (pv.status?.phase !== 'Available') await setVolumePhase(pv, 'Available');
      return;
    }
    if (!cr.uid) return; // pre-bound by the user: waits for its claim
    const claim = pvcs.lister.get(cr.namespace, cr.name ?? '');
    if (claim && claim.metadata?.uid === cr.uid) return;
    if (claim === undefined) {
      // The cache may lag a fresh claim: confirm with the API before releasing anything.
      try {
        const live = await client.get<PersistentVolumeClaim>(
          R.persistentvolumeclaims,
          cr.namespace,
          cr.name ?? '',
        );
        if (live.metadata?.uid === cr.uid) return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (pv.status?.phase !== 'Released') await setVolumePhase(pv, 'Released');
    if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return; // Retain: the admin's call
    if (pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === localPathProvisioner) {
      await deleteVolumeDir(opts.storageRoot, pv);
    }
    try {
      await client.delete(R.persistentvolumes, undefined, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const setVolumePhase = (pv: PersistentVolume, phase: string) =>
    client.patch(
      R.persistentvolumes,
      undefined,
      pv.metadata?.name ?? '',
      { status: { phase } },
      { type: 'merge', subresource: 'status' },
    );

  const controller = new Controller({
    name: 'persistentvolume-controller',
    informers,
    clock,
    log: opts.log,
    reconcile: async (key) => {
      if (key.startsWith(pvPrefix)) await syncVolume(key.slice(pvPrefix.length));
      else await syncClaim(key);
    },
  });
  controller.watch(pvcs);
  controller.watch(pvs, (pv) => pvPrefix + (pv.metadata?.name ?? ''));
  controller.watch(classes, () =>
    pvcs.lister
      .list()
      .filter((c) => !c.spec?.volumeName)
      .map(objectKey),
  );
  // A pod that stops or goes away may release a claim that waits for deletion.
  controller.watch(pods, (p) =>
    (p.spec?.volumes ?? [])
      .filter((v) => v.persistentVolumeClaim)
      .map((v) => `${p.metadata?.namespace}/${v.persistentVolumeClaim?.claimName}`),
  );
  // Claims are watched by key; a deleted claim releases its volume.
  pvcs.addEventHandler({
    onDelete: (pvc) => {
      if (pvc.spec?.volumeName) controller.enqueue(pvPrefix + pvc.spec.volumeName);
    },
  });

  return {
    name: controller.name,
    controller,
    recorder,
    syncClaim,
    syncVolume,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
