// Jobs, CronJobs, StatefulSets, DaemonSets, persistent volumes and drain under `skiff up`, driven
// by the real kubectl: create, wait, logs, rollout, delete, with upstream semantics checked.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, type SkiffUnderTest, startSkiff } from './harness.js';

let skiff: SkiffUnderTest;

// CronJobs run on a clock 60 times real time (a test knob), so `* * * * *` fires every second.
const cronTimeScale = 60;

before(async () => {
  skiff = await startSkiff({ args: ['--cronjob-time-scale', String(cronTimeScale)] });
});
after(async () => {
  await skiff?.stop();
});

const json = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await skiff.kubectlOk([...args, '-o', 'json'])) as T;

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface JobJSON {
  status: { succeeded?: number; failed?: number; conditions?: Cond[]; completedIndexes?: string };
}

test('Job: kubectl create job, wait --for=condition=complete, logs job/x', async () => {
  await skiff.kubectlOk([
    'create',
    'job',
    'hello',
    '--image=busybox',
    '--',
    'sh',
    '-c',
    'echo hello from job',
  ]);
  await skiff.kubectlOk(['wait', '--for=condition=complete', 'job/hello', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  assert.match(await skiff.kubectlOk(['logs', 'job/hello']), /hello from job/);
  const job = await json<JobJSON>(['get', 'job', 'hello']);
  assert.equal(job.status.succeeded, 1);
  assert.equal(job.status.conditions?.find((c) => c.type === 'Complete')?.status, 'True');
  const table = await skiff.kubectlOk(['get', 'job', 'hello']);
  assert.match(table, /hello\s+Complete\s+1\/1/);
});

test('Job: Indexed pods see JOB_COMPLETION_INDEX and their hostname; a failing Job ends Failed', async () => {
  const manifest = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'indexed' },
    spec: {
      completions: 3,
      parallelism: 3,
      completionMode: 'Indexed',
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'c',
              image: 'busybox',
              command: ['sh', '-c', 'echo "index=$JOB_COMPLETION_INDEX host=$(hostname)"'],
            },
          ],
        },
      },
    },
  };
  await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  const failing = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'failing' },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 3'] }],
        },
      },
    },
  };
  await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(failing) });
  await skiff.kubectlOk(['wait', '--for=condition=complete', 'job/indexed', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  const job = await json<JobJSON>(['get', 'job', 'indexed']);
  assert.equal(job.status.completedIndexes, '0-2');
  const pods = await json<{ items: { metadata: { name: string } }[] }>([
    'get',
    'pods',
    '-l',
    'job-name=indexed',
  ]);
  const lines = new Set<string>();
  for (const p of pods.items) {
    lines.add((await skiff.kubectlOk(['logs', p.metadata.name])).trim());
  }
  assert.deepEqual([...lines].sort(), [
    'index=0 host=indexed-0',
    'index=1 host=indexed-1',
    'index=2 host=indexed-2',
  ]);
  await skiff.kubectlOk(['wait', '--for=condition=failed', 'job/failing', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  const failed = await json<JobJSON>(['get', 'job', 'failing']);
  const cond = failed.status.conditions?.find((c) => c.type === 'Failed');
  assert.equal(cond?.reason, 'BackoffLimitExceeded');
  assert.equal(failed.status.failed, 1);
  // Deleting the Job takes its pods with it (their tracking finalizers must not pin them).
  await skiff.kubectlOk(['delete', 'job', 'failing', '--wait=true', '--timeout=30s'], {
    timeoutMs: 40_000,
  });
  await eventually(
    async () =>
      (await skiff.kubectlOk(['get', 'pods', '-l', 'job-name=failing', '-o', 'name'])).trim() ===
      '',
    { what: 'failing job pods gone' },
  );
});

test('CronJob: kubectl create cronjob, create job --from=cronjob/x, history in get', async () => {
  await skiff.kubectlOk([
    'create',
    'cronjob',
    'tick',
    '--image=busybox',
    // Yearly: it must not fire during the test, even on the test's fast CronJob clock.
    '--schedule=0 3 1 1 *',
    '--',
    'sh',
    '-c',
    'echo tick',
  ]);
  const table = await skiff.kubectlOk(['get', 'cronjob', 'tick']);
  assert.match(table, /tick\s+0 3 1 1 \*\s+<none>\s+False\s+0\s+<none>/);
  await skiff.kubectlOk(['create', 'job', 'tick-manual', '--from=cronjob/tick']);
  await skiff.kubectlOk(['wait', '--for=condition=complete', 'job/tick-manual', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  assert.match(await skiff.kubectlOk(['logs', 'job/tick-manual']), /tick/);
  const job = await json<{ metadata: { ownerReferences?: { kind: string; name: string }[] } }>([
    'get',
    'job',
    'tick-manual',
  ]);
  assert.equal(job.metadata.ownerReferences?.[0]?.kind, 'CronJob');
  const bad = await skiff.kubectl([
    'create',
    'cronjob',
    'bad',
    '--image=busybox',
    '--schedule=* * *',
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /expected exactly 5 fields, found 3/);
  // Deleting the CronJob removes the Jobs it owns.
  await skiff.kubectlOk(['delete', 'cronjob', 'tick']);
  await eventually(async () => (await skiff.kubectl(['get', 'job', 'tick-manual'])).code !== 0, {
    what: 'owned job collected',
  });
});

test('CronJob: fires on schedule, Forbid skips overlaps, history limits trim, suspend stops it', async () => {
  const cj = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'fire' },
    spec: {
      schedule: '* * * * *',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 2,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              terminationGracePeriodSeconds: 1,
              containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo fired'] }],
            },
          },
        },
      },
    },
  };
  interface JobList {
    items: {
      metadata: { name: string; ownerReferences?: { kind: string; name: string }[] };
      status?: { succeeded?: number; active?: number };
    }[];
  }
  interface CronJSON {
    status?: { lastScheduleTime?: string; lastSuccessfulTime?: string; active?: unknown[] };
  }
  const owned = async () =>
    (await json<JobList>(['get', 'jobs'])).items.filter(
      (j) =>
        j.metadata.ownerReferences?.[0]?.kind === 'CronJob' &&
        j.metadata.ownerReferences[0].name === 'fire',
    );
  const diagnose = async () =>
    [
      await skiff
        .kubectl(['get', 'cronjob,jobs,pods', '-o', 'wide'])
        .then((r) => r.stdout + r.stderr),
      await skiff.kubectl(['get', 'cronjob', 'fire', '-o', 'yaml']).then((r) => r.stdout),
      skiff
        .logs()
        .split('\n')
        .filter((l) => l.includes('cronjob'))
        .slice(-20)
        .join('\n'),
    ].join('\n');
  try {
    await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(cj) });
    // Each scheduled Job runs and completes; the names carry the scheduled minute.
    const seen = new Set<string>();
    let running = 0;
    await eventually(
      async () => {
        const cron = await json<CronJSON>(['get', 'cronjob', 'fire']);
        const jobs = await owned();
        for (const j of jobs) if (j.status?.succeeded === 1) seen.add(j.metadata.name);
        // Forbid: never a second Job while one runs (every tick meanwhile is skipped).
        running = Math.max(running, jobs.filter((j) => !j.status?.succeeded).length);
        return seen.size >= 3 && !!cron.status?.lastSuccessfulTime && seen;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'three scheduled runs of fire', diagnose },
    );
    for (const name of seen) assert.match(name, /^fire-\d+$/);
    assert.ok(running <= 1, `at most one Job at a time under Forbid, saw ${running}`);
    const any = [...seen].at(-1) ?? '';
    // Finished Jobs are trimmed to successfulJobsHistoryLimit (the newest may still be running).
    await eventually(
      async () => {
        const done = (await owned()).filter((j) => (j.status?.succeeded ?? 0) > 0);
        return done.length <= 2 && done;
      },
      { timeoutMs: 30_000, what: 'history trimmed to 2 successful jobs', diagnose },
    );
    const logs = await skiff.kubectl(['logs', `job/${any}`]);
    // The Job may just have been trimmed; when it is still there its pod printed the line.
    if (logs.code === 0) assert.match(logs.stdout, /fired/);
    // Suspended, it schedules nothing more.
    await skiff.kubectlOk(['patch', 'cronjob', 'fire', '-p', '{"spec":{"suspend":true}}']);
    const before = (await json<CronJSON>(['get', 'cronjob', 'fire'])).status?.lastScheduleTime;
    // Three scheduled minutes (3 s) pass: a running CronJob would have fired again.
    await new Promise((r) => setTimeout(r, (3 * 60_000) / cronTimeScale + 500));
    const after = (await json<CronJSON>(['get', 'cronjob', 'fire'])).status?.lastScheduleTime;
    assert.equal(after, before, 'a suspended CronJob does not schedule');
    const table = await skiff.kubectlOk(['get', 'cronjob', 'fire']);
    assert.match(table, /fire\s+\* \* \* \* \*\s+<none>\s+True\s+/);
  } finally {
    await skiff.kubectl(['delete', 'cronjob', 'fire', '--wait=false']);
  }
});

