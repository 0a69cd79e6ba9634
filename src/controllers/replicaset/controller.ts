// The ReplicaSet controller: keeps spec.replicas active pods per ReplicaSet
// (behaviour follows kubernetes pkg/controller/replicaset/replica_set.go syncReplicaSet,
// manageReplicas, addPod/updatePod/deletePod).
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { matchesSelector } from '../../api/labels.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isConflict, isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { ControllerExpectations } from '../runtime/expectations.js';
import {
  claimObjects,
  getControllerOf,
  newControllerRef,
  slowStartBatch,
} from '../runtime/owner.js';
import { getPodsToDelete, isPodActive, isPodReady } from '../runtime/pods.js';
import { calculateStatus, statusChanged } from './status.js';

const rsGVK = { apiVersion: 'apps/v1', kind: 'ReplicaSet' } as const;

/** Options of createReplicaSetController. */
export interface ReplicaSetControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
  /** Concurrent syncs (upstream --concurrent-replicaset-syncs, 5). */
  workers?: number;
  /** Max creations/deletions per sync (upstream BurstReplicas, 500). */
  burstReplicas?: number;
}

/** The ReplicaSet controller; `syncReplicaSet` is exposed for tests. */
export interface ReplicaSetController extends Component {
  readonly controller: Controller;
  readonly expectations: ControllerExpectations;
  readonly recorder: EventRecorder;
  syncReplicaSet(key: string): Promise<Result | undefined>;
}

