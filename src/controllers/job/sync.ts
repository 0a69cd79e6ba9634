// syncJob: counts finished pods through the tracking finalizer, decides success or failure and
// keeps `parallelism` pods running (kubernetes pkg/controller/job/job_controller.go syncJob,
// manageJob, trackJobStatusAndRemoveFinalizers, flushUncountedAndRemoveFinalizers).
import type { Job, JobCondition, JobStatus } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../../api/time.js';
import type { EventRecorder } from '../../client/events.js';
import type { Lister } from '../../client/informer.js';
import { objectKey, splitKey } from '../../client/informer.js';
import { R } from '../../client/resources.js';
import { isNotFound, type KObject, type KubeClient } from '../../client/rest.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Result } from '../runtime/controller.js';
import type { ControllerExpectations } from '../runtime/expectations.js';
import { claimObjects, newControllerRef, slowStartBatch } from '../runtime/owner.js';
import { deletesBefore, getPodsToDelete, isPodActive, isPodReady } from '../runtime/pods.js';
import { type BackoffRecord, type BackoffStore, remainingBackoff } from './backoff.js';
import { matchPodFailurePolicy } from './failure-policy.js';
import {
  addCompletionIndexEnv,
  calculateSucceededIndexes,
  completionIndexKey,
  duplicatedIndexPods,
  firstPendingIndexes,
  formatIndexes,
  getCompletionIndex,
  hasIndex,
  type Intervals,
  indexList,
  isIndexedJob,
  totalIndexes,
  validIndex,
  withIndexes,
} from './indexes.js';
import { calculateFailedIndexes, newIndexFailureCounts } from './per-index.js';
import { matchSuccessPolicy } from './success-policy.js';

export const jobGVK = { apiVersion: 'batch/v1', kind: 'Job' } as const;
/** The finalizer that keeps a finished pod until the Job has counted it (upstream JobTrackingFinalizer). */
export const jobTrackingFinalizer = 'batch.kubernetes.io/job-tracking';
/** Cap on pods created or deleted in one sync (upstream MaxPodCreateDeletePerSync). */
const maxPodCreateDeletePerSync = 500;
/** Cap on .status.uncountedTerminatedPods entries (upstream MaxUncountedPods). */
const maxUncountedPods = 500;

/** Tracks pod UIDs whose finalizer removal was sent but not yet seen (upstream uidTrackingExpectations). */
export class FinalizerExpectations {
  #byJob = new Map<string, Set<string>>();
  expect(key: string, uids: string[]): void {
    const s = this.#byJob.get(key) ?? new Set();
    for (const u of uids) s.add(u);
    this.#byJob.set(key, s);
  }
  observed(key: string, uid: string): void {
    this.#byJob.get(key)?.delete(uid);
  }
  get(key: string): ReadonlySet<string> {
    return this.#byJob.get(key) ?? new Set();
  }
  delete(key: string): void {
    this.#byJob.delete(key);
  }
}

/** What syncJob needs from its controller. */
export interface JobSyncDeps {
  client: KubeClient;
  clock: Clock;
  jobs: Lister<Job>;
  pods: Lister<Pod>;
  expectations: ControllerExpectations;
  finalizers: FinalizerExpectations;
  backoff: BackoffStore;
  recorder: EventRecorder;
  /** Re-syncs the job later (the batched re-sync of pod back-off). */
  enqueueAfter(key: string, ms: number): void;
  /** Minimum delay of a back-off re-sync (upstream syncJobBatchPeriod). */
  batchPeriodMs: number;
  /** Base and cap of the pod-failure back-off (tests shorten them). */
  backoffMs: { base: number; max: number };
}

interface SyncCtx {
  job: Job;
  key: string;
  pods: Pod[];
  active: Pod[];
  ready: number;
  terminating: number;
  succeeded: number;
  failed: number;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  expectedRm: ReadonlySet<string>;
  prevSucceededIndexes: Intervals;
  succeededIndexes: Intervals;
  /** Indexes past their backoffLimitPerIndex (Indexed Jobs with a per-index limit). */
  failedIndexes: Intervals;
  newBackoff: BackoffRecord;
  finished?: JobCondition;
}

type CondType = 'Complete' | 'Failed' | 'Suspended' | 'FailureTarget' | 'SuccessCriteriaMet';