test('StatefulSet: ordered pods with stable DNS and claims whose data survives pod deletion; rollout history/undo', async () => {
  const manifests = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web' },
      spec: {
        serviceName: 'web',
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'busybox',
                command: ['sh', '-c', 'hostname >> /data/log; exec sleep 3600'],
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
          },
        ],
      },
    },
  ];
  for (const m of manifests) {
    await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(m) });
  }
  await skiff.kubectlOk(['rollout', 'status', 'statefulset/web', '--timeout=90s'], {
    timeoutMs: 100_000,
  });
  const pods = await json<{ items: { metadata: { name: string; creationTimestamp: string } }[] }>([
    'get',
    'pods',
    '-l',
    'app=web',
  ]);
  const byName = pods.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  assert.deepEqual(
    byName.map((p) => p.metadata.name),
    ['web-0', 'web-1', 'web-2'],
  );
  // OrderedReady: each ordinal was created after the previous one.
  const created = byName.map((p) => Date.parse(p.metadata.creationTimestamp));
  assert.ok(created[0]! <= created[1]! && created[1]! <= created[2]!, 'created in order');
  const pvcs = await skiff.kubectlOk([
    'get',
    'pvc',
    '-o',
    'custom-columns=N:.metadata.name,S:.status.phase,C:.spec.storageClassName',
    '--no-headers',
  ]);
  assert.match(pvcs, /data-web-0\s+Bound\s+standard/);
  assert.match(pvcs, /data-web-2\s+Bound\s+standard/);
  // Stable DNS through the headless Service.
  const resolved = await skiff.kubectlOk([
    'exec',
    'web-0',
    '--',
    'getent',
    'hosts',
    'web-1.web.default.svc.cluster.local',
  ]);
  assert.match(resolved, /web-1\.web\.default\.svc\.cluster\.local/);
  // Data outlives the pod: the recreated web-1 finds the line the first one wrote.
  assert.equal(
    (await skiff.kubectlOk(['exec', 'web-1', '--', 'cat', '/data/log'])).trim(),
    'web-1',
  );
  await skiff.kubectlOk(['delete', 'pod', 'web-1', '--wait=true', '--timeout=30s'], {
    timeoutMs: 40_000,
  });
  await skiff.kubectlOk(['rollout', 'status', 'statefulset/web', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  await eventually(
    async () =>
      (await skiff.kubectl(['exec', 'web-1', '--', 'cat', '/data/log'])).stdout.trim() ===
      'web-1\nweb-1',
    { what: 'web-1 data kept across pod deletion' },
  );
  // A template change rolls out as revision 2; undo brings revision 1 back as revision 3.
  await skiff.kubectlOk(['set', 'env', 'statefulset/web', 'COLOR=blue']);
  await skiff.kubectlOk(['rollout', 'status', 'statefulset/web', '--timeout=90s'], {
    timeoutMs: 100_000,
  });
  const history = await skiff.kubectlOk(['rollout', 'history', 'statefulset/web']);
  assert.match(history, /^1\s/m);
  assert.match(history, /^2\s/m);
  await skiff.kubectlOk(['rollout', 'undo', 'statefulset/web']);
  await skiff.kubectlOk(['rollout', 'status', 'statefulset/web', '--timeout=90s'], {
    timeoutMs: 100_000,
  });
  const env = await skiff.kubectlOk([
    'get',
    'sts',
    'web',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].env}',
  ]);
  assert.equal(env, '');
  // Scaling down keeps the claims (retention policy Retain).
  await skiff.kubectlOk(['scale', 'statefulset/web', '--replicas=1']);
  await eventually(
    async () =>
      (await skiff.kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim() ===
      'pod/web-0',
    { what: 'scaled down to web-0', timeoutMs: 60_000 },
  );
  assert.match(await skiff.kubectlOk(['get', 'pvc', 'data-web-2']), /Bound/);
});

