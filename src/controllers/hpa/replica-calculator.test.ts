// Table tests of the replica calculation, after upstream replica_calculator_test.go's cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  getRawResourceReplicas,
  getResourceReplicas,
  groupPods,
  type PodMetricsInfo,
  type ReplicaCalculatorOptions,
} from './replica-calculator.js';

const now = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const opts: ReplicaCalculatorOptions = {
  tolerance: 0.1,
  cpuInitializationPeriodMs: 5 * 60_000,
  delayOfInitialReadinessStatusMs: 30_000,
};

interface PodSpec {
  ready?: 'True' | 'False' | 'none';
  phase?: 'Running' | 'Pending' | 'Failed';
  /** ms before now the pod started (default 10 min: past CPU initialisation). */
  startedAgo?: number;
  /** ms before now Ready last changed (default 9 min). */
  transitionAgo?: number;
  deleting?: boolean;
  /** cpu request per container, e.g. ['1'] or ['500m', '500m']. */
  requests?: (string | undefined)[];
}

function pod(name: string, s: PodSpec = {}): Pod {
  const containers = (s.requests ?? ['1']).map((r, i) => ({
    name: `c${i}`,
    image: 'x',
    resources: r === undefined ? {} : { requests: { cpu: r, memory: '100Mi' } },
  }));
  return {
    metadata: {
      name,
      namespace: 'default',
      ...(s.deleting ? { deletionTimestamp: iso(now) } : {}),
    },
    spec: { containers },
    status: {
      phase: s.phase ?? 'Running',
      startTime: iso(now - (s.startedAgo ?? 600_000)),
      conditions:
        s.ready === 'none'
          ? []
          : [
              {
                type: 'Ready',
                status: s.ready ?? 'True',
                lastTransitionTime: iso(now - (s.transitionAgo ?? 540_000)),
              },
            ],
    },
  };
}

/** Metrics sampled 1 s ago over a 1 s window, in milli-units, keyed p0, p1, … (undefined = missing). */
function metrics(values: (number | undefined)[], names?: string[]): PodMetricsInfo {
  const m: PodMetricsInfo = new Map();
  values.forEach((v, i) => {
    if (v !== undefined)
      m.set(names?.[i] ?? `p${i}`, { timestamp: now - 1000, window: 1000, value: v });
  });
  return m;
}

const pods = (specs: PodSpec[]) => specs.map((s, i) => pod(`p${i}`, s));

interface Case {
  name: string;
  current: number;
  pods: PodSpec[];
  levels: (number | undefined)[];
  target: number;
  want: number;
  wantUtilization: number;
}

const utilizationCases: Case[] = [
  {
    name: 'scales up by the mean utilization of ready pods',
    current: 3,
    pods: [{}, {}, {}],
    levels: [300, 500, 700],
    target: 30,
    want: 5,
    wantUtilization: 50,
  },
  {
    name: 'scales up less when a pod is unready (counted as 0%)',
    current: 3,
    pods: [{ ready: 'False', transitionAgo: 595_000 }, {}, {}],
    levels: [300, 500, 700],
    target: 30,
    want: 4,
    wantUtilization: 60,
  },
  {
    name: 'does not scale up when unready pods bring the ratio within tolerance',
    current: 3,
    pods: [{}, { ready: 'False', startedAgo: 60_000 }, { ready: 'False', startedAgo: 60_000 }],
    levels: [400, 500, 700],
    target: 30,
    want: 3,
    wantUtilization: 40,
  },
  {
    name: 'treats a hot (recently ready) CPU sample as unready',
    current: 3,
    pods: [{ startedAgo: 60_000, transitionAgo: 500 }, {}, {}],
    levels: [300, 500, 700],
    target: 30,
    want: 4,
    wantUtilization: 60,
  },
  {
    name: 'ignores failed and deleted pods',
    current: 2,
    pods: [{}, {}, { phase: 'Failed' }, { deleting: true }],
    levels: [500, 700, 100, 100],
    target: 30,
    want: 4,
    wantUtilization: 60,
  },
  {
    name: 'treats pending pods as unready on a scale-up',
    current: 3,
    pods: [{}, {}, { phase: 'Pending' }],
    levels: [900, 900, undefined],
    target: 50,
    want: 4,
    wantUtilization: 90,
  },
  {
    name: 'scales down to ceil(ratio x ready pods)',
    current: 5,
    pods: [{}, {}, {}, {}, {}],
    levels: [100, 300, 500, 250, 250],
    target: 50,
    want: 3,
    wantUtilization: 28,
  },
  {
    name: 'scales down excluding unready pods',
    current: 5,
    pods: [
      { ready: 'False', transitionAgo: 595_000 },
      { ready: 'False', transitionAgo: 595_000 },
      {},
      {},
      {},
    ],
    levels: [100, 300, 500, 250, 250],
    target: 50,
    want: 2,
    wantUtilization: 33,
  },
  {
    name: 'keeps replicas within tolerance',
    current: 3,
    pods: [{ requests: ['900m'] }, { requests: ['1'] }, { requests: ['1100m'] }],
    levels: [1010, 1030, 1020],
    target: 100,
    want: 3,
    wantUtilization: 102,
  },
  {
    name: 'missing metric on a scale-up counts as 0%',
    current: 2,
    pods: [{}, {}],
    levels: [3000, undefined],
    target: 100,
    want: 3,
    wantUtilization: 300,
  },
  {
    name: 'missing metric that cancels the scale-up keeps the count',
    current: 2,
    pods: [{}, {}],
    levels: [1900, undefined],
    target: 100,
    want: 2,
    wantUtilization: 190,
  },
  {
    name: 'missing metric on a scale-down counts as 100% of request',
    current: 4,
    pods: [{}, {}, {}, {}],
    levels: [100, 100, 100, undefined],
    target: 50,
    want: 3,
    wantUtilization: 10,
  },
  {
    name: 'missing metric on a scale-down counts as the target when it exceeds 100%',
    current: 4,
    pods: [{}, {}, {}, {}],
    levels: [1000, 1000, 1000, undefined],
    target: 200,
    want: 3,
    wantUtilization: 100,
  },
  {
    name: 'missing metrics that reverse a scale-down keep the count',
    current: 3,
    pods: [{}, {}, {}],
    levels: [400, undefined, undefined],
    target: 50,
    want: 3,
    wantUtilization: 40,
  },
  {
    name: 'sums the requests of all containers in a pod',
    current: 2,
    pods: [{ requests: ['500m', '500m'] }, { requests: ['500m', '500m'] }],
    levels: [1000, 1000],
    target: 50,
    want: 4,
    wantUtilization: 100,
  },
];

