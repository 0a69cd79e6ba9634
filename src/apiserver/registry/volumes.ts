// PersistentVolumeClaim, PersistentVolume and StorageClass strategies: defaults
// (pkg/apis/core/v1/defaults.go) and printer columns (printers.go printPersistentVolumeClaim,
// printPersistentVolume, printStorageClass).
import type { KObject } from '../../api/object.js';
import {
  ageColumn,
  ageOf,
  col,
  keepStatusOnUpdate,
  nameColumn,
  newestDefaultClass,
  printer,
} from './common.js';
import type { Strategy } from './types.js';
import { child, isObj, meta, type Obj, setDefault, str, sub } from './util.js';

const modeShort: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};
const accessModes = (v: unknown): string =>
  Array.isArray(v) ? v.map((m) => modeShort[str(m)] ?? str(m)).join(',') : '';
const capacity = (v: unknown): string => (isObj(v) ? str(v.storage) : '');

const defaultClassAnnotations = [
  'storageclass.kubernetes.io/is-default-class',
  'storageclass.beta.kubernetes.io/is-default-class',
];
const pvcProtectionFinalizer = 'kubernetes.io/pvc-protection';

/**
 * What upstream's admission plugins do to a new claim: DefaultStorageClass names the default class
 * when the claim names none (null, not ""), and StorageObjectInUseProtection adds the
 * pvc-protection finalizer. Done here, at create, the volume controller need not write either
 * back (two watch round trips before a claim can be provisioned).
 */
function admitClaim(pvc: KObject, classes: KObject[]): void {
  const spec = child(pvc as Obj, 'spec');
  if (spec.storageClassName == null) {
    const name = newestDefaultClass(classes, defaultClassAnnotations);
    if (name) spec.storageClassName = name;
  }
  const m = meta(pvc);
  const finalizers = Array.isArray(m.finalizers) ? (m.finalizers as unknown[]) : [];
  if (!finalizers.includes(pvcProtectionFinalizer)) {
    m.finalizers = [...finalizers, pvcProtectionFinalizer];
  }
}

/** The core/v1 PersistentVolumeClaim strategy. */
export const pvcStrategy: Strategy = {
  defaults: (obj) => setDefault(child(obj as Obj, 'spec'), 'volumeMode', 'Filesystem'),
  prepareForCreate: (obj, ctx) => {
    (obj as Obj).status = { phase: 'Pending' };
    admitClaim(obj, ctx.listStored('storage.k8s.io', 'storageclasses'));
  },
  prepareForUpdate: keepStatusOnUpdate,
  table: printer(
    [
      col('Status'),
      col('Volume'),
      col('Capacity'),
      col('Access Modes'),
      col('StorageClass'),
      col('VolumeAttributesClass'),
      ageColumn,
      col('VolumeMode', 'string', true),
    ],
    (pvc, now) => {
      const spec = sub(pvc, 'spec') ?? {};
      const status = sub(pvc, 'status') ?? {};
      const bound = str(status.phase) === 'Bound';
      return [
        pvc.metadata?.deletionTimestamp ? 'Terminating' : str(status.phase),
        str(spec.volumeName),
        bound ? capacity(status.capacity) : '',
        bound ? accessModes(status.accessModes) : '',
        str(spec.storageClassName),
        spec.volumeAttributesClassName ? str(spec.volumeAttributesClassName) : '<unset>',
        ageOf(pvc, now),
        str(spec.volumeMode) || '<unset>',
      ];
    },
  ),
};

/** The core/v1 PersistentVolume strategy. */
export const pvStrategy: Strategy = {
  defaults: (obj) => {
    const spec = child(obj as Obj, 'spec');
    setDefault(spec, 'persistentVolumeReclaimPolicy', 'Retain');
    setDefault(spec, 'volumeMode', 'Filesystem');
  },
  prepareForCreate: (obj) => {
    (obj as Obj).status = { phase: 'Pending' };
  },
  prepareForUpdate: keepStatusOnUpdate,
  table: printer(
    [
      col('Capacity'),
      col('Access Modes'),
      col('Reclaim Policy'),
      col('Status'),
      col('Claim'),
      col('StorageClass'),
      col('VolumeAttributesClass'),
      col('Reason'),
      ageColumn,
      col('VolumeMode', 'string', true),
    ],
    (pv, now) => {
      const spec = sub(pv, 'spec') ?? {};
      const status = sub(pv, 'status') ?? {};
      const claim = sub(spec, 'claimRef');
      return [
        capacity(spec.capacity),
        accessModes(spec.accessModes),
        str(spec.persistentVolumeReclaimPolicy),
        pv.metadata?.deletionTimestamp ? 'Terminating' : str(status.phase),
        claim ? `${str(claim.namespace)}/${str(claim.name)}` : '',
        str(spec.storageClassName),
        spec.volumeAttributesClassName ? str(spec.volumeAttributesClassName) : '<unset>',
        str(status.reason),
        ageOf(pv, now),
        str(spec.volumeMode) || '<unset>',
      ];
    },
  ),
};

const isDefault = (sc: KObject) =>
  defaultClassAnnotations.some((a) => sc.metadata?.annotations?.[a] === 'true');

/** The storage.k8s.io/v1 StorageClass strategy. */
export const storageClassStrategy: Strategy = {
  defaults: (obj) => {
    setDefault(obj as Obj, 'reclaimPolicy', 'Delete');
    setDefault(obj as Obj, 'volumeBindingMode', 'Immediate');
  },
  table: {
    columns: [
      nameColumn,
      col('Provisioner'),
      col('ReclaimPolicy'),
      col('VolumeBindingMode'),
      col('AllowVolumeExpansion', 'string'),
      ageColumn,
    ],
    cells: (sc, now) => {
      const o = sc as Obj;
      return [
        // The default class is marked in its NAME cell, as upstream prints it.
        isDefault(sc) ? `${str(sc.metadata?.name)} (default)` : str(sc.metadata?.name),
        str(o.provisioner),
        str(o.reclaimPolicy) || 'Delete',
        str(o.volumeBindingMode) || 'Immediate',
        o.allowVolumeExpansion === true ? 'true' : 'false',
        ageOf(sc, now),
      ];
    },
  },
};
