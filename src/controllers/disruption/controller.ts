// The disruption controller: keeps each PodDisruptionBudget's status (healthy, desired, allowed
// disruptions) current so the eviction subresource can enforce it (behaviour follows kubernetes
// pkg/controller/disruption/disruption.go trySync, getExpectedPodCount, updatePdbStatus).

import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.js';
import { matchesSelector } from '../../api/labels.js';
import { rfc3339 } from '../../api/time.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isNotFound } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { canonicalJSON } from '../runtime/hash.js';
import { isPodReady } from '../runtime/pods.js';

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

// "50%" of total rounded up, or the integer itself.
const scaled = (v: number | string | undefined, total: number): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  return m ? Math.ceil((Number(m[1]) * total) / 100) : undefined;
};

/** Creates the disruption controller. */
export function createDisruptionController(
  opts: DisruptionControllerOptions,
): DisruptionController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const pdbs = informers.informerFor<PodDisruptionBudget>(R.poddisruptionbudgets);
  const pods = informers.informerFor<Pod>(R.pods);

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
    // Skiff counts the selected pods as the expected scale (upstream reads the owners' scale for
    // maxUnavailable and percentages; with controllers at their size the two agree).
    const expected = matching.filter((p) => !p.metadata?.deletionTimestamp).length;
    let desired = 0;
    const maxU = scaled(pdb.spec?.maxUnavailable as number | string | undefined, expected);
    if (maxU !== undefined) desired = Math.max(0, expected - maxU);
    else desired = scaled(pdb.spec?.minAvailable as number | string | undefined, expected) ?? 0;
    const allowed = Math.max(0, healthy - desired);
    const old = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
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
          lastTransitionTime:
            old?.status === condStatus && old.lastTransitionTime
              ? old.lastTransitionTime
              : rfc3339(now),
        },
      ],
    };
    if (canonicalJSON(status) !== canonicalJSON(pdb.status)) {
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
    }
    return recheck === undefined ? undefined : { requeueAfter: recheck };
  };

  const controller = new Controller({
    name: 'disruption-controller',
    informers,
    clock,
    log: opts.log,
    reconcile: syncPdb,
  });
  controller.watch(pdbs);
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
