// Tests of the VPA controller against a real test API server, fake pod metrics and a FakeClock:
// recommendations and conditions written to status, NoPodsMatched, an in-place resize through
// pods/resize for InPlaceOrRecreate, nothing for Off, and the pod admission step for Initial.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { VerticalPodAutoscaler } from '../../api/vpa.js';
import { startTestApiServer } from '../../apiserver/testing.js';
import { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import type { KObject } from '../../client/rest.js';
import { FakeClock } from '../../lib/clock.js';
import type { PodMetrics } from '../hpa/metrics-client.js';
import { createVPAController, type PodMetricsSource } from './controller.js';

async function until(what: string, fn: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fn()) return;
    await sleep(10);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

class FakeMetrics implements PodMetricsSource {
  items: PodMetrics[] = [];
  async podMetrics(namespace: string): Promise<PodMetrics[]> {
    return this.items.filter((m) => m.metadata.namespace === namespace);
  }
}

async function setup(
  t: { after(fn: () => Promise<void> | void): void },
  mode: string,
  o: { isBestEffort?: boolean; minReplicas?: number } = {},
) {
  const api = await startTestApiServer();
  const clock = new FakeClock();
  const ac = new AbortController();
  t.after(async () => {
    ac.abort();
    await api.close();
  });
  const c = api.client;
  const owner = (kind: string, name: string, uid: string) => ({
    apiVersion: 'apps/v1',
    kind,
    name,
    uid,
    controller: true,
  });
  const rs = await c.create<KObject>(R.replicasets, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: 'web-abc',
      namespace: 'default',
      ownerReferences: [owner('Deployment', 'web', 'd1')],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'x' }] },
      },
    },
  });
  const pod = await c.create<KObject>(R.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-abc-1',
      namespace: 'default',
      labels: { app: 'web' },
      ownerReferences: [owner('ReplicaSet', 'web-abc', rs.metadata?.uid ?? '')],
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'x',
          ...(o.isBestEffort
            ? {}
            : {
                resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m' } },
              }),
        },
      ],
    },
  });
  pod.status = { phase: 'Running', startTime: new Date(clock.now() - 3_600_000).toISOString() };
  await c.updateStatus(R.pods, pod);
  await c.create(R.vpas, {
    apiVersion: 'autoscaling.k8s.io/v1',
    kind: 'VerticalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      updatePolicy: { updateMode: mode, ...(o.minReplicas ? { minReplicas: o.minReplicas } : {}) },
    },
  });
  const metrics = new FakeMetrics();
  const informers = new InformerFactory({ client: c, clock });
  const vpa = createVPAController({
    client: c,
    metrics,
    informers,
    clock,
    podLifetimeUpdateThresholdMs: 0,
    checkpointIntervalMs: 0,
    recommendation: { podMinCPUMillicores: 0, podMinMemoryMb: 0 },
  });
  informers.start(ac.signal);
  await informers.waitForCacheSync(ac.signal);
  // One sample per "second" of 300m cpu and 100 MB, as metrics-server would serve them.
  const feed = async (n: number) => {
    for (let i = 0; i < n; i++) {
      clock.advance(1000);
      metrics.items = [
        {
          metadata: { name: 'web-abc-1', namespace: 'default' },
          timestamp: new Date(clock.now()).toISOString(),
          window: '1s',
          containers: [{ name: 'app', usage: { cpu: '300m', memory: '100000000' } }],
        },
      ];
      await vpa.runOnce();
    }
  };
  const getVPA = () => c.get<VerticalPodAutoscaler & KObject>(R.vpas, 'default', 'web');
  const getPod = () => c.get<Pod & KObject>(R.pods, 'default', 'web-abc-1');
  return { c, vpa, feed, getVPA, getPod, clock, informers };
}

test('Off: recommends p90 + 15% per container and sets RecommendationProvided; the pod is left alone', async (t) => {
  const h = await setup(t, 'Off');
  await h.feed(5);
  const v = await h.getVPA();
  const rec = v.status?.recommendation?.containerRecommendations?.[0];
  // 300m lies in the bucket [281m, 305m): its end, 305m, + 15% (truncated): 350m.
  assert.equal(rec?.containerName, 'app');
  assert.equal(rec?.target['cpu'], '350m');
  assert.ok(rec?.uncappedTarget && rec.lowerBound && rec.upperBound);
  assert.equal(
    v.status?.conditions?.find((c) => c.type === 'RecommendationProvided')?.status,
    'True',
  );
  const pod = await h.getPod();
  assert.equal(pod.spec?.containers[0]?.resources?.requests?.['cpu'], '100m');
});

