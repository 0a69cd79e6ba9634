// pods/eviction: a delete that respects the pod's PodDisruptionBudget, answering 429 when the
// budget allows no disruption (behaviour and wording follow kubernetes
// pkg/registry/core/pod/storage/eviction.go Create, checkAndDecrement, canIgnorePDB).

import { matchesSelector } from '../../api/labels.js';
import type { KObject } from '../../api/object.js';
import { findResource } from '../../api/resources.js';
import { rfc3339 } from '../../api/time.js';
import { isObject } from '../../lib/json.js';
import { StatusError } from '../status-error.js';
import type { WriteOptions } from './generic/store.js';
import type { StorageContext, SubresourceRequest } from './storage.js';

const pdbs = findResource('policy', 'v1', 'poddisruptionbudgets');
const violation = "Cannot evict pod as it would violate the pod's disruption budget.";

const tooManyRequests = (cause: string) =>
  new StatusError({
    reason: 'TooManyRequests',
    code: 429,
    message: violation,
    details: { causes: [{ reason: 'DisruptionBudget', message: cause }] },
  });

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const sub = (o: unknown, k: string): Record<string, unknown> => {
  const v = isObject(o) ? o[k] : undefined;
  return isObject(v) ? v : {};
};

// Finished, pending or terminating pods hold no disruption budget (upstream canIgnorePDB).
function canIgnorePDB(pod: KObject): boolean {
  const phase = sub(pod, 'status')['phase'];
  return (
    phase === 'Succeeded' ||
    phase === 'Failed' ||
    phase === 'Pending' ||
    !!pod.metadata?.deletionTimestamp
  );
}

const isReady = (pod: KObject): boolean =>
  ((sub(pod, 'status')['conditions'] as unknown[]) ?? []).some(
    (c) => isObject(c) && c['type'] === 'Ready' && c['status'] === 'True',
  );

/** Evicts the pod: checks and decrements its budget, then deletes it as a DELETE would. */
export function evictPod(ctx: StorageContext, sr: SubresourceRequest, opts: WriteOptions): void {
  const pod = ctx.store.get(sr.r, sr.namespace, sr.name);
  if (!pdbs || canIgnorePDB(pod)) {
    ctx.store.delete(sr.r, sr.namespace, sr.name, { dryRun: opts.dryRun });
    return;
  }
  const matching = ctx.store
    .list(pdbs, { namespace: sr.namespace })
    .items.filter((b) =>
      matchesSelector(sub(b, 'spec')['selector'] as never, pod.metadata?.labels),
    );
  if (matching.length > 1) {
    throw new StatusError({
      reason: 'InternalError',
      code: 500,
      message:
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    });
  }
  const pdb = matching[0];
  if (pdb) {
    const status = sub(pdb, 'status');
    const budgetName = pdb.metadata?.name ?? '';
    // An unready pod may go while the budget is met anyway (unhealthyPodEvictionPolicy default).
    const unhealthyOK =
      !isReady(pod) &&
      (sub(pdb, 'spec')['unhealthyPodEvictionPolicy'] === 'AlwaysAllow' ||
        num(status['currentHealthy']) >= num(status['desiredHealthy']));
    if (!unhealthyOK) checkAndDecrement(ctx, pdb, sr.name, budgetName, opts);
  }
  ctx.store.delete(sr.r, sr.namespace, sr.name, { dryRun: opts.dryRun });
}

function checkAndDecrement(
  ctx: StorageContext,
  pdb: KObject,
  podName: string,
  name: string,
  opts: WriteOptions,
): void {
  if (!pdbs) return;
  ctx.store.guaranteedUpdate(
    pdbs,
    pdb.metadata?.namespace,
    name,
    (current) => {
      const status = sub(current, 'status');
      if (num(status['observedGeneration']) < num(current.metadata?.generation)) {
        throw tooManyRequests(
          `The disruption budget ${name} is still being processed by the server.`,
        );
      }
      const allowed = num(status['disruptionsAllowed']);
      if (allowed < 0) {
        throw new StatusError({
          reason: 'Forbidden',
          code: 403,
          message: 'pdb disruptions allowed is negative',
        });
      }
      if (allowed === 0) {
        throw tooManyRequests(
          `The disruption budget ${name} needs ${num(status['desiredHealthy'])} healthy pods and has ${num(status['currentHealthy'])} currently`,
        );
      }
      // The controller drops the entry once it sees the pod go (or after 2 minutes).
      const disrupted = {
        ...sub(status, 'disruptedPods'),
        [podName]: rfc3339(ctx.store.clock.now()),
      };
      return {
        ...current,
        status: { ...status, disruptionsAllowed: allowed - 1, disruptedPods: disrupted },
      };
    },
    { dryRun: opts.dryRun, subresource: 'status' },
  );
}
