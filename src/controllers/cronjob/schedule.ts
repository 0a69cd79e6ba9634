// Schedule arithmetic of the CronJob controller: the most recent unmet activation, the delay to the
// next one and the Job made for an activation (kubernetes pkg/controller/cronjob/utils.go
// mostRecentScheduleTime, nextScheduleTimeDuration, getJobFromTemplate2, getTimeHashInMinutes).
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import { type CronSchedule, nextAfter, wallClock } from '../../api/cron.js';
import { newControllerRef } from '../runtime/owner.js';

/** Annotation with the activation time a Job was made for (upstream CronJobScheduledTimestampAnnotation). */
export const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Slack added to the next-activation delay so the sync lands after it (upstream nextScheduleDelta). */
const nextScheduleDeltaMs = 100;
/** More missed activations than this produce a warning (upstream). */
const tooManyMissed = 100;

export const cronJobGVK = { apiVersion: 'batch/v1', kind: 'CronJob' } as const;

/** The zone a CronJob's schedule is read in (the controller's own is UTC). */
export const zoneOf = (cj: CronJob) => cj.spec?.timeZone ?? 'UTC';

/** The outcome of mostRecentScheduleTime. */
export interface MostRecent {
  earliest: number;
  /** The latest activation ≤ now after `earliest`, if any. */
  mostRecent?: number;
  /** True when more than 100 activations were missed. */
  tooManyMissed: boolean;
}

/**
 * The latest activation in (earliest, now], where earliest is lastScheduleTime (or creation),
 * moved up to now − startingDeadlineSeconds when asked to.
 */
export function mostRecentScheduleTime(
  cj: CronJob,
  now: number,
  sched: CronSchedule,
  includeStartingDeadline: boolean,
): MostRecent {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp ?? '');
  if (Number.isNaN(earliest)) earliest = now;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && sds != null) earliest = Math.max(earliest, now - sds * 1000);
  const tz = zoneOf(cj);
  const t1 = nextAfter(sched, earliest, tz);
  if (t1 === undefined || now < t1) return { earliest, tooManyMissed: false };
  const t2 = nextAfter(sched, t1, tz);
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, tooManyMissed: false };
  // Several were missed: estimate how many from the first gap, as upstream does.
  const missed = Math.floor((now - t1) / Math.max(1, t2 - t1)) + 1;
  const mostRecent = latestAtOrBefore(sched, now, tz, t1) ?? t1;
  return { earliest, mostRecent, tooManyMissed: missed > tooManyMissed };
}

/**
 * The latest activation in [floor, now], searched in windows doubling back from now, so a long
 * outage costs a few steps rather than one per missed activation.
 */
function latestAtOrBefore(sched: CronSchedule, now: number, tz: string, floor: number) {
  for (let w = 60_000; ; w *= 2) {
    const from = Math.max(floor - 1, now - w);
    let t = nextAfter(sched, from, tz);
    if (t !== undefined && t <= now) {
      let last = t;
      for (t = nextAfter(sched, t, tz); t !== undefined && t <= now; t = nextAfter(sched, t, tz)) {
        last = t;
      }
      return last;
    }
    if (from <= floor - 1) return undefined;
  }
}

/** ms until the sync after the next activation (upstream nextScheduleTimeDuration). */
export function nextScheduleDelay(
  cj: CronJob,
  now: number,
  sched: CronSchedule,
): number | undefined {
  const r = mostRecentScheduleTime(cj, now, sched, false);
  const from = r.mostRecent ?? r.earliest;
  const next = nextAfter(sched, from, zoneOf(cj));
  return next === undefined ? undefined : Math.max(0, next + nextScheduleDeltaMs - now);
}

/** The Job name for an activation: "<cronjob>-<minutes since the epoch>" (upstream getJobName). */
export function jobNameFor(cj: CronJob, scheduled: number): string {
  return `${cj.metadata?.name}-${Math.floor(scheduled / 60_000)}`;
}

/** RFC 3339 of t with the zone's offset, as Go formats a time in a location. */
export function rfc3339InZone(t: number, tz: string): string {
  const w = wallClock(t, tz);
  const asUTC = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, new Date(t).getUTCSeconds());
  const offMin = Math.round((asUTC - Math.floor(t / 1000) * 1000) / 60_000);
  const pad = (n: number, l = 2) => String(Math.abs(n)).padStart(l, '0');
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(new Date(t).getUTCSeconds())}`;
  if (offMin === 0) return `${date}Z`;
  const sign = offMin < 0 ? '-' : '+';
  return `${date}${sign}${pad(Math.trunc(offMin / 60))}:${pad(offMin % 60)}`;
}

/** The Job for the activation at `scheduled` (upstream getJobFromTemplate2). */
export function jobFromTemplate(cj: CronJob, scheduled: number): Job {
  const tmpl = cj.spec?.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameFor(cj, scheduled),
      namespace: cj.metadata?.namespace,
      labels: { ...(tmpl?.metadata?.labels ?? {}) },
      annotations: {
        ...(tmpl?.metadata?.annotations ?? {}),
        [scheduledTimestampAnnotation]: rfc3339InZone(scheduled, zoneOf(cj)),
      },
      ownerReferences: [newControllerRef(cj, cronJobGVK)],
    },
    spec: structuredClone(tmpl?.spec ?? { template: {} }),
  };
}