test('InPlaceOrRecreate: the updater resizes the pod through pods/resize, limits in proportion', async (t) => {
  const h = await setup(t, 'InPlaceOrRecreate');
  await h.feed(3);
  await until(
    'the resize',
    async () => (await h.getPod()).spec?.containers[0]?.resources?.requests?.['cpu'] === '350m',
  );
  const res = (await h.getPod()).spec?.containers[0]?.resources;
  assert.equal(res?.limits?.['cpu'], '700m');
  await h.vpa.flushEvents();
  const events = await h.c.list<KObject & { reason?: string }>(R.events, { namespace: 'default' });
  assert.ok(events.items.some((e) => e.reason === 'InPlaceResizedByVPA'));
});

test('NoPodsMatched once the pod is gone; a new pod under Initial is admitted at the target', async (t) => {
  const h = await setup(t, 'Initial');
  await h.feed(3);
  const before = await h.getPod();
  // Initial never touches a running pod.
  assert.equal(before.spec?.containers[0]?.resources?.requests?.['cpu'], '100m');
  await h.c.delete(R.pods, 'default', 'web-abc-1', { gracePeriodSeconds: 0 });
  await until(
    'the pod gone',
    async () => (await h.c.list(R.pods, { namespace: 'default' })).items.length === 0,
  );
  await sleep(50); // the informer sees the delete
  await h.vpa.runOnce();
  const v = await h.getVPA();
  assert.equal(v.status?.conditions?.find((c) => c.type === 'NoPodsMatched')?.status, 'True');
  const rs = await h.c.get<KObject>(R.replicasets, 'default', 'web-abc');
  const created = await h.c.create<Pod & KObject>(R.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-abc-2',
      namespace: 'default',
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-abc',
          uid: rs.metadata?.uid ?? '',
          controller: true,
        },
      ],
    },
    spec: { containers: [{ name: 'app', image: 'x', resources: { requests: { cpu: '100m' } } }] },
  });
  assert.equal(created.spec?.containers[0]?.resources?.requests?.['cpu'], '350m');
  assert.match(
    created.metadata?.annotations?.['vpaUpdates'] ?? '',
    /Pod resources updated by web: container 0: cpu request, memory request/,
  );
});

test('the history survives a restart through VerticalPodAutoscalerCheckpoints', async (t) => {
  const h = await setup(t, 'Off');
  await h.feed(5);
  const cp = await h.c.get<
    KObject & {
      spec?: { containerName?: string };
      status?: { totalSamplesCount?: number; version?: string };
    }
  >(R.vpaCheckpoints, 'default', 'web-app');
  assert.equal(cp.spec?.containerName, 'app');
  assert.equal(cp.status?.version, 'v3');
  assert.equal(cp.status?.totalSamplesCount, 5);
  // A new recommender with no samples at all recommends from the checkpoint alone.
  await h.c.patch(
    R.vpas,
    'default',
    'web',
    { status: { recommendation: null } },
    { subresource: 'status' },
  );
  const fresh = createVPAController({
    client: h.c,
    metrics: new FakeMetrics(),
    informers: h.informers,
    clock: h.clock,
    recommendation: { podMinCPUMillicores: 0, podMinMemoryMb: 0 },
  });
  // (Passes repeat until the informer has seen the cleared status.)
  await until('a recommendation from the checkpoint', async () => {
    await fresh.runOnce();
    const v = await h.getVPA();
    return v.status?.recommendation?.containerRecommendations?.[0]?.target['cpu'] === '350m';
  });
  // Deleting the VPA deletes its checkpoints with the state.
  await h.c.delete(R.vpas, 'default', 'web');
  await until('the VPA gone from the cache', async () => {
    await fresh.runOnce();
    return (await h.c.list(R.vpaCheckpoints, { namespace: 'default' })).items.length === 0;
  });
});

test('InPlaceOrRecreate evicts a pod whose resize the API refuses (a QoS class change)', async (t) => {
  const h = await setup(t, 'InPlaceOrRecreate', { isBestEffort: true, minReplicas: 1 });
  await h.feed(2);
  await until(
    'the eviction',
    async () => (await h.c.list(R.pods, { namespace: 'default' })).items.length === 0,
  );
  await h.vpa.flushEvents();
  const events = await h.c.list<KObject & { reason?: string }>(R.events, { namespace: 'default' });
  assert.ok(events.items.some((e) => e.reason === 'EvictedByVPA'));
  assert.ok(!events.items.some((e) => e.reason === 'InPlaceResizedByVPA'));
});