for (const c of utilizationCases) {
  test(`GetResourceReplicas ${c.name}`, () => {
    const res = getResourceReplicas(
      {
        currentReplicas: c.current,
        resource: 'cpu',
        pods: pods(c.pods),
        metrics: metrics(c.levels),
        now,
        targetUtilization: c.target,
      },
      opts,
    );
    assert.equal(res.replicaCount, c.want);
    assert.equal(res.utilization, c.wantUtilization);
  });
}

test('GetResourceReplicas errors as upstream', () => {
  const base = { currentReplicas: 1, resource: 'cpu', now, targetUtilization: 50 };
  assert.throws(
    () => getResourceReplicas({ ...base, pods: [], metrics: metrics([]) }, opts),
    /no pods returned by selector while calculating replica count/,
  );
  assert.throws(
    () =>
      getResourceReplicas(
        { ...base, pods: pods([{ ready: 'False', startedAgo: 60_000 }]), metrics: metrics([5]) },
        opts,
      ),
    /did not receive metrics for targeted pods \(pods might be unready\)/,
  );
  assert.throws(
    () =>
      getResourceReplicas(
        { ...base, pods: pods([{ requests: [undefined] }]), metrics: metrics([5]) },
        opts,
      ),
    /missing request for cpu in container c0 of Pod p0/,
  );
});

test('GetResourceReplicas for one container uses only its request', () => {
  const res = getResourceReplicas(
    {
      currentReplicas: 2,
      resource: 'cpu',
      container: 'c1',
      pods: pods([{ requests: ['2', '100m'] }, { requests: ['2', '100m'] }]),
      metrics: metrics([100, 100]),
      now,
      targetUtilization: 50,
    },
    opts,
  );
  assert.deepEqual(res, { replicaCount: 4, utilization: 100, rawUtilization: 100 });
});

test('GetRawResourceReplicas scales on the average value', () => {
  // memory in milli-bytes: 200Mi and 100Mi average 150Mi against a 100Mi target.
  const mi = 1024 * 1024 * 1000;
  const res = getRawResourceReplicas(
    {
      currentReplicas: 2,
      resource: 'memory',
      pods: pods([{}, {}]),
      metrics: metrics([200 * mi, 100 * mi]),
      now,
      targetUsage: 100 * mi,
    },
    opts,
  );
  assert.deepEqual(res, { replicaCount: 3, usage: 150 * mi });
  // A missing pod on a scale-down counts as exactly the target.
  const down = getRawResourceReplicas(
    {
      currentReplicas: 3,
      resource: 'memory',
      pods: pods([{}, {}, {}]),
      metrics: metrics([10 * mi, 10 * mi, undefined]),
      now,
      targetUsage: 100 * mi,
    },
    opts,
  );
  assert.equal(down.replicaCount, 2);
});

test('groupPods: a never-ready old pod is unready; a pod that was ready before is counted', () => {
  const m = metrics([100, 100, 100]);
  const g = groupPods(
    [
      pod('p0', { ready: 'False', startedAgo: 600_000, transitionAgo: 590_000 }),
      pod('p1', { ready: 'False', startedAgo: 600_000, transitionAgo: 60_000 }),
      pod('p2', { ready: 'none' }),
    ],
    m,
    'cpu',
    { ...opts, now },
  );
  assert.deepEqual([...g.unreadyPods].sort(), ['p0', 'p2']);
  assert.equal(g.readyPodCount, 1);
  // Memory samples are not screened by readiness.
  const gm = groupPods([pod('p0', { ready: 'False' })], metrics([1]), 'memory', { ...opts, now });
  assert.equal(gm.readyPodCount, 1);
});
