// backoffLimitPerIndex of Indexed Jobs: each index has its own failure budget, an index past it is
// failed for good (status.failedIndexes) while the others carry on (behaviour follows kubernetes
// pkg/controller/job/backoff_limit_per_index.go isIndexFailed, calculateFailedIndexes,
// getNewIndexFailureCounts).
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { matchPodFailurePolicy } from './failure-policy.js';
import { type Intervals, parseIndexes, validIndex, withIndexes } from './indexes.js';

/** How many earlier pods of the pod's index failed (counted by the failure budget). */
export const indexFailureCountKey = 'batch.kubernetes.io/job-index-failure-count';
/** How many earlier pods of the pod's index failed in ways the podFailurePolicy ignores. */
export const indexIgnoredFailureCountKey = 'batch.kubernetes.io/job-index-ignored-failure-count';

const count = (p: Pod, key: string): number => {
  const v = p.metadata?.annotations?.[key];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : 0;
};

/**
 * True when this failed pod fails its index: a FailIndex rule matched, or a counted failure of a
 * pod whose index had already used up backoffLimitPerIndex retries (upstream isIndexFailed).
 */
export function isIndexFailed(job: Job, pod: Pod, isFailed: (p: Pod) => boolean): boolean {
  if (!isFailed(pod)) return false;
  const m = matchPodFailurePolicy(job.spec?.podFailurePolicy, pod);
  if (m.action === 'FailIndex') return true;
  return m.countFailed && count(pod, indexFailureCountKey) >= (job.spec?.backoffLimitPerIndex ?? 0);
}

/** status.failedIndexes so far plus the indexes the given pods fail. */
export function calculateFailedIndexes(
  job: Job,
  pods: readonly Pod[],
  isFailed: (p: Pod) => boolean,
): Intervals {
  const completions = job.spec?.completions ?? 0;
  const prev = parseIndexes(job.status?.failedIndexes ?? undefined, completions);
  const fresh: number[] = [];
  for (const p of pods) {
    const ix = validIndex(p, completions);
    if (ix !== undefined && isIndexFailed(job, p, isFailed)) fresh.push(ix);
  }
  return withIndexes(prev, fresh);
}

/**
 * The annotations a new pod of index `ix` carries: its index's counted and ignored failures so
 * far, from the most advanced failed pod of that index (upstream getNewIndexFailureCounts).
 */
export function newIndexFailureCounts(
  job: Job,
  pods: readonly Pod[],
  ix: number,
  isFailed: (p: Pod) => boolean,
): Record<string, string> {
  let failures = 0;
  let ignored = 0;
  const completions = job.spec?.completions ?? 0;
  for (const p of pods) {
    if (validIndex(p, completions) !== ix || !isFailed(p)) continue;
    const counted = matchPodFailurePolicy(job.spec?.podFailurePolicy, p).countFailed;
    const f = count(p, indexFailureCountKey) + (counted ? 1 : 0);
    const i = count(p, indexIgnoredFailureCountKey) + (counted ? 0 : 1);
    if (f > failures || (f === failures && i > ignored)) {
      failures = f;
      ignored = i;
    }
  }
  return {
    [indexFailureCountKey]: String(failures),
    ...(ignored > 0 ? { [indexIgnoredFailureCountKey]: String(ignored) } : {}),
  };
}
