import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  startControllerEnv,
  waitFor,
} from '../runtime/testing.js';
import { createJobController, type JobController } from './controller.js';
import { jobTrackingFinalizer } from './sync.js';

describe('Job controller', () => {
  let env: ControllerEnv;
  let jc: JobController;
  let n = 0;
  before(async () => {
    env = await startControllerEnv();
    jc = createJobController({ informers: env.informers, clock: env.clock, batchPeriodMs: 0 });
    await env.sync();
  });
  after(() => env.close());

  const podInformer = () => env.informers.informerFor<Pod>(R.pods);
  const jobInformer = () => env.informers.informerFor<Job>(R.jobs);

  async function newJob(spec: Partial<NonNullable<Job['spec']>> = {}): Promise<string> {
    const name = `job${++n}`;
    await env.client.create<Job>(R.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: 'default' },
      spec: {
        template: { spec: podSpec({ restartPolicy: 'Never' }) },
        ...spec,
      } as Job['spec'],
    });
    await settle();
    return name;
  }

  // Lets the informer caches catch up with the API server (no clock involved).
  async function settle() {
    await cacheCaughtUp(env.client, podInformer(), 'default');
    await cacheCaughtUp(env.client, jobInformer(), 'default');
  }

  async function sync(name: string) {
    const r = await jc.syncJob(`default/${name}`);
    await settle();
    return r;
  }

  async function livePods(name: string): Promise<Pod[]> {
    const list = await env.client.list<Pod>(R.pods, {
      namespace: 'default',
      labelSelector: `job-name=${name}`,
    });
    return list.items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  }
  const activePods = async (name: string) =>
    (await livePods(name)).filter(
      (p) =>
        !p.metadata?.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
    );
  const getJob = (name: string) => env.client.get<Job>(R.jobs, 'default', name);
  // Two passes: the first counts the finished pods, the second acts on the counts.
  async function syncTwice(name: string): Promise<Job> {
    for (let i = 0; i < 2; i++) {
      await settle();
      await sync(name);
    }
    return getJob(name);
  }
  const conditionOf = (job: Job, type: string) =>
    job.status?.conditions?.find((c) => c.type === type);

  // What the node agent writes when the container exits.
  async function finish(
    pod: Pod,
    exitCode: number,
    conditions?: { type: string; status: string }[],
  ) {
    const fresh = await env.client.get<Pod>(R.pods, 'default', pod.metadata!.name!);
    await env.client.updateStatus<Pod>(R.pods, {
      ...fresh,
      status: {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        conditions,
        containerStatuses: [
          {
            name: 'c',
            image: 'busybox',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              terminated: { exitCode, finishedAt: new Date(env.clock.now()).toISOString() },
            },
          },
        ],
      },
    });
  }

  const cond = (job: Job, type: string) => job.status?.conditions?.find((c) => c.type === type);

  it('creates parallelism pods labelled with the job name and controller uid, tracked by finalizer', async () => {
    const name = await newJob({ completions: 5, parallelism: 2 });
    await sync(name);
    const pods = await livePods(name);
    assert.equal(pods.length, 2);
    const job = await getJob(name);
    for (const p of pods) {
      assert.match(p.metadata!.name!, new RegExp(`^${name}-[a-z0-9]{5}$`));
      assert.equal(p.metadata?.labels?.['batch.kubernetes.io/job-name'], name);
      assert.equal(p.metadata?.labels?.['controller-uid'], job.metadata?.uid);
      assert.deepEqual(p.metadata?.finalizers, [jobTrackingFinalizer]);
      assert.equal(p.metadata?.ownerReferences?.[0]?.kind, 'Job');
      assert.equal(p.metadata?.ownerReferences?.[0]?.controller, true);
    }
    assert.equal(job.status?.active, 2);
    assert.ok(job.status?.startTime, 'startTime set');
  });

  it('counts successes through uncountedTerminatedPods, drops finalizers, then completes', async () => {
    const name = await newJob({ completions: 3, parallelism: 2 });
    await sync(name);
    for (const p of await livePods(name)) await finish(p, 0);
    await settle();
    await sync(name);
    let job = await getJob(name);
    assert.equal(job.status?.succeeded, 2);
    const u = job.status?.uncountedTerminatedPods;
    assert.equal((u?.succeeded?.length ?? 0) + (u?.failed?.length ?? 0), 0, 'nothing uncounted');
    for (const p of await livePods(name)) {
      if (p.status?.phase === 'Succeeded') assert.deepEqual(p.metadata?.finalizers ?? [], []);
    }
    const remaining = await activePods(name);
    assert.equal(remaining.length, 1, 'only one more completion is needed');
    await finish(remaining[0]!, 0);
    await settle();
    await sync(name);
    job = await getJob(name);
    assert.equal(job.status?.succeeded, 3);
    assert.equal(cond(job, 'SuccessCriteriaMet')?.status, 'True');
    assert.equal(cond(job, 'Complete')?.status, 'True');
    assert.equal(cond(job, 'Complete')?.reason, 'CompletionsReached');
    assert.equal(job.status?.completionTime, cond(job, 'Complete')?.lastTransitionTime);
    assert.equal(job.status?.active, 0);
    await jc.recorder.flush();
    const events = await env.client.list<Event>(R.events, { namespace: 'default' });
    assert.ok(
      events.items.some((e) => e.involvedObject.name === name && e.reason === 'Completed'),
      'Completed event',
    );
  });

  it('backoffLimitPerIndex: an index that fails past its budget fails alone, then the Job', async () => {
    const name = await newJob({
      completions: 2,
      parallelism: 2,
      completionMode: 'Indexed',
      backoffLimitPerIndex: 1,
    });
    const ixOf = (p: Pod) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'];
    const failures = (p: Pod) =>
      p.metadata?.annotations?.['batch.kubernetes.io/job-index-failure-count'];
    await sync(name);
    let pods = await activePods(name);
    assert.deepEqual(pods.map(failures), ['0', '0']);
    await finish(pods.find((p) => ixOf(p) === '1')!, 0);
    await finish(pods.find((p) => ixOf(p) === '0')!, 1);
    await settle();
    await sync(name);
    // Index 0 has one retry: after the back-off its new pod carries the failure count.
    env.clock.advance(10_000);
    await sync(name);
    pods = await activePods(name);
    assert.equal(pods.length, 1);
    assert.equal(ixOf(pods[0]!), '0');
    assert.equal(failures(pods[0]!), '1');
    assert.equal((await getJob(name)).status?.failedIndexes ?? '', '');
    await finish(pods[0]!, 1);
    const job = await syncTwice(name);
    assert.equal(job.status?.failedIndexes, '0');
    assert.equal(job.status?.completedIndexes, '1');
    assert.equal(conditionOf(job, 'Failed')?.reason, 'FailedIndexes');
    assert.equal(conditionOf(job, 'Failed')?.message, 'Job has failed indexes');
    assert.equal((await activePods(name)).length, 0, 'a failed index is not retried');
  });

  it('maxFailedIndexes: more failed indexes than allowed fail the Job at once', async () => {
    const name = await newJob({
      completions: 3,
      parallelism: 3,
      completionMode: 'Indexed',
      backoffLimitPerIndex: 0,
      maxFailedIndexes: 0,
    });
    await sync(name);
    const pods = await activePods(name);
    await finish(pods[0]!, 1);
    const job = await syncTwice(name);
    assert.equal(conditionOf(job, 'Failed')?.reason, 'MaxFailedIndexesExceeded');
    assert.equal(job.status?.failedIndexes?.length, 1);
    assert.equal((await activePods(name)).length, 0, 'the other indexes are stopped');
  });

  it('successPolicy: the listed indexes succeeding completes the Job and stops the rest', async () => {
    const name = await newJob({
      completions: 3,
      parallelism: 3,
      completionMode: 'Indexed',
      successPolicy: { rules: [{ succeededIndexes: '0' }] },
    });
    await sync(name);
    const pods = await livePods(name);
    const leader = pods.find(
      (p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === '0',
    );
    assert.ok(leader);
    await finish(leader, 0);
    const job = await syncTwice(name);
    // The other indexes are stopped; the Job says why it succeeded.
    assert.equal((await activePods(name)).length, 0);
    const met = conditionOf(job, 'SuccessCriteriaMet');
    assert.equal(met?.status, 'True');
    assert.equal(met?.reason, 'SuccessPolicy');
    assert.equal(met?.message, 'Matched rules at index 0');
    assert.equal(conditionOf(job, 'Complete')?.reason, 'SuccessPolicy');
    assert.equal(job.status?.completedIndexes, '0');
    assert.equal(job.status?.succeeded, 1);
  });

  it('Indexed: one pod per index with annotation, label, hostname and JOB_COMPLETION_INDEX', async () => {
    const name = await newJob({ completions: 3, parallelism: 3, completionMode: 'Indexed' });
    await sync(name);
    const pods = await livePods(name);
    assert.equal(pods.length, 3);
    const byIndex = new Map(
      pods.map((p) => [p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'], p]),
    );
    for (const ix of ['0', '1', '2']) {
      const p = byIndex.get(ix);
      assert.ok(p, `index ${ix}`);
      assert.match(p.metadata!.name!, new RegExp(`^${name}-${ix}-[a-z0-9]{5}$`));
      assert.equal(p.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], ix);
      assert.equal(p.spec?.hostname, `${name}-${ix}`);
      assert.deepEqual(
        p.spec?.containers[0]?.env?.find((e) => e.name === 'JOB_COMPLETION_INDEX'),
        {
          name: 'JOB_COMPLETION_INDEX',
          valueFrom: {
            fieldRef: {
              apiVersion: 'v1',
              fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
            },
          },
        },
      );
    }
    await finish(byIndex.get('0')!, 0);
    await finish(byIndex.get('2')!, 0);
    // A failure after the last success starts the back-off.
    env.clock.advance(1_000);
    await finish(byIndex.get('1')!, 1);
    await settle();
    await sync(name);
    let job = await getJob(name);
    assert.equal(job.status?.completedIndexes, '0,2');
    assert.equal(job.status?.succeeded, 2);
    assert.equal(job.status?.failed, 1);
    // Index 1 is retried after the 10 s back-off, and only index 1.
    assert.equal((await activePods(name)).length, 0);
    env.clock.advance(10_000);
    await sync(name);
    const retry = await activePods(name);
    assert.equal(retry.length, 1);
    assert.equal(
      retry[0]?.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'],
      '1',
    );
    await finish(retry[0]!, 0);
    await settle();
    await sync(name);
    job = await getJob(name);
    assert.equal(job.status?.completedIndexes, '0-2');
    assert.equal(cond(job, 'Complete')?.status, 'True');
  });

  it('backs off 10 s, 20 s between failures and fails with BackoffLimitExceeded past backoffLimit', async () => {
    const name = await newJob({ completions: 1, parallelism: 1, backoffLimit: 1 });
    await sync(name);
    await finish((await activePods(name))[0]!, 1);
    await settle();
    const r = await sync(name);
    assert.equal((await activePods(name)).length, 0, 'no replacement during back-off');
    assert.equal((await getJob(name)).status?.failed, 1);
    assert.equal(r, undefined);
    env.clock.advance(9_000);
    await sync(name);
    assert.equal((await activePods(name)).length, 0, 'still backing off at 9 s');
    env.clock.advance(1_000);
    await sync(name);
    const second = await activePods(name);
    assert.equal(second.length, 1, 'replacement after 10 s');
    await finish(second[0]!, 1);
    await settle();
    await sync(name);
    let job = await getJob(name);
    assert.equal(job.status?.failed, 2);
    assert.equal(cond(job, 'FailureTarget')?.reason, 'BackoffLimitExceeded');
    assert.equal(cond(job, 'Failed')?.status, 'True');
    assert.equal(cond(job, 'Failed')?.reason, 'BackoffLimitExceeded');
    assert.equal(cond(job, 'Failed')?.message, 'Job has reached the specified backoff limit');
    assert.equal(job.status?.completionTime, undefined, 'failed jobs have no completionTime');
    job = await getJob(name);
    assert.equal(cond(job, 'Complete'), undefined);
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds, deleting running pods first', async () => {
    const name = await newJob({ completions: 2, parallelism: 2, activeDeadlineSeconds: 30 });
    const r = await sync(name);
    assert.deepEqual(r, { requeueAfter: 30_000 });
    env.clock.advance(30_000);
    await sync(name);
    let job = await getJob(name);
    assert.equal(cond(job, 'FailureTarget')?.reason, 'DeadlineExceeded');
    assert.equal(cond(job, 'Failed'), undefined, 'not Failed while pods are terminating');
    assert.equal(job.status?.terminating, 2);
    // Unscheduled pods go as soon as their finalizer is removed.
    assert.equal((await livePods(name)).length, 0, 'pods deleted');
    await settle();
    await sync(name);
    job = await getJob(name);
    assert.equal(cond(job, 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(cond(job, 'Failed')?.message, 'Job was active longer than specified deadline');
    assert.equal(job.status?.failed, 2);
  });

  it('podFailurePolicy: Ignore does not count, FailJob fails the Job with the upstream message', async () => {
    const name = await newJob({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          { action: 'FailJob', onExitCodes: { containerName: 'c', operator: 'In', values: [42] } },
        ],
      },
    });
    await sync(name);
    await finish((await activePods(name))[0]!, 3, [{ type: 'DisruptionTarget', status: 'True' }]);
    await settle();
    await sync(name);
    let job = await getJob(name);
    assert.equal(job.status?.failed ?? 0, 0, 'ignored failure is not counted');
    // The back-off still applies to ignored failures, as upstream.
    env.clock.advance(10_000);
    await sync(name);
    const next = await activePods(name);
    assert.equal(next.length, 1, 'replaced');
    await finish(next[0]!, 42);
    await settle();
    await sync(name);
    job = await getJob(name);
    const failed = cond(job, 'Failed');
    assert.equal(failed?.reason, 'PodFailurePolicy');
    assert.equal(
      failed?.message,
      `Container c for pod default/${next[0]!.metadata!.name} failed with exit code 42 matching FailJob rule at index 1`,
    );
  });

  it('suspend deletes active pods and sets Suspended; resume recreates them', async () => {
    const name = await newJob({ completions: 2, parallelism: 2 });
    await sync(name);
    assert.equal((await activePods(name)).length, 2);
    await env.client.patch(R.jobs, 'default', name, { spec: { suspend: true } });
    await settle();
    await sync(name);
    let job = await getJob(name);
    assert.equal(cond(job, 'Suspended')?.status, 'True');
    assert.equal(cond(job, 'Suspended')?.reason, 'JobSuspended');
    assert.equal((await livePods(name)).length, 0, 'unscheduled pods deleted outright');
    assert.equal(job.status?.failed ?? 0, 0, 'suspension is not a failure');
    await env.client.patch(R.jobs, 'default', name, { spec: { suspend: false } });
    await settle();
    await sync(name);
    job = await getJob(name);
    assert.equal(cond(job, 'Suspended')?.status, 'False');
    assert.equal(cond(job, 'Suspended')?.reason, 'JobResumed');
    assert.equal((await activePods(name)).length, 2);
  });

  it('removes the tracking finalizer from pods of a deleted Job', async () => {
    const name = await newJob({ completions: 1 });
    await sync(name);
    const [pod] = await livePods(name);
    await env.client.delete(R.jobs, 'default', name, { propagationPolicy: 'Background' });
    await settle();
    await waitFor(() => !jobInformer().lister.get('default', name), 'job gone from cache');
    await jc.syncOrphanPod(`default/${pod!.metadata!.name}`);
    const got = await env.client.get<Pod>(R.pods, 'default', pod!.metadata!.name!);
    assert.deepEqual(got.metadata?.finalizers ?? [], []);
  });
});
