// A StatefulSet rolling update with rollingUpdate.maxUnavailable: several pods of the old revision
// replaced at once, highest ordinal first, down to the partition (behaviour follows kubernetes
// pkg/controller/statefulset/stateful_set_control.go updateStatefulSetAfterInvariantEstablished
// and getStatefulSetMaxUnavailable, the MaxUnavailableStatefulSet feature).
import type { Pod } from 'kubernetes-types/core/v1.js';
import { revisionLabel } from './identity.js';

/**
 * The number maxUnavailable allows for `replicas` pods: an integer, or a percentage rounded down,
 * never below 1 (upstream getStatefulSetMaxUnavailable).
 */
export function statefulSetMaxUnavailable(
  value: number | string | undefined,
  replicas: number,
): number {
  let n = 1;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') {
    const m = /^(\d+)%$/.exec(value);
    n = m ? Math.floor((Number(m[1]) * replicas) / 100) : Number(value);
  }
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

/**
 * The pods to delete in this pass so they come back at the update revision. Every replica that is
 * missing or unhealthy counts against maxUnavailable; the rest of the budget goes to healthy or
 * not, non-terminating pods of another revision from the highest ordinal down to the partition.
 */
export function podsToUpdate(
  replicas: readonly (Pod | undefined)[],
  opts: {
    updateRevision: string;
    partition: number;
    maxUnavailable: number;
    isHealthy: (p: Pod) => boolean;
  },
): Pod[] {
  const unavailable = replicas.filter((p) => !p || !opts.isHealthy(p)).length;
  let budget = opts.maxUnavailable - unavailable;
  const out: Pod[] = [];
  for (let ord = replicas.length - 1; ord >= opts.partition && budget > 0; ord--) {
    const p = replicas[ord];
    if (!p || p.metadata?.deletionTimestamp) continue;
    if (p.metadata?.labels?.[revisionLabel] === opts.updateRevision) continue;
    out.push(p);
    budget--;
  }
  return out;
}
