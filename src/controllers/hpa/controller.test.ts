// Tests of the HPA controller against a real test API server, a fake metrics client and a FakeClock:
// scale up, tolerance, stabilized scale-down, limits and missing metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { startTestApiServer } from '../../apiserver/testing.js';
import { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import type { KObject } from '../../client/rest.js';
import { FakeClock } from '../../lib/clock.js';
import { createHPAController, type HPAControllerOptions } from './controller.js';
import { FakeMetricsClient } from './metrics-client.js';

const iso = (ms: number) => new Date(ms).toISOString();

async function until(what: string, fn: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await sleep(10);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

async function setup(
  t: { after(fn: () => Promise<void> | void): void },
  opts: {
    replicas: number;
    pods: number;
    hpa?: Partial<HorizontalPodAutoscaler['spec']>;
  } & Partial<HPAControllerOptions>,
) {
  const api = await startTestApiServer();
  const clock = new FakeClock();
  const ac = new AbortController();
  t.after(async () => {
    ac.abort();
    await api.close();
  });
  const c = api.client;
  const labels = { app: 'web' };
  await c.create(R.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: opts.replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'x' }] } },
    },
  });
  const pods: { name: string; labels: Record<string, string> }[] = [];
  for (let i = 0; i < opts.pods; i++) {
    const name = `web-${i}`;
    const created = await c.create<KObject>(R.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels },
      spec: { containers: [{ name: 'app', image: 'x', resources: { requests: { cpu: '100m' } } }] },
    });
    created.status = {
      phase: 'Running',
      startTime: iso(clock.now() - 600_000),
      conditions: [
        { type: 'Ready', status: 'True', lastTransitionTime: iso(clock.now() - 540_000) },
      ],
    };
    await c.updateStatus(R.pods, created);
    pods.push({ name, labels });
  }
  await c.create(R.hpas, {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
        },
      ],
      ...opts.hpa,
    },
  });
  const metrics = new FakeMetricsClient();
  const informers = new InformerFactory({ client: c, clock });
  const hpa = createHPAController({ client: c, clock, informers, metrics, ...opts });
  const hpaInformer = informers.informerFor<HorizontalPodAutoscaler & KObject>(R.hpas);
  const podInformer = informers.informerFor<Pod & KObject>(R.pods);
  informers.start(ac.signal);
  await informers.waitForCacheSync(ac.signal);
  await until('pods cached', () => podInformer.lister.list('default').length === opts.pods);

  /** Sets every pod's CPU usage, sampled one second ago. */
  const usage = (cpu: string) =>
    metrics.setPodUsage(pods, { cpu, memory: '20Mi' }, { timestamp: clock.now() - 1000 });
  /** Runs one reconcile and waits for the informer to see the resulting HPA. */
  const sync = async () => {
    await hpa.reconcile('default/web').catch((err: unknown) => err);
    await hpa.flushEvents();
    const fresh = await c.get<HorizontalPodAutoscaler & KObject>(R.hpas, 'default', 'web');
    await until('HPA cached', () => {
      const cached = hpaInformer.lister.get('default', 'web');
      return cached?.metadata?.resourceVersion === fresh.metadata?.resourceVersion;
    });
    return fresh;
  };
  const replicas = async () =>
    (
      await c.requestJSON<{ spec: { replicas: number } }>(
        'GET',
        '/apis/apps/v1/namespaces/default/deployments/web/scale',
      )
    ).spec.replicas;
  const events = async () =>
    (await c.list<Event>(R.events, { namespace: 'default' })).items.map(
      (e) => `${e.reason}: ${e.message}`,
    );
  const cond = (h: HorizontalPodAutoscaler, type: string) => {
    const x = h.status?.conditions?.find((k) => k.type === type);
    return `${x?.status} ${x?.reason}`;
  };
  const scaleTo = (n: number) =>
    c.patch(R.deployments, 'default', 'web', { spec: { replicas: n } }, { subresource: 'scale' });
  return { clock, metrics, usage, sync, replicas, events, cond, scaleTo };
}

test('scales up on CPU above target and writes status, conditions and the event', async (t) => {
  const h = await setup(t, { replicas: 2, pods: 2 });
  h.usage('100m');
  const hpa = await h.sync();
  assert.equal(await h.replicas(), 4);
  assert.equal(hpa.status?.currentReplicas, 2);
  assert.equal(hpa.status?.desiredReplicas, 4);
  assert.equal(hpa.status?.observedGeneration, 1);
  assert.ok(hpa.status?.lastScaleTime);
  assert.deepEqual(hpa.status?.currentMetrics, [
    {
      type: 'Resource',
      resource: { name: 'cpu', current: { averageUtilization: 100, averageValue: '100m' } },
    },
  ]);
  assert.equal(h.cond(hpa, 'AbleToScale'), 'True SucceededRescale');
  assert.equal(h.cond(hpa, 'ScalingActive'), 'True ValidMetricFound');
  assert.equal(h.cond(hpa, 'ScalingLimited'), 'False DesiredWithinRange');
  assert.deepEqual(await h.events(), [
    'SuccessfulRescale: New size: 4; reason: cpu resource utilization (percentage of request) above target',
  ]);
});

