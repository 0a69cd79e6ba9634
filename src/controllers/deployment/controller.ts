// The Deployment controller: ReplicaSets per pod template, rollouts, history and status
// (behaviour follows kubernetes pkg/controller/deployment/deployment_controller.go syncDeployment).
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { matchesSelector } from '../../api/labels.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import type { KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { claimObjects, getControllerOf } from '../runtime/owner.js';
import { checkPausedConditions, syncDeploymentStatus } from './progress.js';
import { rolloutRecreate, rolloutRolling } from './rolling.js';
import { DeploymentSync, deploymentGVK } from './sync.js';

/** Options of createDeploymentController. */
export interface DeploymentControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
  /** Concurrent syncs (upstream --concurrent-deployment-syncs, 5). */
  workers?: number;
}

/** The Deployment controller; `syncDeployment` is exposed for tests. */
export interface DeploymentController extends Component {
  readonly controller: Controller;
  readonly recorder: EventRecorder;
  syncDeployment(key: string): Promise<Result | undefined>;
}

/** Creates the Deployment controller. */
export function createDeploymentController(
  opts: DeploymentControllerOptions,
): DeploymentController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const dInformer = informers.informerFor<Deployment>(R.deployments);
  const rsInformer = informers.informerFor<ReplicaSet>(R.replicasets);
  const podInformer = informers.informerFor<Pod>(R.pods);
  const recorder = new EventRecorder({
    client,
    component: 'deployment-controller',
    clock,
    log: opts.log,
  });

  const controller = new Controller({
    name: 'deployment-controller',
    informers,
    clock,
    log: opts.log,
    workers: opts.workers,
    reconcile: (key) => syncDeployment(key),
  });
  const syncContext = {
    client,
    recorder,
    clock,
    rsLister: rsInformer.lister,
    enqueueAfter: (d: Deployment, ms: number) => controller.enqueue(objectKey(d), ms),
  };

  // Adopts orphan RSs matching the selector and releases owned ones that stopped matching
  // (upstream getReplicaSetsForDeployment).
  const getReplicaSetsForDeployment = (d: Deployment): Promise<ReplicaSet[]> =>
    claimObjects(rsInformer.lister.list(d.metadata?.namespace ?? ''), {
      client,
      resource: R.replicasets,
      owner: d as KObject,
      ownerGVK: deploymentGVK,
      selector: d.spec?.selector,
      canAdopt: async () => {
        const fresh = await client.get<Deployment>(
          R.deployments,
          d.metadata?.namespace,
          d.metadata?.name ?? '',
        );
        return fresh.metadata?.uid === d.metadata?.uid && !fresh.metadata?.deletionTimestamp;
      },
    });

  // Pods grouped by the uid of the RS controlling them (upstream getPodMapForDeployment).
  const getPodMapForDeployment = (
    d: Deployment,
    rsList: readonly ReplicaSet[],
  ): Map<string, Pod[]> => {
    const map = new Map<string, Pod[]>();
    for (const rs of rsList) map.set(rs.metadata?.uid ?? '', []);
    for (const pod of podInformer.lister.list(d.metadata?.namespace ?? '')) {
      if (!matchesSelector(d.spec?.selector, pod.metadata?.labels)) continue;
      const ref = getControllerOf(pod);
      if (ref && map.has(ref.uid)) map.get(ref.uid)!.push(pod);
    }
    return map;
  };

  const syncDeployment = async (key: string): Promise<Result | undefined> => {
    const { namespace, name } = splitKey(key);
    const cached = dInformer.lister.get(namespace, name);
    if (!cached) return undefined;
    // Never mutate the cache: every step below works on this copy.
    const d: Deployment = { ...structuredClone(cached), ...deploymentGVK };
    const s = new DeploymentSync(syncContext);
    const sel = d.spec?.selector;
    if (sel && !sel.matchLabels && !sel.matchExpressions?.length) {
      recorder.event(
        d as KObject,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        d.status = { ...d.status, observedGeneration: d.metadata?.generation };
        await s.updateStatus(d);
      }
      return undefined;
    }
    const rsList = await getReplicaSetsForDeployment(d);
    const podMap = getPodMapForDeployment(d, rsList);
    if (d.metadata?.deletionTimestamp) {
      // Being deleted: only report status (upstream syncStatusOnly).
      const { newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(d, rsList, false);
      await syncDeploymentStatus(s, [...oldRSs, newRS], newRS, d);
      return undefined;
    }
    await checkPausedConditions(s, d);
    if (d.spec?.paused) {
      await s.sync(d, rsList);
      return undefined;
    }
    if (await s.isScalingEvent(d, rsList)) {
      await s.sync(d, rsList);
      return undefined;
    }
    if (d.spec?.strategy?.type === 'Recreate') await rolloutRecreate(s, d, rsList, podMap);
    else await rolloutRolling(s, d, rsList);
    return undefined;
  };

  // The Deployment owning an RS, if it still exists with that uid (upstream resolveControllerRef).
  const resolveControllerRef = (rs: ReplicaSet): string | undefined => {
    const ref = getControllerOf(rs);
    if (ref?.kind !== 'Deployment') return undefined;
    const d = dInformer.lister.get(rs.metadata?.namespace, ref.name);
    return d && d.metadata?.uid === ref.uid ? objectKey(d) : undefined;
  };
  // Deployments that could adopt an orphan RS (upstream getDeploymentsForReplicaSet).
  const deploymentsForOrphan = (rs: ReplicaSet): string[] =>
    dInformer.lister
      .list(rs.metadata?.namespace ?? '')
      .filter((d) => matchesSelector(d.spec?.selector, rs.metadata?.labels))
      .map(objectKey);
  const rsKeys = (rs: ReplicaSet): string[] => {
    if (getControllerOf(rs)) {
      const k = resolveControllerRef(rs);
      return k ? [k] : [];
    }
    return deploymentsForOrphan(rs);
  };

  controller.watch(dInformer);
  controller.watch(rsInformer, rsKeys);
  controller.watchWith(podInformer, {
    // Recreate waits for every old pod to be gone, so pod deletions must wake it up.
    onDelete: (pod) => {
      const ref = getControllerOf(pod);
      if (ref?.kind !== 'ReplicaSet') return;
      const rs = rsInformer.lister.get(pod.metadata?.namespace, ref.name);
      if (!rs) return;
      for (const key of rsKeys(rs)) {
        if (dInformer.lister.getByKey(key)?.spec?.strategy?.type === 'Recreate')
          controller.enqueue(key);
      }
    },
  });

  return {
    name: controller.name,
    controller,
    recorder,
    syncDeployment,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
