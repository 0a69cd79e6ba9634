import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { Event } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../../api/time.js';
import { R } from '../../client/resources.js';
import { ApiError } from '../../client/rest.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  startControllerEnv,
} from '../runtime/testing.js';
import { type CronJobController, createCronJobController } from './controller.js';

const minute = 60_000;

describe('CronJob controller', () => {
  let env: ControllerEnv;
  let cjc: CronJobController;
  let n = 0;
  before(async () => {
    env = await startControllerEnv();
    cjc = createCronJobController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  async function settle() {
    await cacheCaughtUp(env.client, env.informers.informerFor(R.jobs), 'default');
    await cacheCaughtUp(env.client, env.informers.informerFor(R.cronjobs), 'default');
  }

  async function newCronJob(spec: Partial<NonNullable<CronJob['spec']>>): Promise<string> {
    const name = `cj${++n}`;
    await env.client.create<CronJob>(R.cronjobs, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name, namespace: 'default' },
      spec: {
        schedule: '*/5 * * * *',
        jobTemplate: {
          metadata: { labels: { app: name } },
          spec: { template: { spec: podSpec({ restartPolicy: 'OnFailure' }) } },
        },
        ...spec,
      },
    });
    await settle();
    return name;
  }

  async function sync(name: string) {
    const r = await cjc.syncCronJob(`default/${name}`);
    await settle();
    return r;
  }
  const jobsOf = async (name: string) =>
    (await env.client.list<Job>(R.jobs, { namespace: 'default', labelSelector: `app=${name}` }))
      .items;
  const getCJ = (name: string) => env.client.get<CronJob>(R.cronjobs, 'default', name);
  async function finishJob(job: Job, type: 'Complete' | 'Failed') {
    const fresh = await env.client.get<Job>(R.jobs, 'default', job.metadata!.name!);
    const now = rfc3339(env.clock.now());
    await env.client.updateStatus<Job>(R.jobs, {
      ...fresh,
      status: {
        startTime: fresh.status?.startTime ?? now,
        completionTime: type === 'Complete' ? now : undefined,
        conditions: [{ type, status: 'True', lastTransitionTime: now }],
      },
    });
    await settle();
  }
  async function events(name: string): Promise<Event[]> {
    await cjc.recorder.flush();
    const list = await env.client.list<Event>(R.events, { namespace: 'default' });
    return list.items.filter((e) => e.involvedObject.name === name);
  }
  // Moves the clock to the next multiple of `step` after now (plus `extra`).
  const advanceTo = (step: number, extra = 0) =>
    env.clock.advance(step - (env.clock.now() % step) + extra);

  it('creates one Job per activation named <cronjob>-<minutes>, owned and annotated, and tracks it as active', async () => {
    advanceTo(5 * minute, 30_000); // 30 s after an activation
    const name = await newCronJob({});
    const first = await sync(name);
    assert.equal(first?.requeueAfter, 4.5 * minute + 100, 'next activation + 100 ms');
    assert.equal((await jobsOf(name)).length, 0);
    env.clock.advance(first!.requeueAfter!);
    const scheduled = env.clock.now() - 100;
    const r = await sync(name);
    assert.equal(r?.requeueAfter, 5 * minute);
    const [job] = await jobsOf(name);
    assert.equal(job?.metadata?.name, `${name}-${scheduled / minute}`);
    assert.equal(
      job?.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'],
      new Date(scheduled).toISOString().replace('.000Z', 'Z'),
    );
    assert.equal(job?.metadata?.ownerReferences?.[0]?.kind, 'CronJob');
    const cj = await getCJ(name);
    assert.deepEqual(
      cj.status?.active?.map((a) => a.name),
      [job?.metadata?.name],
    );
    assert.equal(Date.parse(cj.status!.lastScheduleTime!), scheduled);
    // Syncing again within the same activation does not create another Job.
    await sync(name);
    assert.equal((await jobsOf(name)).length, 1);
    assert.ok((await events(name)).some((e) => e.reason === 'SuccessfulCreate'));
  });

  it('Forbid skips an activation while a Job runs; Replace deletes the running Job', async () => {
    const forbid = await newCronJob({ concurrencyPolicy: 'Forbid' });
    const replace = await newCronJob({ concurrencyPolicy: 'Replace' });
    advanceTo(5 * minute, 1000);
    await sync(forbid);
    await sync(replace);
    const [oldReplace] = await jobsOf(replace);
    advanceTo(5 * minute, 1000);
    await sync(forbid);
    await sync(replace);
    assert.equal((await jobsOf(forbid)).length, 1, 'Forbid: no second Job');
    assert.ok((await events(forbid)).some((e) => e.reason === 'JobAlreadyActive'));
    const jobs = await jobsOf(replace);
    const live = jobs.filter((j) => !j.metadata?.deletionTimestamp);
    assert.equal(live.length, 1);
    assert.notEqual(live[0]?.metadata?.name, oldReplace?.metadata?.name, 'Replace: a new Job');
    const cj = await getCJ(replace);
    assert.deepEqual(
      cj.status?.active?.map((a) => a.name),
      [live[0]?.metadata?.name],
    );
  });

  it('drops finished Jobs from active, records lastSuccessfulTime and keeps only the history limits', async () => {
    const name = await newCronJob({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 });
    const made: Job[] = [];
    for (let i = 0; i < 3; i++) {
      advanceTo(5 * minute, 1000);
      await sync(name);
      const jobs = await jobsOf(name);
      const fresh = jobs.find((j) => !made.some((m) => m.metadata?.uid === j.metadata?.uid));
      made.push(fresh!);
      await finishJob(fresh!, i === 1 ? 'Failed' : 'Complete');
    }
    await sync(name);
    const left = (await jobsOf(name)).filter((j) => !j.metadata?.deletionTimestamp);
    assert.deepEqual(
      left.map((j) => j.metadata?.name),
      [made[2]?.metadata?.name],
      'newest Complete kept; older Complete and the Failed one deleted',
    );
    const cj = await getCJ(name);
    assert.equal(cj.status?.active?.length ?? 0, 0);
    assert.ok(cj.status?.lastSuccessfulTime);
    const evs = await events(name);
    assert.ok(evs.some((e) => e.reason === 'SawCompletedJob'));
    assert.ok(evs.some((e) => e.reason === 'SuccessfulDelete'));
  });

  it('never starts an activation older than startingDeadlineSeconds, but starts one within it', async () => {
    const name = await newCronJob({ startingDeadlineSeconds: 10 });
    advanceTo(5 * minute, 30_000);
    const r = await sync(name);
    assert.equal((await jobsOf(name)).length, 0, '30 s late: skipped');
    assert.equal(r?.requeueAfter, 4.5 * minute + 100, 'waits for the next activation');
    advanceTo(5 * minute, 5_000);
    await sync(name);
    assert.equal((await jobsOf(name)).length, 1, '5 s late: started');
  });

  it('reads the schedule in spec.timeZone and stamps the Job with the zone offset', async () => {
    advanceTo(24 * 60 * minute); // midnight UTC
    const name = await newCronJob({ schedule: '0 9 * * *', timeZone: 'America/New_York' });
    const r = await sync(name);
    // 09:00 New York (winter, UTC−5) is 14:00 UTC.
    assert.equal(r?.requeueAfter, 14 * 60 * minute + 100);
    env.clock.advance(r!.requeueAfter!);
    await sync(name);
    const [job] = await jobsOf(name);
    assert.match(
      job?.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'] ?? '',
      /T09:00:00-05:00$/,
    );
  });

  it('does nothing while suspended', async () => {
    const name = await newCronJob({ suspend: true });
    advanceTo(5 * minute, 1000);
    assert.equal(await sync(name), undefined);
    assert.equal((await jobsOf(name)).length, 0);
  });

  it('the API server rejects bad schedules and time zones with upstream messages', async () => {
    const bad = async (spec: Partial<NonNullable<CronJob['spec']>>) => {
      try {
        await newCronJob(spec);
        return '';
      } catch (err) {
        assert.ok(err instanceof ApiError);
        return err.message;
      }
    };
    assert.match(
      await bad({ schedule: '* * *' }),
      /spec\.schedule: Invalid value: "\* \* \*": expected exactly 5 fields, found 3: \[\* \* \*\]/,
    );
    assert.match(
      await bad({ timeZone: 'Mars/Olympus' }),
      /spec\.timeZone: Invalid value: "Mars\/Olympus": unknown time zone Mars\/Olympus/,
    );
    assert.match(await bad({ schedule: 'TZ=UTC * * * * *' }), /cannot use TZ or CRON_TZ/);
  });
});