test('does nothing within tolerance', async (t) => {
  const h = await setup(t, { replicas: 2, pods: 2 });
  h.usage('54m');
  const hpa = await h.sync();
  assert.equal(await h.replicas(), 2);
  assert.equal(hpa.status?.desiredReplicas, 2);
  assert.equal(hpa.status?.lastScaleTime, undefined);
  assert.equal(h.cond(hpa, 'AbleToScale'), 'True ReadyForNewScale');
  assert.deepEqual(await h.events(), []);
});

test('scales down only after the stabilization window, bounded by minReplicas', async (t) => {
  const h = await setup(t, { replicas: 4, pods: 4, downscaleStabilizationMs: 60_000 });
  h.usage('10m');
  let hpa = await h.sync();
  assert.equal(await h.replicas(), 4);
  assert.equal(h.cond(hpa, 'AbleToScale'), 'True ScaleDownStabilized');
  h.clock.advance(30_000);
  h.usage('10m');
  await h.sync();
  assert.equal(await h.replicas(), 4);
  h.clock.advance(31_000);
  h.usage('10m');
  hpa = await h.sync();
  assert.equal(await h.replicas(), 2);
  assert.equal(h.cond(hpa, 'ScalingLimited'), 'True TooFewReplicas');
  assert.deepEqual(await h.events(), [
    'SuccessfulRescale: New size: 2; reason: All metrics below target',
  ]);
});

test('caps the scale-up at max(2x, 4) per sync and at maxReplicas', async (t) => {
  const h = await setup(t, { replicas: 2, pods: 2, hpa: { maxReplicas: 3 } });
  h.usage('500m');
  const hpa = await h.sync();
  assert.equal(await h.replicas(), 3);
  assert.equal(h.cond(hpa, 'ScalingLimited'), 'True TooManyReplicas');
  const h2 = await setup(t, { replicas: 2, pods: 2 });
  h2.usage('500m');
  const hpa2 = await h2.sync();
  assert.equal(await h2.replicas(), 4);
  assert.equal(h2.cond(hpa2, 'ScalingLimited'), 'True ScaleUpLimit');
});

test('reports missing metrics without scaling', async (t) => {
  const h = await setup(t, { replicas: 2, pods: 2 });
  h.metrics.error = new Error('the server is currently unable to handle the request');
  const hpa = await h.sync();
  assert.equal(await h.replicas(), 2);
  assert.equal(h.cond(hpa, 'ScalingActive'), 'False FailedGetResourceMetric');
  const msg = hpa.status?.conditions?.find((k) => k.type === 'ScalingActive')?.message;
  assert.equal(
    msg,
    'the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: the server is currently unable to handle the request',
  );
  const evs = await h.events();
  assert.ok(
    evs.some((e) => e.startsWith('FailedGetResourceMetric: failed to get cpu utilization')),
  );
  assert.ok(
    evs.some((e) =>
      e.startsWith(
        'FailedComputeMetricsReplicas: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value',
      ),
    ),
  );
  // Pods with no samples at all: the ready pods are missing, nothing is computed.
  h.metrics.error = undefined;
  h.metrics.items = [];
  const again = await h.sync();
  assert.match(
    again.status?.conditions?.find((k) => k.type === 'ScalingActive')?.message ?? '',
    /no metrics returned from resource metrics API/,
  );
});

test('a behavior block: +4 pods per 15 s on the way up, no window on the way down', async (t) => {
  const h = await setup(t, {
    replicas: 2,
    pods: 2,
    hpa: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
  });
  h.usage('500m');
  let hpa = await h.sync();
  assert.equal(await h.replicas(), 6, 'max(2 + 4, 2 x 2) with the default scale-up policies');
  assert.equal(h.cond(hpa, 'ScalingLimited'), 'True ScaleUpLimit');
  h.clock.advance(5_000);
  h.usage('500m');
  hpa = await h.sync();
  assert.equal(await h.replicas(), 6, 'the 15 s policy period still counts the +4');
  h.clock.advance(1_000);
  h.usage('5m');
  hpa = await h.sync();
  assert.equal(await h.replicas(), 2, 'no stabilization window: straight to minReplicas');
  assert.equal(h.cond(hpa, 'ScalingLimited'), 'True TooFewReplicas');
});

test('minReplicas 0 (HPAScaleToZero): metrics stop at one replica; at zero the target is left alone', async (t) => {
  const h = await setup(t, {
    replicas: 2,
    pods: 2,
    hpa: { minReplicas: 0, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
  });
  h.usage('0m');
  let hpa = await h.sync();
  assert.equal(await h.replicas(), 1, 'idle pods: down to one, never to zero on metrics');
  assert.equal(h.cond(hpa, 'ScalingLimited'), 'True TooFewReplicas');
  // The scale-to-zero controller took it to zero (idle window): the HPA does not undo that.
  await h.scaleTo(0);
  hpa = await h.sync();
  assert.equal(await h.replicas(), 0);
  assert.equal(h.cond(hpa, 'ScalingActive'), 'False ScaledToZero');
  assert.equal(hpa.status?.desiredReplicas, 0);
});