/** Creates the ReplicaSet controller. */
export function createReplicaSetController(
  opts: ReplicaSetControllerOptions,
): ReplicaSetController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const burstReplicas = opts.burstReplicas ?? 500;
  const rsInformer = informers.informerFor<ReplicaSet>(R.replicasets);
  const podInformer = informers.informerFor<Pod>(R.pods);
  const rsLister = rsInformer.lister;
  const podLister = podInformer.lister;
  const expectations = new ControllerExpectations({ clock });
  const recorder = new EventRecorder({
    client,
    component: 'replicaset-controller',
    clock,
    log: opts.log,
  });

  const syncReplicaSet = async (key: string): Promise<Result | undefined> => {
    const { namespace, name } = splitKey(key);
    const rs = rsLister.get(namespace, name);
    if (!rs) {
      expectations.deleteExpectations(key);
      return undefined;
    }
    const rsNeedsSync = expectations.satisfiedExpectations(key);
    const active = podLister.list(namespace).filter(isPodActive);
    const filteredPods = await claimObjects(active, {
      client,
      resource: R.pods,
      owner: rs as KObject,
      ownerGVK: rsGVK,
      selector: rs.spec?.selector,
      canAdopt: async () => {
        // Recheck the live object: a cached, since-deleted RS must not adopt pods.
        const fresh = await client.get<ReplicaSet>(R.replicasets, namespace, name);
        return fresh.metadata?.uid === rs.metadata?.uid && !fresh.metadata?.deletionTimestamp;
      },
    });
    let manageErr:
      | { reason: 'FailedCreate' | 'FailedDelete'; message: string; error: unknown }
      | undefined;
    if (rsNeedsSync && !rs.metadata?.deletionTimestamp) {
      manageErr = await manageReplicas(filteredPods, rs, key);
    }
    const now = clock.now();
    const newStatus = calculateStatus(rs, filteredPods, manageErr, now);
    const updated = await updateReplicaSetStatus(rs, newStatus);
    if (manageErr) throw manageErr.error;
    // Pods are ready but not yet available: look again once minReadySeconds have passed.
    const replicas = rs.spec?.replicas ?? 1;
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const st = updated.status ?? newStatus;
    if (minReady > 0 && st.readyReplicas === replicas && st.availableReplicas !== replicas) {
      return { requeueAfter: minReady * 1000 };
    }
    return undefined;
  };

  const manageReplicas = async (
    filteredPods: Pod[],
    rs: ReplicaSet,
    key: string,
  ): Promise<
    { reason: 'FailedCreate' | 'FailedDelete'; message: string; error: unknown } | undefined
  > => {
    const ref = { ...rs, ...rsGVK } as KObject;
    const diff = filteredPods.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const count = Math.min(-diff, burstReplicas);
      // Expect every create before issuing any, so informer events that arrive early are counted.
      expectations.expectCreations(key, count);
      const namespace = rs.metadata?.namespace ?? 'default';
      const template = rs.spec?.template ?? {};
      const { successes, error } = await slowStartBatch(count, 1, async () => {
        const pod: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            generateName: `${rs.metadata?.name}-`,
            namespace,
            labels: { ...(template.metadata?.labels ?? {}) },
            annotations: template.metadata?.annotations
              ? { ...template.metadata.annotations }
              : undefined,
            finalizers: template.metadata?.finalizers,
            ownerReferences: [newControllerRef(rs, rsGVK)],
          },
          spec: structuredClone(template.spec ?? { containers: [] }),
        };
        try {
          const created = await client.create<Pod>(R.pods, pod, { namespace });
          recorder.event(
            ref,
            'Normal',
            'SuccessfulCreate',
            `Created pod: ${created.metadata?.name}`,
          );
        } catch (err) {
          recorder.event(ref, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
          throw err;
        }
      });
      // Creations that failed or were skipped will never be observed: lower the expectation.
      for (let i = successes; i < count; i++) expectations.creationObserved(key);
      if (error !== undefined)
        return { reason: 'FailedCreate', message: errorMessage(error), error };
      return undefined;
    }
    if (diff > 0) {
      const toDelete = getPodsToDelete(
        filteredPods,
        getIndirectlyRelatedPods(rs),
        Math.min(diff, burstReplicas),
        clock.now(),
      );
      const podKeys = toDelete.map(objectKey);
      expectations.expectDeletions(key, podKeys);
      const results = await Promise.allSettled(
        toDelete.map(async (pod) => {
          try {
            await client.delete(R.pods, pod.metadata?.namespace, pod.metadata?.name ?? '');
            recorder.event(ref, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata?.name}`);
          } catch (err) {
            // Either gone already or never will be: do not wait for its delete event.
            expectations.deletionObserved(key, objectKey(pod));
            if (isNotFound(err)) return;
            recorder.event(ref, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
            throw err;
          }
        }),
      );
      const failed = results.find((r) => r.status === 'rejected');
      if (failed)
        return {
          reason: 'FailedDelete',
          message: errorMessage(failed.reason),
          error: failed.reason,
        };
    }
    return undefined;
  };

  // Pods of every ReplicaSet controlled by the same owner (e.g. one Deployment's old and new RS).
  const getIndirectlyRelatedPods = (rs: ReplicaSet): Pod[] => {
    const owner = getControllerOf(rs);
    const ns = rs.metadata?.namespace ?? '';
    const uids = new Set<string>([rs.metadata?.uid ?? '']);
    if (owner) {
      for (const other of rsLister.list(ns)) {
        if (getControllerOf(other)?.uid === owner.uid) uids.add(other.metadata?.uid ?? '');
      }
    }
    return podLister.list(ns).filter((p) => uids.has(getControllerOf(p)?.uid ?? ''));
  };

  const updateReplicaSetStatus = async (
    rs: ReplicaSet,
    status: ReplicaSet['status'] & object,
  ): Promise<ReplicaSet> => {
    if (!statusChanged(rs.status, status)) return rs;
    const next = { ...structuredClone(rs), ...rsGVK, status };
    try {
      return await client.updateStatus<ReplicaSet>(R.replicasets, next);
    } catch (err) {
      if (!isConflict(err)) throw err;
      // Our cache was stale: retry once against the live object, as upstream does.
      const fresh = await client.get<ReplicaSet>(
        R.replicasets,
        rs.metadata?.namespace,
        rs.metadata?.name ?? '',
      );
      return await client.updateStatus<ReplicaSet>(R.replicasets, { ...fresh, status });
    }
  };

  const controller = new Controller({
    name: 'replicaset-controller',
    informers,
    clock,
    log: opts.log,
    workers: opts.workers,
    reconcile: syncReplicaSet,
  });

  // The ReplicaSets that could own an orphan pod (upstream getPodReplicaSets).
  const getPodReplicaSets = (pod: Pod): string[] =>
    rsLister
      .list(pod.metadata?.namespace ?? '')
      .filter((rs) => matchesSelector(rs.spec?.selector, pod.metadata?.labels))
      .map(objectKey);

  // The key of the ReplicaSet a controllerRef points at, if it still exists with that uid.
  const resolveControllerRef = (pod: Pod): string | undefined => {
    const ref = getControllerOf(pod);
    if (ref?.kind !== 'ReplicaSet') return undefined;
    const rs = rsLister.get(pod.metadata?.namespace, ref.name);
    return rs && rs.metadata?.uid === ref.uid ? objectKey(rs) : undefined;
  };

  controller.watchWith(rsInformer, {
    onAdd: (rs) => controller.enqueue(objectKey(rs)),
    onUpdate: (_old, rs) => controller.enqueue(objectKey(rs)),
    onDelete: (rs) => {
      expectations.deleteExpectations(objectKey(rs));
      controller.enqueue(objectKey(rs));
    },
  });
  controller.watchWith(podInformer, {
    onAdd: (pod) => {
      if (pod.metadata?.deletionTimestamp) {
        // A restarted controller may see a pod already being deleted: count it as a deletion.
        const rsKey = resolveControllerRef(pod);
        if (rsKey) {
          expectations.deletionObserved(rsKey, objectKey(pod));
          controller.enqueue(rsKey);
        }
        return;
      }
      if (getControllerOf(pod)) {
        const rsKey = resolveControllerRef(pod);
        if (!rsKey) return;
        expectations.creationObserved(rsKey);
        controller.enqueue(rsKey);
        return;
      }
      // An orphan: every matching ReplicaSet may want to adopt it.
      controller.enqueue(getPodReplicaSets(pod));
    },
    onUpdate: (oldPod, pod) => {
      const labelsChanged =
        JSON.stringify(oldPod.metadata?.labels) !== JSON.stringify(pod.metadata?.labels);
      if (pod.metadata?.deletionTimestamp && !oldPod.metadata?.deletionTimestamp) {
        // Graceful deletion began: the RS can create a replacement now rather than waiting.
        const rsKey = resolveControllerRef(pod);
        if (rsKey) expectations.deletionObserved(rsKey, objectKey(pod));
      }
      const oldKey = resolveControllerRef(oldPod);
      const newKey = resolveControllerRef(pod);
      if (oldKey && oldKey !== newKey) controller.enqueue(oldKey);
      if (newKey) {
        controller.enqueue(newKey);
        const rs = rsLister.getByKey(newKey);
        const minReady = rs?.spec?.minReadySeconds ?? 0;
        if (minReady > 0 && !isPodReady(oldPod) && isPodReady(pod)) {
          controller.enqueue(newKey, minReady * 1000 + 1000);
        }
        return;
      }
      if (labelsChanged || (oldKey && !newKey)) controller.enqueue(getPodReplicaSets(pod));
    },
    onDelete: (pod) => {
      const rsKey = resolveControllerRef(pod);
      if (!rsKey) return;
      expectations.deletionObserved(rsKey, objectKey(pod));
      controller.enqueue(rsKey);
    },
  });

  return {
    name: controller.name,
    controller,
    expectations,
    recorder,
    syncReplicaSet,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