test('DaemonSet: one pod on the node, rolling update and rollout history', async () => {
  const ds = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exec sleep 3600'] }],
        },
      },
    },
  };
  await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(ds) });
  await skiff.kubectlOk(['rollout', 'status', 'daemonset/agent', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  const first = (await skiff.kubectlOk(['get', 'pods', '-l', 'app=agent', '-o', 'name'])).trim();
  assert.equal(first.split('\n').length, 1, 'one pod for the one node');
  assert.match(await skiff.kubectlOk(['get', 'ds', 'agent']), /agent\s+1\s+1\s+1\s+1\s+1\s/);
  await skiff.kubectlOk(['set', 'env', 'daemonset/agent', 'MODE=v2']);
  await skiff.kubectlOk(['rollout', 'status', 'daemonset/agent', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  await eventually(
    async () => {
      const now = (await skiff.kubectlOk(['get', 'pods', '-l', 'app=agent', '-o', 'name'])).trim();
      return now !== first && now.split('\n').length === 1;
    },
    { what: 'daemon pod replaced' },
  );
  const history = await skiff.kubectlOk(['rollout', 'history', 'daemonset/agent']);
  assert.match(history, /^2\s/m);
});

test('PodDisruptionBudget: kubectl drain evicts what the budget allows and is refused with 429 beyond', async () => {
  await skiff.kubectlOk([
    'create',
    'deployment',
    'guarded',
    '--image=busybox',
    '--replicas=2',
    '--',
    'sh',
    '-c',
    'exec sleep 3600',
  ]);
  await skiff.kubectlOk(['rollout', 'status', 'deployment/guarded', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  await skiff.kubectlOk([
    'create',
    'pdb',
    'guarded',
    '--selector=app=guarded',
    '--min-available=1',
  ]);
  await eventually(
    async () =>
      (await skiff.kubectlOk([
        'get',
        'pdb',
        'guarded',
        '-o',
        'jsonpath={.status.disruptionsAllowed}',
      ])) === '1',
    { what: 'pdb status computed' },
  );
  assert.match(await skiff.kubectlOk(['get', 'pdb', 'guarded']), /guarded\s+1\s+N\/A\s+1\s/);
  const node = (
    await skiff.kubectlOk(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}'])
  ).trim();
  try {
    // One pod may go; the other would break the budget (its replacement cannot land on the
    // cordoned node), so drain keeps retrying on 429 until its timeout.
    const drain = await skiff.kubectl(
      ['drain', node, '--pod-selector=app=guarded', '--ignore-daemonsets', '--timeout=12s'],
      { timeoutMs: 40_000 },
    );
    const out = drain.stdout + drain.stderr;
    assert.notEqual(drain.code, 0, out);
    assert.match(out, /evicted/);
    assert.match(out, /Cannot evict pod as it would violate the pod's disruption budget/);
  } finally {
    await skiff.kubectlOk(['uncordon', node]);
  }
});
