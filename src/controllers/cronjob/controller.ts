// The CronJob controller: creates a Job per schedule activation, tracks active Jobs and trims
// history (behaviour follows kubernetes pkg/controller/cronjob/cronjob_controllerv2.go sync,
// syncCronJob, cleanupFinishedJobs, updateCronJob).
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import { type CronSchedule, isValidTimeZone, parseSchedule } from '../../api/cron.js';
import { rfc3339 } from '../../api/time.js';
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
import { getControllerOf } from '../runtime/owner.js';
import {
  cronJobGVK,
  jobFromTemplate,
  jobNameFor,
  mostRecentScheduleTime,
  nextScheduleDelay,
} from './schedule.js';

/** Options of createCronJobController. */
export interface CronJobControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
  workers?: number;
}

/** The CronJob controller; `syncCronJob` (one reconcile) is exposed for tests. */
export interface CronJobController extends Component {
  readonly controller: Controller;
  readonly recorder: EventRecorder;
  syncCronJob(key: string): Promise<Result | undefined>;
}

const finishedType = (j: Job): 'Complete' | 'Failed' | undefined =>
  j.status?.conditions?.find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  )?.type as 'Complete' | 'Failed' | undefined;

const jobRef = (j: Job): ObjectReference => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  name: j.metadata?.name,
  namespace: j.metadata?.namespace,
  uid: j.metadata?.uid,
  resourceVersion: j.metadata?.resourceVersion,
});