/** True when the Job has a Complete or Failed condition that is True (upstream IsJobFinished). */
export function isJobFinished(job: Job): boolean {
  return (
    job.status?.conditions?.some(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    ) ?? false
  );
}

/** True when the pod carries the job tracking finalizer. */
export function hasTrackingFinalizer(pod: Pod): boolean {
  return pod.metadata?.finalizers?.includes(jobTrackingFinalizer) ?? false;
}

const isSuspended = (job: Job) => job.spec?.suspend === true;
// podFailurePolicy (or podReplacementPolicy Failed) waits for terminating pods to fail for real.
const onlyReplaceFailedPods = (job: Job) =>
  job.spec?.podReplacementPolicy === 'Failed' || job.spec?.podFailurePolicy !== undefined;

/** Failed, or (unless only failed pods are replaced) deleted before succeeding (upstream isPodFailed). */
function isPodFailed(p: Pod, job: Job): boolean {
  if (p.status?.phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded';
}

function findCondition(job: Job, type: CondType): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

/** Creates the syncJob function bound to its dependencies. */
export function createJobSync(d: JobSyncDeps): (key: string) => Promise<Result | undefined> {
  const now = () => d.clock.now();
  const newCondition = (type: CondType, reason: string, message: string): JobCondition => ({
    type,
    status: 'True',
    reason,
    message,
    lastProbeTime: rfc3339(now()),
    lastTransitionTime: rfc3339(now()),
  });
  const ref = (job: Job) => ({ ...job, ...jobGVK }) as KObject;

  const syncJob = async (key: string): Promise<Result | undefined> => {
    const { namespace, name } = splitKey(key);
    const shared = d.jobs.get(namespace, name);
    if (!shared) {
      d.expectations.deleteExpectations(key);
      d.finalizers.delete(key);
      d.backoff.remove(key);
      return undefined;
    }
    if (isJobFinished(shared)) {
      d.backoff.remove(key);
      return undefined;
    }
    const mode = shared.spec?.completionMode;
    if (mode !== undefined && mode !== 'NonIndexed' && mode !== 'Indexed') {
      d.recorder.event(
        ref(shared),
        'Warning',
        'UnknownCompletionMode',
        'Skipped Job sync because completion mode is unknown',
      );
      return undefined;
    }
    const job = structuredClone(shared) as Job;
    job.status ??= {};
    job.status.uncountedTerminatedPods ??= {};
    // Checked before listing pods: a pod created after the check only defers the sync.
    const satisfied = d.expectations.satisfiedExpectations(key);
    const pods = await getPodsForJob(job);
    const active = pods.filter(isPodActive);
    const uncounted = job.status.uncountedTerminatedPods;
    const c: SyncCtx = {
      job,
      key,
      pods,
      active,
      ready: active.filter(isPodReady).length,
      terminating: pods.filter(
        (p) =>
          p.metadata?.deletionTimestamp &&
          p.status?.phase !== 'Succeeded' &&
          p.status?.phase !== 'Failed',
      ).length,
      succeeded: 0,
      failed: 0,
      uncountedSucceeded: new Set(uncounted.succeeded ?? []),
      uncountedFailed: new Set(uncounted.failed ?? []),
      expectedRm: d.finalizers.get(key),
      prevSucceededIndexes: [],
      succeededIndexes: [],
      failedIndexes: [],
      newBackoff: { failuresAfterLastSuccess: 0 },
    };
    const { newSucceeded, newFailed } = newFinishedPods(c);
    const nonIgnored = newFailed.filter(
      (p) => matchPodFailurePolicy(job.spec?.podFailurePolicy, p).countFailed,
    ).length;
    c.succeeded = (job.status.succeeded ?? 0) + newSucceeded.length + c.uncountedSucceeded.size;
    c.failed = (job.status.failed ?? 0) + nonIgnored + c.uncountedFailed.size;
    if (!job.status.startTime && !isSuspended(job)) job.status.startTime = rfc3339(now());
    c.newBackoff = d.backoff.next(key, newSucceeded, newFailed, now());

    let result: Result | undefined;
    c.finished = findCondition(job, 'SuccessCriteriaMet');
    if (c.finished?.status !== 'True') c.finished = undefined;
    if (!c.finished) {
      const target = findCondition(job, 'FailureTarget');
      const failJob = failJobMessage(job, pods);
      if (target?.status === 'True') {
        c.finished = newCondition('Failed', target.reason ?? '', target.message ?? '');
      } else if (failJob) {
        c.finished = newCondition('FailureTarget', 'PodFailurePolicy', failJob);
      }
    }
    if (!c.finished) {
      const backoffLimit = job.spec?.backoffLimit ?? 6;
      // With a per-index limit the Job-wide backoffLimit does not apply (upstream defaults it
      // to the largest int32 then).
      const hasPerIndex = isIndexedJob(job) && job.spec?.backoffLimitPerIndex != null;
      if (!hasPerIndex && (c.failed > backoffLimit || pastBackoffLimitOnFailure(job, pods))) {
        c.finished = newCondition(
          'FailureTarget',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
        );
      } else if (pastActiveDeadline(job)) {
        c.finished = newCondition(
          'FailureTarget',
          'DeadlineExceeded',
          'Job was active longer than specified deadline',
        );
      } else if (job.spec?.activeDeadlineSeconds !== undefined && !isSuspended(job)) {
        const started = Date.parse(job.status.startTime ?? '');
        result = {
          requeueAfter: Math.max(0, job.spec.activeDeadlineSeconds * 1000 - (now() - started)),
        };
      }
    }
    if (isIndexedJob(job)) {
      const idx = calculateSucceededIndexes(job, pods);
      c.prevSucceededIndexes = idx.prev;
      c.succeededIndexes = idx.now;
      c.succeeded = totalIndexes(idx.now);
      if (job.spec?.backoffLimitPerIndex != null) {
        c.failedIndexes = calculateFailedIndexes(job, pods, (p) => isPodFailed(p, job));
        const maxFailed = job.spec.maxFailedIndexes;
        if (!c.finished && maxFailed != null && totalIndexes(c.failedIndexes) > maxFailed) {
          c.finished = newCondition(
            'FailureTarget',
            'MaxFailedIndexesExceeded',
            'Job has exceeded the specified maximal number of failed indexes',
          );
        }
      }
      // successPolicy: enough of the right indexes succeeded; the rest of the pods are stopped.
      const matched = c.finished
        ? undefined
        : matchSuccessPolicy(job.spec?.successPolicy, job.spec?.completions ?? 0, idx.now);
      if (matched) c.finished = newCondition('SuccessCriteriaMet', 'SuccessPolicy', matched);
    }

    let activeCount = active.length;
    let suspendChanged = false;
    let manageErr: unknown;
    if (c.finished) {
      // Pods are deleted with their finalizers kept: tracking removes them once they are counted.
      const { deleted, deletedReady, error } = await deletePods(job, active, false);
      // Not finished yet while some pods could not be deleted or are not in the cache yet.
      if (deleted !== activeCount || !satisfied) c.finished = undefined;
      activeCount -= deleted;
      c.terminating += deleted;
      c.ready -= deletedReady;
      manageErr = error;
    } else {
      let managed = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        const m = await manageJob(c);
        activeCount = m.active;
        manageErr = m.error;
        if (m.requeueAfter !== undefined) d.enqueueAfter(key, m.requeueAfter);
        managed = true;
      }
      const completions = job.spec?.completions;
      const complete =
        completions === undefined || completions === null
          ? c.succeeded > 0 && activeCount === 0
          : c.succeeded >= completions && activeCount === 0;
      const failedIx = totalIndexes(c.failedIndexes);
      if (complete) {
        c.finished = newCondition(
          'SuccessCriteriaMet',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        );
      } else if (
        failedIx > 0 &&
        activeCount === 0 &&
        c.succeeded + failedIx >= (completions ?? 0)
      ) {
        // Every index has ended, some of them failed.
        c.finished = newCondition('FailureTarget', 'FailedIndexes', 'Job has failed indexes');
      } else if (managed) {
        suspendChanged = syncSuspendCondition(job);
      }
    }
    const st = job.status;
    const needsStatusUpdate =
      suspendChanged ||
      activeCount !== (st.active ?? 0) ||
      c.ready !== st.ready ||
      c.terminating !== st.terminating;
    st.active = activeCount;
    st.ready = c.ready;
    st.terminating = c.terminating;
    await trackJobStatusAndRemoveFinalizers(c, needsStatusUpdate);
    if (manageErr !== undefined) throw manageErr;
    return result;
  };

  // Adds or flips the Suspended condition; resuming restarts the activeDeadlineSeconds clock.
  const syncSuspendCondition = (job: Job): boolean => {
    const cond = findCondition(job, 'Suspended');
    const st = job.status as JobStatus;
    if (isSuspended(job)) {
      if (cond?.status === 'True') return false;
      st.conditions = [
        ...(st.conditions ?? []).filter((x) => x.type !== 'Suspended'),
        newCondition('Suspended', 'JobSuspended', 'Job suspended'),
      ];
      d.recorder.event(ref(job), 'Normal', 'Suspended', 'Job suspended');
      return true;
    }
    if (!cond || cond.status === 'False') return false;
    Object.assign(cond, newCondition('Suspended', 'JobResumed', 'Job resumed'), {
      status: 'False',
    });
    d.recorder.event(ref(job), 'Normal', 'Resumed', 'Job resumed');
    st.startTime = rfc3339(now());
    return true;
  };

  const pastActiveDeadline = (job: Job): boolean => {
    const ads = job.spec?.activeDeadlineSeconds;
    const start = job.status?.startTime;
    if (ads === undefined || !start || isSuspended(job)) return false;
    return now() - Date.parse(start) >= ads * 1000;
  };

  // Claims matching orphans (adding the tracking finalizer) and releases pods that stopped matching.
  const getPodsForJob = async (job: Job): Promise<Pod[]> => {
    const ns = job.metadata?.namespace ?? '';
    const claimed = await claimObjects(d.pods.list(ns), {
      client: d.client,
      resource: R.pods,
      owner: job as KObject,
      ownerGVK: jobGVK,
      selector: job.spec?.selector,
      canAdopt: async () => {
        const fresh = await d.client.get<Job>(R.jobs, ns, job.metadata?.name ?? '');
        return fresh.metadata?.uid === job.metadata?.uid && !fresh.metadata?.deletionTimestamp;
      },
    });
    return claimed;
  };

  // Pods finished since the last count: not yet counted (finalizer still on, not in uncounted).
  const newFinishedPods = (c: SyncCtx) => {
    const completions = c.job.spec?.completions ?? 0;
    const valid = (p: Pod, uncounted: Set<string>) => {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || uncounted.has(uid) || c.expectedRm.has(uid)) return false;
      return !isIndexedJob(c.job) || validIndex(p, completions) !== undefined;
    };
    return {
      newSucceeded: c.pods.filter(
        (p) => valid(p, c.uncountedSucceeded) && p.status?.phase === 'Succeeded',
      ),
      newFailed: c.pods.filter((p) => valid(p, c.uncountedFailed) && isPodFailed(p, c.job)),
    };
  };

  const manageJob = async (
    c: SyncCtx,
  ): Promise<{ active: number; error?: unknown; requeueAfter?: number }> => {
    const { job, key } = c;
    const active = c.active.length;
    const parallelism = job.spec?.parallelism ?? 1;
    if (isSuspended(job)) {
      const r = await deletePods(job, c.active, true);
      c.terminating += r.deleted;
      c.ready -= r.deletedReady;
      return { active: active - r.deleted, error: r.error };
    }
    const completions = job.spec?.completions;
    let wantActive: number;
    if (completions === undefined || completions === null) {
      // Without completions any success ends the Job: let running pods finish, start no more.
      wantActive = c.succeeded > 0 ? active : parallelism;
    } else {
      const ended = c.succeeded + totalIndexes(c.failedIndexes);
      wantActive = Math.max(0, Math.min(completions - ended, parallelism));
    }
    const toDelete = activePodsForRemoval(job, c.active, Math.max(0, active - wantActive)).slice(
      0,
      maxPodCreateDeletePerSync,
    );
    if (toDelete.length) {
      // Deletion takes precedence: never create and delete in the same sync.
      const r = await deletePods(job, toDelete, true);
      c.terminating += r.deleted;
      c.ready -= r.deletedReady;
      return { active: active - r.deleted, error: r.error };
    }
    const terminating = onlyReplaceFailedPods(job) ? c.terminating : 0;
    let diff = wantActive - terminating - active;
    if (diff <= 0) return { active };
    const wait = remainingBackoff(c.newBackoff, now(), d.backoffMs.base, d.backoffMs.max);
    if (wait > 0) return { active, requeueAfter: Math.max(wait, d.batchPeriodMs) };
    diff = Math.min(diff, maxPodCreateDeletePerSync);
    let indexes: number[] = [];
    if (isIndexedJob(job)) {
      // Failed indexes are never retried.
      const ended = withIndexes(c.succeededIndexes, indexList(c.failedIndexes));
      indexes = firstPendingIndexes(ended, c.active, diff, completions ?? 0);
      diff = indexes.length;
    }
    if (diff === 0) return { active };
    d.expectations.expectCreations(key, diff);
    const template = structuredClone(job.spec?.template ?? {});
    if (isIndexedJob(job)) addCompletionIndexEnv(template);
    template.metadata ??= {};
    const meta = template.metadata;
    meta.finalizers = [...new Set([...(meta.finalizers ?? []), jobTrackingFinalizer])];
    const jobName = job.metadata?.name ?? '';
    const { successes, error } = await slowStartBatch(diff, 1, async () => {
      const ix = indexes.shift();
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          ...structuredClone(meta),
          generateName: ix === undefined ? `${jobName}-` : `${jobName}-${ix}-`,
          namespace: job.metadata?.namespace,
          ownerReferences: [newControllerRef(job, jobGVK)],
        },
        spec: structuredClone(template.spec ?? { containers: [] }),
      };
      if (ix !== undefined && pod.metadata && pod.spec) {
        pod.metadata.annotations = {
          ...pod.metadata.annotations,
          [completionIndexKey]: String(ix),
          ...(job.spec?.backoffLimitPerIndex != null
            ? newIndexFailureCounts(job, c.pods, ix, (p) => isPodFailed(p, job))
            : {}),
        };
        pod.metadata.labels = { ...pod.metadata.labels, [completionIndexKey]: String(ix) };
        pod.spec.hostname = `${jobName}-${ix}`;
      }
      try {
        const created = await d.client.create<Pod>(R.pods, pod);
        d.recorder.event(
          ref(job),
          'Normal',
          'SuccessfulCreate',
          `Created pod: ${created.metadata?.name}`,
        );
      } catch (err) {
        d.recorder.event(
          ref(job),
          'Warning',
          'FailedCreate',
          `Error creating: ${errorMessage(err)}`,
        );
        throw err;
      }
    });
    // Creations that failed or were skipped will never be observed.
    for (let i = successes; i < diff; i++) d.expectations.creationObserved(key);
    return { active: active + successes, error };
  };

  // Indexed Jobs first drop pods with bad or repeated indexes; then the least advanced pods go.
  const activePodsForRemoval = (job: Job, pods: Pod[], rmAtLeast: number): Pod[] => {
    let rm: Pod[] = [];
    let left = pods;
    if (isIndexedJob(job)) {
      const t = now();
      const split = duplicatedIndexPods(pods, job.spec?.completions ?? 0, (a, b) =>
        deletesBefore({ pod: a, rank: 0 }, { pod: b, rank: 0 }, t),
      );
      rm = split.rm;
      left = split.left;
    }
    if (rm.length < rmAtLeast)
      rm.push(...getPodsToDelete(left, left, rmAtLeast - rm.length, now()));
    return rm;
  };

  // Deletes pods; `dropFinalizer` first removes the tracking finalizer (upstream deleteJobPods),
  // otherwise it is kept for tracking to count the pod (upstream deleteActivePods).
  const deletePods = async (job: Job, pods: Pod[], dropFinalizer: boolean) => {
    const key = objectKey(job);
    if (dropFinalizer && pods.length) d.expectations.expectDeletions(key, pods.map(objectKey));
    let deleted = 0;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(
      pods.map(async (p) => {
        try {
          if (dropFinalizer && hasTrackingFinalizer(p)) await removeFinalizer(p);
          await d.client.delete(R.pods, p.metadata?.namespace, p.metadata?.name ?? '');
          d.recorder.event(
            ref(job),
            'Normal',
            'SuccessfulDelete',
            `Deleted pod: ${p.metadata?.name}`,
          );
        } catch (err) {
          if (dropFinalizer) d.expectations.deletionObserved(key, objectKey(p));
          if (!isNotFound(err)) {
            error ??= err;
            return;
          }
        }
        deleted++;
        if (isPodReady(p)) deletedReady++;
      }),
    );
    return { deleted, deletedReady, error };
  };

  const removeFinalizer = async (p: Pod): Promise<void> => {
    await d.client.patch(
      R.pods,
      p.metadata?.namespace,
      p.metadata?.name ?? '',
      { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [jobTrackingFinalizer] } },
      { type: 'strategic' },
    );
  };

  const updateStatus = async (job: Job): Promise<Job> => {
    // A conflict (stale cache) fails the sync; the retry re-reads everything.
    return d.client.updateStatus<Job>(R.jobs, { ...job, ...jobGVK });
  };

  // Steps: record newly finished pods as uncounted → remove their finalizers → move them into
  // the counters → add the terminal condition once nothing is uncounted or terminating.
  const trackJobStatusAndRemoveFinalizers = async (c: SyncCtx, needsFlushIn: boolean) => {
    let needsFlush = needsFlushIn;
    let job = c.job;
    const indexed = isIndexedJob(job);
    const completions = job.spec?.completions ?? 0;
    const pods = indexed
      ? [...c.pods].sort((a, b) => (getCompletionIndex(a) ?? 0) - (getCompletionIndex(b) ?? 0))
      : c.pods;
    const withFinalizer = new Set<string>();
    for (const p of pods) {
      const uid = p.metadata?.uid ?? '';
      if (hasTrackingFinalizer(p) && !c.expectedRm.has(uid)) withFinalizer.add(uid);
    }
    const status = job.status as JobStatus;
    if (cleanUncounted(status, withFinalizer)) needsFlush = true;
    const uncounted = status.uncountedTerminatedPods ?? {};
    const toRemove: Pod[] = [];
    const newSucceededIndexes: number[] = [];
    let reachedMax = false;
    for (const p of pods) {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || c.expectedRm.has(uid)) continue;
      const failed = isPodFailed(p, job);
      // Active pods keep the finalizer until they finish or the Job is done or being deleted.
      const canRemove =
        !!job.metadata?.deletionTimestamp ||
        c.finished !== undefined ||
        p.status?.phase === 'Succeeded' ||
        failed;
      if (!canRemove) continue;
      toRemove.push(p);
      if (p.status?.phase === 'Succeeded' && !c.uncountedFailed.has(uid)) {
        if (indexed) {
          const ix = validIndex(p, completions);
          if (ix !== undefined && !hasIndex(c.prevSucceededIndexes, ix)) {
            newSucceededIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!c.uncountedSucceeded.has(uid)) {
          uncounted.succeeded = [...(uncounted.succeeded ?? []), uid];
          needsFlush = true;
        }
      } else if (failed || (c.finished && c.finished.type !== 'SuccessCriteriaMet')) {
        // Once the Job is finishing, every pod that did not succeed counts as failed.
        const ixOK = !indexed || validIndex(p, completions) !== undefined;
        if (!c.uncountedFailed.has(uid) && ixOK) {
          if (matchPodFailurePolicy(job.spec?.podFailurePolicy, p).countFailed) {
            uncounted.failed = [...(uncounted.failed ?? []), uid];
            needsFlush = true;
          }
        }
      }
      const n =
        newSucceededIndexes.length +
        (uncounted.succeeded?.length ?? 0) +
        (uncounted.failed?.length ?? 0);
      if (n >= maxUncountedPods) {
        // Big Jobs are counted over several syncs so one Job does not starve the others.
        reachedMax = true;
        break;
      }
    }
    status.uncountedTerminatedPods = uncounted;
    if (indexed) {
      c.succeededIndexes = withIndexes(c.succeededIndexes, newSucceededIndexes);
      const s = formatIndexes(c.succeededIndexes);
      if (s !== (status.completedIndexes ?? '')) needsFlush = true;
      status.succeeded = totalIndexes(c.succeededIndexes);
      status.completedIndexes = s;
      if (job.spec?.backoffLimitPerIndex != null) {
        const f = formatIndexes(c.failedIndexes);
        if (f !== (status.failedIndexes ?? '')) needsFlush = true;
        status.failedIndexes = f;
      }
    }
    // Interim conditions are written before finalizers go, so a crash cannot lose the verdict.
    if (c.finished?.type === 'FailureTarget') {
      status.conditions = [...(status.conditions ?? []), c.finished];
      needsFlush = true;
      c.finished = newCondition('Failed', c.finished.reason ?? '', c.finished.message ?? '');
    }
    if (c.finished?.type === 'SuccessCriteriaMet') {
      if (findCondition(job, 'SuccessCriteriaMet')?.status !== 'True') {
        status.conditions = [...(status.conditions ?? []), c.finished];
        needsFlush = true;
      }
      c.finished = newCondition('Complete', c.finished.reason ?? '', c.finished.message ?? '');
    }
    // flushUncountedAndRemoveFinalizers
    if (needsFlush) {
      job = await updateStatus(job);
      d.backoff.update(c.key, c.newBackoff);
      needsFlush = false;
    }
    let rmErr: unknown;
    if (toRemove.length) {
      d.finalizers.expect(
        c.key,
        toRemove.map((p) => p.metadata?.uid ?? ''),
      );
      await Promise.all(
        toRemove.map(async (p) => {
          try {
            await removeFinalizer(p);
          } catch (err) {
            // No update event will come for this pod: stop expecting one.
            d.finalizers.observed(c.key, p.metadata?.uid ?? '');
            if (!isNotFound(err)) {
              rmErr ??= err;
              return;
            }
          }
          withFinalizer.delete(p.metadata?.uid ?? '');
        }),
      );
    }
    const st = job.status as JobStatus;
    if (cleanUncounted(st, withFinalizer)) needsFlush = true;
    if (rmErr !== undefined) {
      if (needsFlush) await updateStatus(job);
      throw rmErr;
    }
    const finished = !reachedMax && enactJobFinished(job, c);
    if (finished) needsFlush = true;
    if (needsFlush) {
      job = await updateStatus(job);
      if (finished && c.finished) recordJobFinished(job, c.finished);
    }
  };

  // Adds Complete or Failed once every pod is counted and none is still terminating.
  const enactJobFinished = (job: Job, c: SyncCtx): boolean => {
    const cond = c.finished;
    if (!cond) return false;
    const u = job.status?.uncountedTerminatedPods;
    if ((u?.succeeded?.length ?? 0) + (u?.failed?.length ?? 0) > 0) return false;
    if (c.terminating > 0) return false;
    const st = job.status as JobStatus;
    st.conditions = [...(st.conditions ?? []).filter((x) => x.type !== cond.type), cond];
    if (cond.type === 'Complete') st.completionTime = cond.lastTransitionTime;
    return true;
  };

  const recordJobFinished = (job: Job, cond: JobCondition) => {
    if (cond.type === 'Complete') {
      const completions = job.spec?.completions;
      if (completions != null && (job.status?.succeeded ?? 0) > completions) {
        d.recorder.event(
          ref(job),
          'Warning',
          'TooManySucceededPods',
          'Too many succeeded pods running after completion count reached',
        );
      }
      d.recorder.event(ref(job), 'Normal', 'Completed', 'Job completed');
    } else {
      d.recorder.event(ref(job), 'Warning', cond.reason ?? '', cond.message ?? '');
    }
  };

  return syncJob;
}

