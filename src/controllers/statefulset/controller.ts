// The StatefulSet controller: pods with stable names, hostnames and claims, created and removed in
// ordinal order (or in parallel), rolled to new template revisions from the highest ordinal down
// to the partition (behaviour follows kubernetes pkg/controller/statefulset/stateful_set_control.go
// updateStatefulSet, stateful_set_status.go and stateful_pod_control.go).
import type {
  ControllerRevision,
  StatefulSet,
  StatefulSetStatus,
} from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { matchesSelector } from '../../api/labels.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isAlreadyExists, isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { canonicalJSON } from '../runtime/hash.js';
import { claimObjects, getControllerOf } from '../runtime/owner.js';
import { isPodAvailable, isPodReady } from '../runtime/pods.js';
import { ensureRevision } from '../runtime/revision.js';
import { claimsFor, getOrdinal, newPod, revisionLabel, setGVK } from './identity.js';
import { podsToUpdate, statefulSetMaxUnavailable } from './rolling.js';

/** Options of createStatefulSetController. */
export interface StatefulSetControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
  workers?: number;
}

/** The StatefulSet controller; `syncStatefulSet` is exposed for tests. */
export interface StatefulSetController extends Component {
  readonly controller: Controller;
  readonly recorder: EventRecorder;
  syncStatefulSet(key: string): Promise<Result | undefined>;
}

const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const isRunningAndReady = (p: Pod) => p.status?.phase === 'Running' && isPodReady(p);
const isTerminating = (p: Pod) => !!p.metadata?.deletionTimestamp;

