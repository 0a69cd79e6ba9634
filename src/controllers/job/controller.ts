// The Job controller: runs pods to completion, counting them through the tracking finalizer
// (behaviour follows kubernetes pkg/controller/job/job_controller.go: addPod/updatePod/deletePod,
// updateJob, deleteJob, syncOrphanPod).
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { matchesSelector } from '../../api/labels.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isNotFound } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { ControllerExpectations } from '../runtime/expectations.js';
import { getControllerOf } from '../runtime/owner.js';
import { BackoffStore, defaultPodFailureBackoffMs, maxPodFailureBackoffMs } from './backoff.js';
import {
  createJobSync,
  FinalizerExpectations,
  hasTrackingFinalizer,
  isJobFinished,
  jobTrackingFinalizer,
} from './sync.js';

/** Options of createJobController. */
export interface JobControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
  /** Concurrent syncs (upstream --concurrent-job-syncs, 5). */
  workers?: number;
  /**
   * Delay that coalesces pod events into one Job sync (upstream syncJobBatchPeriod, 1 s). A
   * single-node cluster answers API calls in microseconds, so Skiff wires a shorter one.
   */
  batchPeriodMs?: number;
  /** Pod-failure back-off base and cap (upstream 10 s and 10 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** The Job controller; `syncJob` and `syncOrphanPod` are exposed for tests. */
export interface JobController extends Component {
  readonly controller: Controller;
  readonly expectations: ControllerExpectations;
  readonly recorder: EventRecorder;
  syncJob(key: string): Promise<Result | undefined>;
  syncOrphanPod(podKey: string): Promise<void>;
}

// Orphan pods share the queue under a prefix no "<namespace>/<name>" key can have.
const orphanPrefix = 'pod:';

