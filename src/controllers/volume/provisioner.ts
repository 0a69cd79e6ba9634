// The local-path provisioner behind the default StorageClass: one host directory per claim under
// the data dir, served as a hostPath PersistentVolume pinned to the node (the role k3s's
// rancher/local-path-provisioner plays; PV shape as its provisioner.go Provision builds it).
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type {
  ObjectReference,
  PersistentVolume,
  PersistentVolumeClaim,
} from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';

/** The provisioner name of Skiff's default StorageClass (as kind and k3s name theirs). */
export const localPathProvisioner = 'rancher.io/local-path';
/** The default StorageClass every claim without a class gets. */
export const defaultStorageClassName = 'standard';
/** Marks the default StorageClass (upstream storageutil.IsDefaultAnnotation). */
export const isDefaultClassAnnotation = 'storageclass.kubernetes.io/is-default-class';

/** The default StorageClass object that `skiff up` creates. */
export function defaultStorageClass(): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: defaultStorageClassName,
      annotations: { [isDefaultClassAnnotation]: 'true' },
    },
    provisioner: localPathProvisioner,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  } as StorageClass;
}

/** Where a claim's data lives: <root>/pvc-<uid>_<namespace>_<name> (local-path's naming). */
export function volumeDir(root: string, pvc: PersistentVolumeClaim): string {
  const m = pvc.metadata;
  return path.join(root, `pvc-${m?.uid}_${m?.namespace}_${m?.name}`);
}

/** The reference a volume bound to the claim carries in spec.claimRef. */
export function claimRefOf(pvc: PersistentVolumeClaim): ObjectReference {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: pvc.metadata?.namespace,
    name: pvc.metadata?.name,
    uid: pvc.metadata?.uid,
  };
}

/** Creates the claim's directory and returns the PV that exposes it, pre-bound to the claim. */
export async function provisionVolume(opts: {
  root: string;
  pvc: PersistentVolumeClaim;
  storageClass: StorageClass;
  nodeName: string;
}): Promise<PersistentVolume> {
  const { pvc, storageClass } = opts;
  const dir = volumeDir(opts.root, pvc);
  // 0777 like local-path: pods run as any user and must be able to write their volume.
  await mkdir(dir, { recursive: true, mode: 0o777 });
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: `pvc-${pvc.metadata?.uid}`,
      annotations: { 'pv.kubernetes.io/provisioned-by': localPathProvisioner },
    },
    spec: {
      capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
      accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
      storageClassName: storageClass.metadata?.name,
      volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
      hostPath: { path: dir, type: 'DirectoryOrCreate' },
      claimRef: claimRefOf(pvc),
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'In', values: [opts.nodeName] },
              ],
            },
          ],
        },
      },
    },
  };
}

/** Removes a provisioned volume's directory, only when it lies under root (never elsewhere). */
export async function deleteVolumeDir(root: string, pv: PersistentVolume): Promise<void> {
  const dir = pv.spec?.hostPath?.path;
  if (!dir) return;
  const rel = path.relative(root, dir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return;
  await rm(dir, { recursive: true, force: true });
}
