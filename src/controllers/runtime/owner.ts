// ControllerRef helpers and the claim logic: adopt matching orphans, release non-matching children
// (kubernetes pkg/controller/controller_ref_manager.go ClaimPods / ClaimReplicaSets).
import type { LabelSelector, ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import { labelSelectorAsSelector, matchesSelector } from '../../api/labels.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { MetaObject } from '../../client/informer.js';
import { isNotFound, type KObject, type KubeClient } from '../../client/rest.js';

/** The ownerReference with controller=true, if any (upstream metav1.GetControllerOf). */
export function getControllerOf(obj: { metadata?: ObjectMeta }): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** A controller ownerReference pointing at owner (upstream metav1.NewControllerRef). */
export function newControllerRef(
  owner: { metadata?: ObjectMeta },
  gvk: { apiVersion: string; kind: string },
): OwnerReference {
  return {
    apiVersion: gvk.apiVersion,
    kind: gvk.kind,
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Options of claimObjects. */
export interface ClaimOptions {
  client: KubeClient;
  /** The resource of the children (pods, replicasets). */
  resource: ResourceInfo;
  owner: KObject;
  ownerGVK: { apiVersion: string; kind: string };
  selector: LabelSelector | undefined;
  /**
   * Re-reads the owner from the API before adopting (upstream RecheckDeletionTimestamp): returns
   * false when the owner is gone, replaced (new uid) or being deleted.
   */
  canAdopt: () => Promise<boolean>;
}

/**
 * Returns the children the owner controls after adopting matching orphans and releasing owned
 * children whose labels no longer match (upstream ClaimObject). Children owned by another
 * controller are never touched.
 */
export async function claimObjects<T extends MetaObject>(
  candidates: readonly T[],
  opts: ClaimOptions,
): Promise<T[]> {
  const { owner } = opts;
  const uid = owner.metadata?.uid;
  const ownerDeleting = !!owner.metadata?.deletionTimestamp;
  const claimed: T[] = [];
  let adoptable: boolean | undefined;
  const selector = labelSelectorAsSelector(opts.selector);
  for (const child of candidates) {
    const ref = getControllerOf(child);
    const matches = matchesSelector(selector, child.metadata?.labels);
    if (ref) {
      if (ref.uid !== uid) continue; // owned by someone else
      if (matches) claimed.push(child);
      else if (!ownerDeleting) await release(child, opts);
      continue;
    }
    // An orphan: adopt only when it matches and neither side is being deleted.
    if (!matches || ownerDeleting || child.metadata?.deletionTimestamp) continue;
    adoptable ??= await opts.canAdopt();
    if (!adoptable) continue;
    const adopted = await adopt(child, opts);
    if (adopted) claimed.push(adopted);
  }
  return claimed;
}

async function adopt<T extends MetaObject>(child: T, opts: ClaimOptions): Promise<T | undefined> {
  const refs = [
    ...(child.metadata?.ownerReferences ?? []),
    newControllerRef(opts.owner, opts.ownerGVK),
  ];
  try {
    // The uid in the patch makes it fail if the child was deleted and re-created meanwhile.
    return await opts.client.patch<T>(
      opts.resource,
      child.metadata?.namespace,
      child.metadata?.name ?? '',
      { metadata: { uid: child.metadata?.uid, ownerReferences: refs } },
      { type: 'merge' },
    );
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function release(child: MetaObject, opts: ClaimOptions): Promise<void> {
  const uid = opts.owner.metadata?.uid;
  const refs = (child.metadata?.ownerReferences ?? []).filter((r) => r.uid !== uid);
  try {
    await opts.client.patch(
      opts.resource,
      child.metadata?.namespace,
      child.metadata?.name ?? '',
      { metadata: { uid: child.metadata?.uid, ownerReferences: refs.length ? refs : null } },
      { type: 'merge' },
    );
  } catch (err) {
    // Gone already: nothing left to release.
    if (!isNotFound(err)) throw err;
  }
}

/** Runs fn count times in batches of 1, 2, 4, …; stops after a batch with errors (upstream slowStartBatch). */
export async function slowStartBatch(
  count: number,
  initialBatchSize: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (
    let batch = Math.min(remaining, initialBatchSize);
    batch > 0;
    batch = Math.min(2 * batch, remaining)
  ) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    let error: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else error ??= r.reason;
    }
    if (error !== undefined) return { successes, error };
    remaining -= batch;
  }
  return { successes };
}
