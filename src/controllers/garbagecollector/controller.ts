// The garbage collector: deletes dependents whose owners are gone (Background), deletes blocking
// dependents before their owner (Foreground), and orphans dependents (Orphan)
// (behaviour follows kubernetes pkg/controller/garbagecollector/garbagecollector.go
// attemptToDeleteItem, processDeletingDependentsItem, orphanDependents).
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { findByKind, findResource, type ResourceInfo } from '../../api/resources.js';
import type { MetaObject } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { isConflict, isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { type GraphNode, OwnershipGraph } from './graph.js';

/** The finalizer asking the GC to delete blocking dependents first. */
export const foregroundDeletionFinalizer = 'foregroundDeletion';
/** The finalizer asking the GC to orphan dependents. */
export const orphanFinalizer = 'orphan';

/** Resources watched by default: the usual owners and dependents. */
export const defaultGCResources: readonly ResourceInfo[] = [
  ['apps', 'v1', 'deployments'],
  ['apps', 'v1', 'replicasets'],
  ['apps', 'v1', 'statefulsets'],
  ['apps', 'v1', 'daemonsets'],
  ['apps', 'v1', 'controllerrevisions'],
  ['batch', 'v1', 'jobs'],
  ['batch', 'v1', 'cronjobs'],
  ['', 'v1', 'pods'],
  ['', 'v1', 'services'],
  ['', 'v1', 'endpoints'],
  ['discovery.k8s.io', 'v1', 'endpointslices'],
].map(([g, v, r]) => findResource(g!, v!, r!)!);

/** Options of createGarbageCollector. */
export interface GarbageCollectorOptions {
  informers: InformerFactory;
  /** Resources to build the graph from (defaultGCResources). */
  resources?: readonly ResourceInfo[];
  clock?: Clock;
  log?: Logger;
  workers?: number;
}

/** The garbage collector; `processItem` handles one queue key ("dep:<uid>" or "owner:<uid>"). */
export interface GarbageCollector extends Component {
  readonly controller: Controller;
  readonly graph: OwnershipGraph;
  processItem(key: string): Promise<Result | undefined>;
}

type OwnerState = 'solid' | 'dangling' | 'waiting';

/** Creates the garbage collector. */
export function createGarbageCollector(opts: GarbageCollectorOptions): GarbageCollector {
  const { informers } = opts;
  const client = informers.client;
  const graph = new OwnershipGraph();
  const resources = opts.resources ?? defaultGCResources;

  const controller = new Controller({
    name: 'garbage-collector',
    informers,
    clock: opts.clock ?? realClock,
    log: opts.log,
    workers: opts.workers ?? 2,
    reconcile: (key) => processItem(key),
  });

  // Classifies an owner reference: gone (or replaced), deleting its dependents first, or present.
  const ownerState = async (dep: GraphNode, ref: OwnerReference): Promise<OwnerState> => {
    const owner = graph.get(ref.uid);
    const r = findByKind(ref.apiVersion, ref.kind);
    if (owner) {
      return owner.beingDeleted && owner.finalizers.includes(foregroundDeletionFinalizer)
        ? 'waiting'
        : 'solid';
    }
    // A kind we cannot map (e.g. a custom resource) is left alone, as upstream does when its
    // REST mapping fails: deleting on a lookup we cannot make would destroy live objects.
    if (!r) return 'solid';
    // Not in the graph: an unwatched kind, or a watched one our cache has not seen (yet or any
    // more). Ask the API rather than delete on a lagging cache.
    try {
      const live = await client.get<KObject>(r, r.namespaced ? dep.namespace : undefined, ref.name);
      if (live.metadata?.uid !== ref.uid) return 'dangling';
      const m = live.metadata;
      return m?.deletionTimestamp && m.finalizers?.includes(foregroundDeletionFinalizer)
        ? 'waiting'
        : 'solid';
    } catch (err) {
      if (isNotFound(err)) return 'dangling';
      throw err;
    }
  };

  const deleteObject = async (n: GraphNode, policy: 'Background' | 'Foreground' | 'Orphan') => {
    try {
      await client.delete(n.resource, n.namespace, n.name, {
        propagationPolicy: policy,
        preconditions: { uid: n.uid },
      });
    } catch (err) {
      // Gone already, or a new object with the same name (uid precondition): nothing to collect.
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  };

  const patchOwners = async (n: GraphNode, owners: OwnerReference[]) => {
    try {
      await client.patch(
        n.resource,
        n.namespace,
        n.name,
        { metadata: { uid: n.uid, ownerReferences: owners.length ? owners : null } },
        { type: 'merge' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const removeFinalizer = async (n: GraphNode, finalizer: string) => {
    const finalizers = n.finalizers.filter((f) => f !== finalizer);
    try {
      // The resourceVersion makes this a compare-and-swap: a concurrent finalizer change retries.
      await client.patch(
        n.resource,
        n.namespace,
        n.name,
        {
          metadata: {
            finalizers: finalizers.length ? finalizers : null,
            resourceVersion: n.resourceVersion,
          },
        },
        { type: 'merge' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  // A dependent whose owners may be gone (upstream attemptToDeleteItem).
  const attemptToDeleteItem = async (n: GraphNode): Promise<void> => {
    if (n.beingDeleted && !n.finalizers.includes(foregroundDeletionFinalizer)) return;
    if (n.owners.length === 0) return;
    const states = await Promise.all(n.owners.map((ref) => ownerState(n, ref)));
    const solid = n.owners.filter((_, i) => states[i] === 'solid');
    const dangling = n.owners.filter((_, i) => states[i] === 'dangling');
    const waiting = n.owners.filter((_, i) => states[i] === 'waiting');
    if (solid.length > 0) {
      // Still owned: drop references to owners that are gone; keep the rest.
      if (dangling.length > 0)
        await patchOwners(
          n,
          n.owners.filter((r) => !dangling.includes(r)),
        );
      return;
    }
    if (n.beingDeleted) return;
    if (waiting.length > 0 && graph.dependentsOf(n.uid).length > 0) {
      // The owner waits for us and we have dependents of our own: delete them first, too.
      await deleteObject(n, 'Foreground');
      return;
    }
    const policy = n.finalizers.includes(orphanFinalizer)
      ? 'Orphan'
      : n.finalizers.includes(foregroundDeletionFinalizer)
        ? 'Foreground'
        : 'Background';
    await deleteObject(n, policy);
  };

  // An owner being deleted with the orphan or foregroundDeletion finalizer.
  const processOwner = async (n: GraphNode): Promise<void> => {
    if (!n.beingDeleted) return;
    const dependents = graph.dependentsOf(n.uid);
    if (n.finalizers.includes(orphanFinalizer)) {
      // Upstream orphanDependents: strip our ownerReference from every dependent, then finalize.
      await Promise.all(
        dependents.map((d) =>
          patchOwners(
            d,
            d.owners.filter((r) => r.uid !== n.uid),
          ),
        ),
      );
      await removeFinalizer(n, orphanFinalizer);
      return;
    }
    if (n.finalizers.includes(foregroundDeletionFinalizer)) {
      // Upstream processDeletingDependentsItem: wait for blocking dependents to disappear.
      const blocking = dependents.filter((d) =>
        d.owners.some((r) => r.uid === n.uid && r.blockOwnerDeletion),
      );
      if (blocking.length === 0) {
        await removeFinalizer(n, foregroundDeletionFinalizer);
        return;
      }
      for (const d of dependents) {
        if (!d.beingDeleted) controller.enqueue(`dep:${d.uid}`);
      }
    }
  };

  const processItem = async (key: string): Promise<Result | undefined> => {
    const [kind, uid = ''] = key.split(':', 2) as [string, string?];
    const n = graph.get(uid);
    if (!n) return undefined;
    if (kind === 'owner') await processOwner(n);
    else await attemptToDeleteItem(n);
    return undefined;
  };

  const onUpsert = (resource: ResourceInfo, obj: MetaObject) => {
    const meta = obj.metadata ?? {};
    if (!meta.uid) return;
    const old = graph.upsert(resource, meta);
    const n = graph.get(meta.uid)!;
    if (
      n.beingDeleted &&
      (n.finalizers.includes(orphanFinalizer) || n.finalizers.includes(foregroundDeletionFinalizer))
    ) {
      controller.enqueue(`owner:${n.uid}`);
    }
    // New objects and changed ownerReferences may point at owners that are already gone.
    const ownersChanged = !old || JSON.stringify(old.owners) !== JSON.stringify(n.owners);
    if (n.owners.length > 0 && ownersChanged) controller.enqueue(`dep:${n.uid}`);
    // Our dependents must learn that we started a foreground deletion.
    if (n.beingDeleted && !old?.beingDeleted) {
      for (const d of graph.dependentsOf(n.uid)) controller.enqueue(`dep:${d.uid}`);
    }
  };
  const onRemove = (obj: MetaObject) => {
    const uid = obj.metadata?.uid;
    if (!uid) return;
    const old = graph.remove(uid);
    // Its dependents may now be garbage; owners waiting in foreground may now finish.
    for (const d of graph.dependentsOf(uid)) controller.enqueue(`dep:${d.uid}`);
    for (const ref of old?.owners ?? []) {
      if (graph.get(ref.uid)?.beingDeleted) controller.enqueue(`owner:${ref.uid}`);
    }
  };
  for (const r of resources) {
    controller.watchWith(informers.informerFor<KObject>(r), {
      onAdd: (o) => onUpsert(r, o),
      onUpdate: (_o, o) => onUpsert(r, o),
      onDelete: (o) => onRemove(o),
    });
  }

  return {
    name: controller.name,
    controller,
    graph,
    processItem,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