/** Moves uncounted UIDs whose pods lost their finalizer into the counters; true on change. */
function cleanUncounted(status: JobStatus, withFinalizer: ReadonlySet<string>): boolean {
  status.uncountedTerminatedPods ??= {};
  const u = status.uncountedTerminatedPods;
  let changed = false;
  const keepS = (u.succeeded ?? []).filter((x) => withFinalizer.has(x));
  if (keepS.length !== (u.succeeded ?? []).length) {
    status.succeeded = (status.succeeded ?? 0) + (u.succeeded ?? []).length - keepS.length;
    u.succeeded = keepS;
    changed = true;
  }
  const keepF = (u.failed ?? []).filter((x) => withFinalizer.has(x));
  if (keepF.length !== (u.failed ?? []).length) {
    status.failed = (status.failed ?? 0) + (u.failed ?? []).length - keepF.length;
    u.failed = keepF;
    changed = true;
  }
  return changed;
}

/** The FailJob message of the first failed pod matching such a rule. */
function failJobMessage(job: Job, pods: readonly Pod[]): string | undefined {
  if (!job.spec?.podFailurePolicy) return undefined;
  for (const p of pods) {
    if (!isPodFailed(p, job)) continue;
    const m = matchPodFailurePolicy(job.spec.podFailurePolicy, p);
    if (m.failJobMessage) return m.failJobMessage;
  }
  return undefined;
}

/** restartPolicy OnFailure: container restarts of running pods count toward backoffLimit. */
function pastBackoffLimitOnFailure(job: Job, pods: readonly Pod[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    if (p.status?.phase !== 'Running' && p.status?.phase !== 'Pending') continue;
    for (const s of p.status?.initContainerStatuses ?? []) restarts += s.restartCount ?? 0;
    for (const s of p.status?.containerStatuses ?? []) restarts += s.restartCount ?? 0;
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}