/** Creates the StatefulSet controller. */
export function createStatefulSetController(
  opts: StatefulSetControllerOptions,
): StatefulSetController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const sets = informers.informerFor<StatefulSet>(R.statefulsets);
  const pods = informers.informerFor<Pod>(R.pods);
  const claims = informers.informerFor<PersistentVolumeClaim>(R.persistentvolumeclaims);
  const revisions = informers.informerFor<ControllerRevision>(R.controllerrevisions);
  const recorder = new EventRecorder({
    client,
    component: 'statefulset-controller',
    clock,
    log: opts.log,
  });
  const ref = (set: StatefulSet) => ({ ...set, ...setGVK }) as KObject;

  const syncStatefulSet = async (key: string): Promise<Result | undefined> => {
    const { namespace, name } = splitKey(key);
    const set = sets.lister.get(namespace, name);
    if (!set || set.metadata?.deletionTimestamp) return undefined;
    const owned = await claimObjects(pods.lister.list(namespace), {
      client,
      resource: R.pods,
      owner: set as KObject,
      ownerGVK: setGVK,
      selector: set.spec?.selector,
      canAdopt: async () => {
        const fresh = await client.get<StatefulSet>(R.statefulsets, namespace, name);
        return fresh.metadata?.uid === set.metadata?.uid && !fresh.metadata?.deletionTimestamp;
      },
    });
    const { current, update, history } = await getRevisions(set);
    const status = await updateStatefulSet(set, owned, current, update);
    await truncateHistory(set, owned, history, current, update);
    await updateStatus(set, status);
    // Pods Ready but not yet available: look again once minReadySeconds have passed.
    const minReady = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && (status.availableReplicas ?? 0) < (status.readyReplicas ?? 0)) {
      return { requeueAfter: minReady * 1000 };
    }
    return undefined;
  };

  // The set's revisions, creating the one for its current template when missing (upstream
  // getStatefulSetRevisions). An older revision equal to the template is reused with a new number.
  const getRevisions = async (set: StatefulSet) => {
    const history = revisions.lister
      .list(set.metadata?.namespace)
      .filter((r) => getControllerOf(r)?.uid === set.metadata?.uid)
      .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
    const update = await ensureRevision(client, set, {
      gvk: setGVK,
      history,
      collisionCount: set.status?.collisionCount,
    });
    const current = history.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update, history };
  };

  // One pass over the ordinals (upstream updateStatefulSet): create, replace and delete pods in
  // the order the pod management policy allows, then roll out updates. Returns the new status.
  const updateStatefulSet = async (
    set: StatefulSet,
    owned: Pod[],
    current: ControllerRevision,
    update: ControllerRevision,
  ): Promise<StatefulSetStatus> => {
    const replicaCount = set.spec?.replicas ?? 1;
    const ordered = (set.spec?.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
    const partition =
      set.spec?.updateStrategy?.type === 'OnDelete'
        ? replicaCount
        : (set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0);
    const replicas: (Pod | undefined)[] = new Array(replicaCount).fill(undefined);
    const condemned: Pod[] = [];
    for (const p of owned) {
      const ord = getOrdinal(set, p);
      if (ord === undefined) continue;
      if (ord < replicaCount) replicas[ord] = p;
      else condemned.push(p);
    }
    condemned.sort((a, b) => (getOrdinal(set, b) ?? 0) - (getOrdinal(set, a) ?? 0));
    const revisionFor = (ord: number) =>
      set.spec?.updateStrategy?.type === 'OnDelete' || ord < partition ? current : update;
    let blocked = false;
    for (let ord = 0; ord < replicaCount && !blocked; ord++) {
      const pod = replicas[ord];
      if (pod && isTerminal(pod) && !isTerminating(pod)) {
        // A failed or finished pod is replaced under the same name.
        await deletePod(set, pod);
        replicas[ord] = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: 'now' } };
        if (ordered) blocked = true;
        continue;
      }
      if (!pod) {
        replicas[ord] = await createPod(set, revisionFor(ord), ord);
        if (ordered) blocked = true;
        continue;
      }
      // OrderedReady: every lower ordinal must be Running and Ready before the next one moves.
      if (ordered && (isTerminating(pod) || !isRunningAndReady(pod))) blocked = true;
    }
    const status = computeStatus(set, [...replicas, ...condemned], current, update);
    if (blocked) return status;
    // Scale down from the highest ordinal; OrderedReady waits for each to go.
    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (ordered) return status;
        continue;
      }
      await deletePod(set, pod);
      if (ordered) return status;
    }
    if (set.spec?.updateStrategy?.type === 'OnDelete') return status;
    const maxUnavailable = set.spec?.updateStrategy?.rollingUpdate?.maxUnavailable;
    if (maxUnavailable !== undefined) {
      // maxUnavailable set: up to that many pods (counting those already down) at once.
      const minReady = set.spec?.minReadySeconds ?? 0;
      const now = clock.now();
      const batch = podsToUpdate(replicas, {
        updateRevision: update.metadata?.name ?? '',
        partition,
        maxUnavailable: statefulSetMaxUnavailable(maxUnavailable, replicaCount),
        isHealthy: (p) =>
          isRunningAndReady(p) && !isTerminating(p) && isPodAvailable(p, minReady, now),
      });
      for (const p of batch) await deletePod(set, p);
      return status;
    }
    // Rolling update: highest ordinal first, down to the partition, one unavailable pod at a time.
    for (let ord = replicaCount - 1; ord >= partition; ord--) {
      const pod = replicas[ord];
      if (!pod) return status;
      if (pod.metadata?.labels?.[revisionLabel] !== update.metadata?.name) {
        if (!isTerminating(pod)) await deletePod(set, pod);
        return status;
      }
      if (!isRunningAndReady(pod) || isTerminating(pod)) return status;
    }
    return status;
  };

  // Claims first, so the pod never waits on a claim the controller has not made yet.
  const createPod = async (set: StatefulSet, rev: ControllerRevision, ord: number) => {
    const pod = newPod(set, rev, ord);
    for (const claim of claimsFor(set, ord)) {
      const existing = claims.lister.get(claim.metadata?.namespace, claim.metadata?.name ?? '');
      if (existing) continue;
      if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete') {
        claim.metadata = {
          ...claim.metadata,
          ownerReferences: [
            { ...setGVK, name: set.metadata?.name ?? '', uid: set.metadata?.uid ?? '' },
          ],
        };
      }
      try {
        await client.create<PersistentVolumeClaim>(R.persistentvolumeclaims, claim);
        recorder.event(
          ref(set),
          'Normal',
          'SuccessfulCreate',
          `create Claim ${claim.metadata?.name} Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} success`,
        );
      } catch (err) {
        if (!isAlreadyExists(err)) {
          recorder.event(
            ref(set),
            'Warning',
            'FailedCreate',
            `create Claim ${claim.metadata?.name} for Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${errorMessage(err)}`,
          );
          throw err;
        }
      }
    }
    try {
      const created = await client.create<Pod>(R.pods, pod);
      recorder.event(
        ref(set),
        'Normal',
        'SuccessfulCreate',
        `create Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful`,
      );
      return created;
    } catch (err) {
      // The informer had not shown it yet: the pod is there, which is all this pass needs.
      if (isAlreadyExists(err)) return pod;
      recorder.event(
        ref(set),
        'Warning',
        'FailedCreate',
        `create Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${errorMessage(err)}`,
      );
      throw err;
    }
  };

  const deletePod = async (set: StatefulSet, pod: Pod) => {
    const ord = getOrdinal(set, pod) ?? 0;
    // whenScaled=Delete: a condemned pod's claims become its dependents, so they go with it.
    if (
      ord >= (set.spec?.replicas ?? 1) &&
      set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete'
    ) {
      for (const c of claimsFor(set, ord)) {
        await client
          .patch(
            R.persistentvolumeclaims,
            c.metadata?.namespace,
            c.metadata?.name ?? '',
            {
              metadata: {
                ownerReferences: [
                  {
                    apiVersion: 'v1',
                    kind: 'Pod',
                    name: pod.metadata?.name ?? '',
                    uid: pod.metadata?.uid ?? '',
                  },
                ],
              },
            },
            { type: 'merge' },
          )
          .catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
      }
    }
    try {
      await client.delete(R.pods, pod.metadata?.namespace, pod.metadata?.name ?? '', {
        preconditions: { uid: pod.metadata?.uid },
      });
      recorder.event(
        ref(set),
        'Normal',
        'SuccessfulDelete',
        `delete Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful`,
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const computeStatus = (
    set: StatefulSet,
    all: (Pod | undefined)[],
    current: ControllerRevision,
    update: ControllerRevision,
  ): StatefulSetStatus => {
    const now = clock.now();
    const minReady = set.spec?.minReadySeconds ?? 0;
    const st: StatefulSetStatus = {
      replicas: 0,
      readyReplicas: 0,
      availableReplicas: 0,
      currentReplicas: 0,
      updatedReplicas: 0,
      currentRevision: current.metadata?.name,
      updateRevision: update.metadata?.name,
      collisionCount: set.status?.collisionCount ?? 0,
      observedGeneration: set.metadata?.generation,
    };
    for (const p of all) {
      if (!p || isTerminating(p)) continue;
      st.replicas = (st.replicas ?? 0) + 1;
      if (isRunningAndReady(p)) {
        st.readyReplicas = (st.readyReplicas ?? 0) + 1;
        if (isPodAvailable(p, minReady, now))
          st.availableReplicas = (st.availableReplicas ?? 0) + 1;
      }
      const rev = p.metadata?.labels?.[revisionLabel];
      if (rev === current.metadata?.name) st.currentReplicas = (st.currentReplicas ?? 0) + 1;
      if (rev === update.metadata?.name) st.updatedReplicas = (st.updatedReplicas ?? 0) + 1;
    }
    // A finished rollout makes the update revision current (upstream completeRollingUpdate).
    const replicas = set.spec?.replicas ?? 1;
    if (
      set.spec?.updateStrategy?.type !== 'OnDelete' &&
      st.updatedReplicas === replicas &&
      st.readyReplicas === replicas &&
      st.replicas === replicas
    ) {
      st.currentRevision = st.updateRevision;
      st.currentReplicas = st.updatedReplicas;
    }
    return st;
  };

  // Keeps revisionHistoryLimit revisions besides the current, the update and those pods use.
  const truncateHistory = async (
    set: StatefulSet,
    owned: Pod[],
    history: ControllerRevision[],
    current: ControllerRevision,
    update: ControllerRevision,
  ) => {
    const live = new Set(owned.map((p) => p.metadata?.labels?.[revisionLabel]));
    live.add(current.metadata?.name);
    live.add(update.metadata?.name);
    const old = history.filter((r) => !live.has(r.metadata?.name));
    const excess = old.length - (set.spec?.revisionHistoryLimit ?? 10);
    for (const r of old.slice(0, Math.max(0, excess))) {
      await client
        .delete(R.controllerrevisions, r.metadata?.namespace, r.metadata?.name ?? '')
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    }
  };

  const updateStatus = async (set: StatefulSet, status: StatefulSetStatus) => {
    if (canonicalJSON(set.status) === canonicalJSON(status)) return;
    try {
      await client.updateStatus<StatefulSet>(R.statefulsets, { ...set, ...setGVK, status });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const controller = new Controller({
    name: 'statefulset-controller',
    informers,
    clock,
    log: opts.log,
    workers: opts.workers,
    reconcile: syncStatefulSet,
  });

  // The set a pod belongs to: its controller, or (for orphans) any set selecting it.
  const setsForPod = (p: Pod): string[] => {
    const owner = getControllerOf(p);
    if (owner) {
      if (owner.kind !== 'StatefulSet') return [];
      const set = sets.lister.get(p.metadata?.namespace, owner.name);
      return set && set.metadata?.uid === owner.uid ? [objectKey(set)] : [];
    }
    return sets.lister
      .list(p.metadata?.namespace)
      .filter((s) => matchesSelector(s.spec?.selector, p.metadata?.labels))
      .map(objectKey);
  };
  controller.watch(sets);
  controller.watch(pods, setsForPod);
  controller.watch(revisions, (r) => {
    const owner = getControllerOf(r);
    return owner?.kind === 'StatefulSet' ? `${r.metadata?.namespace}/${owner.name}` : undefined;
  });

  return {
    name: controller.name,
    controller,
    recorder,
    syncStatefulSet,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