/** Creates the CronJob controller. */
export function createCronJobController(opts: CronJobControllerOptions): CronJobController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const cjInformer = informers.informerFor<CronJob>(R.cronjobs);
  const jobInformer = informers.informerFor<Job>(R.jobs);
  const recorder = new EventRecorder({
    client,
    component: 'cronjob-controller',
    clock,
    log: opts.log,
  });

  // The resourceVersion of each CronJob's last status write. A cache still older than it would
  // show the Active list without the Job just created: under Forbid, a new minute could then start
  // a second Job. The write's own watch event brings the key back once the cache has it.
  const written = new Map<string, number>();
  const isStale = (key: string, cached: CronJob): boolean => {
    const mine = written.get(key);
    const seen = Number(cached.metadata?.resourceVersion);
    if (mine === undefined || !Number.isFinite(seen)) return false;
    if (seen >= mine) written.delete(key);
    return seen < mine;
  };

  const sync = async (key: string): Promise<Result | undefined> => {
    const { namespace, name } = splitKey(key);
    const cached = cjInformer.lister.get(namespace, name);
    if (!cached) {
      written.delete(key);
      return undefined;
    }
    if (isStale(key, cached)) return undefined;
    const cj = structuredClone(cached) as CronJob;
    const jobs = jobInformer.lister
      .list(namespace)
      .filter((j) => getControllerOf(j)?.uid === cj.metadata?.uid);
    const { delay, changed } = await syncCronJob(cj, jobs);
    // Trim history unless the CronJob is going away.
    const trimmed = !cj.metadata?.deletionTimestamp && (await cleanupFinishedJobs(cj, jobs));
    if (changed || trimmed) {
      const updated = await client.updateStatus<CronJob>(R.cronjobs, { ...cj, ...cronJobGVK });
      const rv = Number(updated.metadata?.resourceVersion);
      if (Number.isFinite(rv)) written.set(key, rv);
    }
    return delay === undefined ? undefined : { requeueAfter: delay };
  };

  const ref = (cj: CronJob) => ({ ...cj, ...cronJobGVK }) as KObject;
  const inActive = (cj: CronJob, uid: string | undefined) =>
    cj.status?.active?.some((a) => a.uid === uid) ?? false;
  const dropActive = (cj: CronJob, uid: string | undefined) => {
    cj.status = { ...cj.status, active: (cj.status?.active ?? []).filter((a) => a.uid !== uid) };
  };

  const syncCronJob = async (
    cj: CronJob,
    jobs: Job[],
  ): Promise<{ delay?: number; changed: boolean }> => {
    const now = clock.now();
    let changed = false;
    const children = new Set<string>();
    for (const j of jobs) {
      children.add(j.metadata?.uid ?? '');
      const found = inActive(cj, j.metadata?.uid);
      const done = finishedType(j);
      if (!found && !done) {
        // Ours but not listed (a crash between create and status update, or a manual
        // `kubectl create job --from`): recorded only in an event, as upstream.
        recorder.event(
          ref(cj),
          'Warning',
          'UnexpectedJob',
          `Saw a job that the controller did not create or forgot: ${j.metadata?.name}`,
        );
      } else if (found && done) {
        dropActive(cj, j.metadata?.uid);
        recorder.event(
          ref(cj),
          'Normal',
          'SawCompletedJob',
          `Saw completed job: ${j.metadata?.name}, status: ${done}`,
        );
        changed = true;
      }
      if (done === 'Complete' && j.status?.completionTime) {
        const last = cj.status?.lastSuccessfulTime;
        if (!last || Date.parse(j.status.completionTime) > Date.parse(last)) {
          cj.status = { ...cj.status, lastSuccessfulTime: j.status.completionTime };
          changed = true;
        }
      }
    }
    // Active entries whose Job is gone (checked live: the cache may lag).
    for (const a of [...(cj.status?.active ?? [])]) {
      if (children.has(a.uid ?? '')) continue;
      try {
        await client.get(R.jobs, a.namespace, a.name ?? '');
      } catch (err) {
        if (!isNotFound(err)) throw err;
        recorder.event(ref(cj), 'Normal', 'MissingJob', `Active job went missing: ${a.name}`);
        dropActive(cj, a.uid);
        changed = true;
      }
    }
    if (cj.metadata?.deletionTimestamp) return { changed };
    const tz = cj.spec?.timeZone;
    if (tz != null && !isValidTimeZone(tz)) {
      recorder.event(
        ref(cj),
        'Warning',
        'UnknownTimeZone',
        `invalid timeZone: "${tz}": unknown time zone ${tz}`,
      );
      return { changed };
    }
    if (cj.spec?.suspend) return { changed };
    let sched: CronSchedule;
    try {
      sched = parseSchedule(cj.spec?.schedule ?? '');
    } catch (err) {
      recorder.event(
        ref(cj),
        'Warning',
        'UnparseableSchedule',
        `unparseable schedule: "${cj.spec?.schedule}" : ${errorMessage(err)}`,
      );
      return { changed };
    }
    const recent = mostRecentScheduleTime(cj, now, sched, true);
    if (recent.tooManyMissed) {
      recorder.event(
        ref(cj),
        'Warning',
        'TooManyMissedTimes',
        'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
      );
    }
    const next = () => nextScheduleDelay(cj, now, sched);
    const scheduled = recent.mostRecent;
    if (scheduled === undefined) return { delay: next(), changed };
    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds != null && scheduled + sds * 1000 < now) {
      recorder.event(
        ref(cj),
        'Warning',
        'MissSchedule',
        `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString().replace('GMT', '+0000')}`,
      );
      return { delay: next(), changed };
    }
    const name = jobNameFor(cj, scheduled);
    const last = cj.status?.lastScheduleTime;
    if (
      cj.status?.active?.some((a) => a.name === name) ||
      (last && Date.parse(last) === scheduled)
    ) {
      return { delay: next(), changed };
    }
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && (cj.status?.active?.length ?? 0) > 0) {
      recorder.event(
        ref(cj),
        'Normal',
        'JobAlreadyActive',
        'Not starting job because prior execution is running and concurrency policy is Forbid',
      );
      return { delay: next(), changed };
    }
    if (policy === 'Replace') {
      for (const a of [...(cj.status?.active ?? [])]) {
        await deleteJob(cj, { metadata: { name: a.name, namespace: a.namespace, uid: a.uid } });
        changed = true;
      }
    }
    let created: Job;
    try {
      created = await client.create<Job>(R.jobs, jobFromTemplate(cj, scheduled));
      recorder.event(
        ref(cj),
        'Normal',
        'SuccessfulCreate',
        `Created job ${created.metadata?.name}`,
      );
    } catch (err) {
      if (!isAlreadyExists(err)) {
        recorder.event(
          ref(cj),
          'Warning',
          'FailedCreate',
          `Error creating job: ${errorMessage(err)}`,
        );
        throw err;
      }
      // Made by us before a crash lost the status update: list it again; anyone else's: leave it.
      created = await client.get<Job>(R.jobs, cj.metadata?.namespace, name);
      if (getControllerOf(created)?.uid !== cj.metadata?.uid) return { changed };
      if (inActive(cj, created.metadata?.uid)) return { changed };
    }
    cj.status = {
      ...cj.status,
      active: [...(cj.status?.active ?? []), jobRef(created)],
      lastScheduleTime: rfc3339(scheduled),
    };
    return { delay: next(), changed: true };
  };

  // Deletes a Job with its pods (background) and drops it from the active list.
  const deleteJob = async (cj: CronJob, job: Job): Promise<boolean> => {
    try {
      await client.delete(R.jobs, job.metadata?.namespace, job.metadata?.name ?? '', {
        propagationPolicy: 'Background',
      });
    } catch (err) {
      if (!isNotFound(err)) {
        recorder.event(ref(cj), 'Warning', 'FailedDelete', `Deleted job: ${errorMessage(err)}`);
        return false;
      }
    }
    dropActive(cj, job.metadata?.uid);
    recorder.event(ref(cj), 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata?.name}`);
    return true;
  };

  // Keeps the newest successfulJobsHistoryLimit Complete and failedJobsHistoryLimit Failed Jobs.
  const cleanupFinishedJobs = async (cj: CronJob, jobs: Job[]): Promise<boolean> => {
    const limits = {
      Complete: cj.spec?.successfulJobsHistoryLimit,
      Failed: cj.spec?.failedJobsHistoryLimit,
    };
    let changed = false;
    for (const type of ['Complete', 'Failed'] as const) {
      const limit = limits[type];
      if (limit == null) continue;
      const done = jobs.filter((j) => finishedType(j) === type).sort(byStartTime);
      for (const j of done.slice(0, Math.max(0, done.length - limit))) {
        if (await deleteJob(cj, j)) changed = true;
      }
    }
    return changed;
  };

  const controller = new Controller({
    name: 'cronjob-controller',
    informers,
    clock,
    log: opts.log,
    workers: opts.workers,
    reconcile: sync,
  });

  const ownerKey = (j: Job): string | undefined => {
    const r = getControllerOf(j);
    if (r?.kind !== 'CronJob') return undefined;
    const cj = cjInformer.lister.get(j.metadata?.namespace, r.name);
    return cj && cj.metadata?.uid === r.uid ? objectKey(cj) : undefined;
  };
  controller.watch(jobInformer, ownerKey);
  controller.watchWith(cjInformer, {
    onAdd: (cj) => controller.enqueue(objectKey(cj)),
    onUpdate: (old, cj) => {
      // A new schedule or zone takes effect at its next activation, not now.
      if (old.spec?.schedule !== cj.spec?.schedule || old.spec?.timeZone !== cj.spec?.timeZone) {
        try {
          const sched = parseSchedule(cj.spec?.schedule ?? '');
          const delay = nextScheduleDelay(cj, clock.now(), sched);
          if (delay !== undefined) controller.enqueue(objectKey(cj), delay);
          return;
        } catch {
          // An unparseable schedule is reported by the sync.
        }
      }
      controller.enqueue(objectKey(cj));
    },
    onDelete: (cj) => controller.enqueue(objectKey(cj)),
  });

  return {
    name: controller.name,
    controller,
    recorder,
    syncCronJob: sync,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}

// Oldest first: by status.startTime, then creation (upstream byJobStartTime).
function byStartTime(a: Job, b: Job): number {
  const t = (j: Job) => Date.parse(j.status?.startTime ?? j.metadata?.creationTimestamp ?? '') || 0;
  return t(a) - t(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}
