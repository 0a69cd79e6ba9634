// The disruption controller: keeps each PodDisruptionBudget's status (healthy, desired, allowed
// disruptions) current so the eviction subresource can enforce it (behaviour follows kubernetes
// pkg/controller/disruption/disruption.go trySync, getExpectedPodCount, updatePdbStatus).

import type { Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.js';
import { matchesSelector, selectorToString } from '../../api/labels.js';
import { rfc3339 } from '../../api/time.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { canonicalJSON } from '../runtime/hash.js';
import { isPodReady } from '../runtime/pods.js';
import { type ControllerLookup, getExpectedPodCount } from './expected.js';

/** An evicted pod the API has not shown deleted is assumed gone after this (upstream DeletionTimeout). */
const deletionTimeoutMs = 2 * 60_000;

/** Options of createDisruptionController. */
export interface DisruptionControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
}

/** The disruption controller; `syncPdb` is exposed for tests. */
export interface DisruptionController extends Component {
  readonly controller: Controller;
  syncPdb(key: string): Promise<Result | undefined>;
}

/** Creates the disruption controller. */
export function createDisruptionController(
  opts: DisruptionControllerOptions,
): DisruptionController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const pdbs = informers.informerFor<PodDisruptionBudget>(R.poddisruptionbudgets);
  const pods = informers.informerFor<Pod>(R.pods);
  const replicaSets = informers.informerFor<ReplicaSet>(R.replicasets);
  const deployments = informers.informerFor<Deployment>(R.deployments);
  const statefulSets = informers.informerFor<StatefulSet>(R.statefulsets);
  const recorder = new EventRecorder({
    client,
    component: 'controllermanager',
    clock,
    log: opts.log,
  });
  const lookup: ControllerLookup = (kind, namespace, name) => {
    const informer = {
      ReplicaSet: replicaSets,
      Deployment: deployments,
      StatefulSet: statefulSets,
    }[kind] as typeof replicaSets;
    const o = informer.lister.get(namespace, name);
    return (
      o && {
        uid: o.metadata?.uid,
        replicas: o.spec?.replicas,
        controllerRef: o.metadata?.ownerReferences?.find((r) => r.controller),
      }
    );
  };

  const syncPdb = async (key: string): Promise<Result | undefined> => {
    const { namespace, name } = splitKey(key);
    const pdb = pdbs.lister.get(namespace, name);
    if (!pdb) return undefined;
    const now = clock.now();
    const matching = pods.lister
      .list(namespace)
      .filter((p) => matchesSelector(pdb.spec?.selector, p.metadata?.labels));
    // Pods the API already agreed to evict count as gone until they are (or the entry expires).
    const disrupted: Record<string, string> = {};
    let recheck: number | undefined;
    for (const [pod, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
      const p = matching.find((x) => x.metadata?.name === pod);
      const expires = Date.parse(at) + deletionTimeoutMs;
      if (!p || p.metadata?.deletionTimestamp || expires <= now) continue;
      disrupted[pod] = at;
      recheck = Math.min(recheck ?? Number.POSITIVE_INFINITY, expires - now);
    }
    const healthy = matching.filter(
      (p) => !p.metadata?.deletionTimestamp && isPodReady(p) && !disrupted[p.metadata?.name ?? ''],
    ).length;
    const count = getExpectedPodCount(pdb, matching, lookup);
    const ref = { ...pdb, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' } as KObject;
    if (count.unmanaged.length > 0) {
      recorder.event(
        ref,
        'Warning',
        'UnmanagedPods',
        `Pods selected by this PodDisruptionBudget (selector: ${selectorToString(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
      );
    }
    const old = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
    const since = (s: string) =>
      old?.status === s && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now);
    if ('error' in count) {
      // Fail safe (upstream failSafe): no disruption until the counts can be known again.
      recorder.event(
        ref,
        'Warning',
        'CalculateExpectedPodCountFailed',
        `Failed to calculate the number of expected pods: ${count.error}`,
      );
      await writeStatus(pdb, {
        currentHealthy: 0,
        desiredHealthy: 0,
        expectedPods: 0,
        ...pdb.status,
        disruptionsAllowed: 0,
        conditions: [
          {
            type: 'DisruptionAllowed',
            status: 'False',
            reason: 'SyncFailed',
            message: count.error,
            observedGeneration: pdb.status?.observedGeneration,
            lastTransitionTime: since('False'),
          },
        ],
      });
      return recheck === undefined ? undefined : { requeueAfter: recheck };
    }
    const { expected, desired } = count;
    const allowed = Math.max(0, healthy - desired);
    const condStatus = allowed > 0 ? 'True' : 'False';
    const status: PodDisruptionBudgetStatus = {
      observedGeneration: pdb.metadata?.generation,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      disruptionsAllowed: allowed,
      disruptedPods: Object.keys(disrupted).length ? disrupted : undefined,
      conditions: [
        {
          type: 'DisruptionAllowed',
          status: condStatus,
          reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
          message: '',
          observedGeneration: pdb.metadata?.generation,
          lastTransitionTime: since(condStatus),
        },
      ],
    };
    await writeStatus(pdb, status);
    return recheck === undefined ? undefined : { requeueAfter: recheck };
  };

  const writeStatus = async (pdb: PodDisruptionBudget, status: PodDisruptionBudgetStatus) => {
    if (canonicalJSON(status) === canonicalJSON(pdb.status)) return;
    try {
      await client.updateStatus<PodDisruptionBudget>(R.poddisruptionbudgets, {
        ...pdb,
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        status,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const controller = new Controller({
    name: 'disruption-controller',
    informers,
    clock,
    log: opts.log,
    reconcile: syncPdb,
  });
  controller.watch(pdbs);
  // A controller's scale is the expected pod count of budgets over its pods.
  const budgetsOfScaled = (o: { metadata?: { namespace?: string } }) =>
    pdbs.lister.list(o.metadata?.namespace).map(objectKey);
  controller.watch(replicaSets, budgetsOfScaled);
  controller.watch(deployments, budgetsOfScaled);
  controller.watch(statefulSets, budgetsOfScaled);
  controller.watch(pods, (p) =>
    pdbs.lister
      .list(p.metadata?.namespace)
      .filter((b) => matchesSelector(b.spec?.selector, p.metadata?.labels))
      .map(objectKey),
  );

  return {
    name: controller.name,
    controller,
    syncPdb,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