/** Creates the Job controller. */
export function createJobController(opts: JobControllerOptions): JobController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const batchPeriodMs = opts.batchPeriodMs ?? 1000;
  const jobInformer = informers.informerFor<Job>(R.jobs);
  const podInformer = informers.informerFor<Pod>(R.pods);
  const jobs = jobInformer.lister;
  const pods = podInformer.lister;
  const expectations = new ControllerExpectations({ clock });
  const finalizers = new FinalizerExpectations();
  const recorder = new EventRecorder({ client, component: 'job-controller', clock, log: opts.log });

  const controller = new Controller({
    name: 'job-controller',
    informers,
    clock,
    log: opts.log,
    workers: opts.workers,
    reconcile: (key) =>
      key.startsWith(orphanPrefix) ? syncOrphanPod(key.slice(orphanPrefix.length)) : syncJob(key),
  });

  const syncJob = createJobSync({
    client,
    clock,
    jobs,
    pods,
    expectations,
    finalizers,
    backoff: new BackoffStore(),
    recorder,
    enqueueAfter: (key, ms) => controller.enqueue(key, ms),
    batchPeriodMs,
    backoffMs: {
      base: opts.backoffBaseMs ?? defaultPodFailureBackoffMs,
      max: opts.backoffMaxMs ?? maxPodFailureBackoffMs,
    },
  });

  // Removes the tracking finalizer from a pod no unfinished Job controls any more.
  const syncOrphanPod = async (podKey: string): Promise<void> => {
    const { namespace, name } = splitKey(podKey);
    const pod = pods.get(namespace, name);
    if (!pod || !hasTrackingFinalizer(pod)) return;
    const ref = getControllerOf(pod);
    if (ref) {
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      const job = resolveControllerRef(pod);
      if (job && !isJobFinished(job)) return; // adopted: its Job counts it
    }
    try {
      await client.patch(
        R.pods,
        namespace,
        name,
        { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [jobTrackingFinalizer] } },
        { type: 'strategic' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const resolveControllerRef = (pod: Pod): Job | undefined => {
    const ref = getControllerOf(pod);
    if (ref?.kind !== 'Job') return undefined;
    const job = jobs.get(pod.metadata?.namespace, ref.name);
    return job && job.metadata?.uid === ref.uid ? job : undefined;
  };
  const enqueueBatched = (job: Job) => controller.enqueue(objectKey(job), batchPeriodMs);
  const enqueueOrphan = (pod: Pod) => controller.enqueue(orphanPrefix + objectKey(pod));
  const podJobs = (pod: Pod): Job[] =>
    jobs
      .list(pod.metadata?.namespace ?? '')
      .filter((j) => matchesSelector(j.spec?.selector, pod.metadata?.labels));

  // A pod being deleted: the Job may replace it now rather than when it is gone.
  const deletePod = (pod: Pod, final: boolean) => {
    const ref = getControllerOf(pod);
    const has = hasTrackingFinalizer(pod);
    if (!ref) {
      if (has) enqueueOrphan(pod);
      return;
    }
    const job = resolveControllerRef(pod);
    if (!job || isJobFinished(job)) {
      // syncJob will not remove this pod's finalizer.
      if (has) enqueueOrphan(pod);
      return;
    }
    const key = objectKey(job);
    expectations.deletionObserved(key, objectKey(pod));
    if (final || !has) finalizers.observed(key, pod.metadata?.uid ?? '');
    enqueueBatched(job);
  };

  controller.watchWith(jobInformer, {
    onAdd: (job) => controller.enqueue(objectKey(job)),
    onUpdate: (old, job) => {
      const key = objectKey(job);
      // Spec changes sync now; status-only updates (our own writes) are batched.
      if (old.metadata?.generation === job.metadata?.generation) enqueueBatched(job);
      else controller.enqueue(key);
      if (isJobFinished(job)) cleanupPodFinalizers(job);
      const ads = job.spec?.activeDeadlineSeconds;
      if (job.status?.startTime && ads !== undefined && ads !== old.spec?.activeDeadlineSeconds) {
        const passed = clock.now() - Date.parse(job.status.startTime);
        controller.enqueue(key, Math.max(0, ads * 1000 - passed));
      }
    },
    onDelete: (job) => {
      controller.enqueue(objectKey(job));
      cleanupPodFinalizers(job);
    },
  });

  // Queues the finalizer removal of a gone or finished Job's pods (backup for syncJob).
  const cleanupPodFinalizers = (job: Job) => {
    for (const pod of pods.list(job.metadata?.namespace ?? '')) {
      if (getControllerOf(pod)?.uid === job.metadata?.uid && hasTrackingFinalizer(pod)) {
        enqueueOrphan(pod);
      }
    }
  };

  controller.watchWith(podInformer, {
    onAdd: (pod) => {
      if (pod.metadata?.deletionTimestamp) {
        // A restarted controller may see a pod already being deleted: not a creation.
        deletePod(pod, false);
        return;
      }
      if (getControllerOf(pod)) {
        const job = resolveControllerRef(pod);
        if (!job) return;
        expectations.creationObserved(objectKey(job));
        enqueueBatched(job);
        return;
      }
      if (hasTrackingFinalizer(pod)) enqueueOrphan(pod);
      for (const job of podJobs(pod)) enqueueBatched(job);
    },
    onUpdate: (old, pod) => {
      if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
      if (pod.metadata?.deletionTimestamp) {
        deletePod(pod, false);
        return;
      }
      const removed = !hasTrackingFinalizer(pod);
      const oldRef = getControllerOf(old);
      const curRef = getControllerOf(pod);
      const refChanged = oldRef?.uid !== curRef?.uid;
      if (refChanged && oldRef) {
        const oldJob = resolveControllerRef(old);
        if (oldJob) {
          if (removed) finalizers.observed(objectKey(oldJob), pod.metadata?.uid ?? '');
          enqueueBatched(oldJob);
        }
      }
      if (curRef) {
        const job = resolveControllerRef(pod);
        if (!job) return;
        if (removed) finalizers.observed(objectKey(job), pod.metadata?.uid ?? '');
        enqueueBatched(job);
        return;
      }
      if (hasTrackingFinalizer(pod)) enqueueOrphan(pod);
      const labelsChanged =
        JSON.stringify(old.metadata?.labels) !== JSON.stringify(pod.metadata?.labels);
      if (labelsChanged || refChanged) for (const job of podJobs(pod)) enqueueBatched(job);
    },
    onDelete: (pod) => deletePod(pod, true),
  });

  return {
    name: controller.name,
    controller,
    expectations,
    recorder,
    syncJob,
    syncOrphanPod,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
