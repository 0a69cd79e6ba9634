// Tests of the scale-to-zero controller against a real test API server and a FakeClock: activity
// Leases per Service, the idle window, the wake-up on a renewal while at zero, events, opting out.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Event } from 'kubernetes-types/core/v1.js';
import {
  activityLeaseName,
  activityServiceLabel,
  activityWorkloadLabel,
  microTime,
  scaledToZeroAtAnnotation,
} from '../../api/scale-to-zero.js';
import { R } from '../../client/resources.js';
import type { KObject } from '../../client/rest.js';
import { type ControllerEnv, cacheCaughtUp, startControllerEnv } from '../runtime/testing.js';
import { createScaleToZeroController, type ScaleToZeroController } from './controller.js';

describe('scale-to-zero controller', () => {
  let env: ControllerEnv;
  let stz: ScaleToZeroController;
  const ns = 'default';
  before(async () => {
    env = await startControllerEnv();
    stz = createScaleToZeroController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  const informer = <T extends KObject>(r: typeof R.leases) => env.informers.informerFor<T>(r);
  /** Waits until every informer the controller reads has caught up with the API. */
  const caughtUp = async () => {
    for (const r of [R.deployments, R.services, R.leases, R.hpas]) {
      await cacheCaughtUp(env.client, informer(r), ns);
    }
  };
  const replicas = async (name: string) =>
    (await env.client.get<Deployment>(R.deployments, ns, name)).spec?.replicas;
  const lease = (svc: string) =>
    env.client.get<Lease & KObject>(R.leases, ns, activityLeaseName(svc));
  /** Renews a Service's Lease as the ingress does. */
  const renew = async (svc: string, at = env.clock.now()) => {
    await env.client.patch(R.leases, ns, activityLeaseName(svc), {
      spec: { renewTime: microTime(at) },
    });
    await caughtUp();
  };
  const reconcile = async (name: string) => {
    const r = await stz.reconcile(`${ns}/${name}`);
    await caughtUp();
    return r;
  };
  const reasons = async (name: string) => {
    await stz.flushEvents();
    const list = await env.client.list<Event>(R.events, { namespace: ns });
    return list.items
      .filter((e) => e.involvedObject.kind === 'Deployment' && e.involvedObject.name === name)
      .map((e) => `${e.reason}: ${e.message}`);
  };

  async function ready(d: Deployment & KObject, n: number) {
    const fresh = await env.client.get<Deployment & KObject>(
      R.deployments,
      ns,
      d.metadata?.name ?? '',
    );
    await env.client.updateStatus(R.deployments, {
      ...fresh,
      status: { replicas: n, readyReplicas: n },
    });
  }

  async function workload(
    name: string,
    opts: {
      annotations?: Record<string, string>;
      replicas?: number;
      services?: string[];
      ready?: boolean;
    } = {},
  ) {
    const labels = { app: name };
    const created = await env.client.create<Deployment & KObject>(R.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, annotations: opts.annotations },
      spec: {
        replicas: opts.replicas ?? 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'x' }] } },
      },
    });
    // As the deployment controller reports it once the pods are Ready.
    if (opts.ready !== false) await ready(created, opts.replicas ?? 1);
    for (const svc of opts.services ?? [name]) {
      await env.client.create(R.services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: svc, namespace: ns },
        spec: { selector: labels, ports: [{ port: 80, targetPort: 5000 }] },
      });
    }
    await caughtUp();
  }

  beforeEach(() => env.clock.advance(1000));

  it('gives an opted-in Deployment one activity Lease per Service, owned by the Deployment', async () => {
    await workload('web', {
      annotations: { 'skiff.dev/scale-to-zero': 'true', 'skiff.dev/idle-window': '2s' },
      services: ['web', 'web-admin'],
    });
    assert.deepEqual(await reconcile('web'), { requeueAfter: 2000 });
    for (const svc of ['web', 'web-admin']) {
      const l = await lease(svc);
      assert.equal(l.metadata?.labels?.[activityServiceLabel], svc);
      assert.equal(l.metadata?.labels?.[activityWorkloadLabel], 'web');
      assert.equal(l.metadata?.ownerReferences?.[0]?.kind, 'Deployment');
      assert.equal(l.spec?.leaseDurationSeconds, 2);
    }
  });

  it('scales to zero once no Lease was renewed for the idle window, not before', async () => {
    await renew('web');
    env.clock.advance(1500);
    await renew('web-admin');
    env.clock.advance(1900);
    assert.deepEqual(await reconcile('web'), { requeueAfter: 100 }, 'the latest renewal counts');
    assert.equal(await replicas('web'), 1);
    env.clock.advance(100);
    assert.equal(await reconcile('web'), undefined);
    assert.equal(await replicas('web'), 0);
    const zeroAt = (await lease('web')).metadata?.annotations?.[scaledToZeroAtAnnotation];
    assert.equal(Date.parse(zeroAt ?? ''), env.clock.now());
    assert.deepEqual(await reasons('web'), [
      'ScaledToZero: Scaled down from 1 to 0 replicas: no request through the ingress for 2s',
    ]);
  });

  it('stays at zero for renewals from before it went to zero, wakes on a later one', async () => {
    const zeroAt = Date.parse(
      (await lease('web')).metadata?.annotations?.[scaledToZeroAtAnnotation] ?? '',
    );
    await renew('web', zeroAt - 1);
    assert.equal(await reconcile('web'), undefined);
    assert.equal(await replicas('web'), 0);
    await renew('web-admin', zeroAt + 5);
    await reconcile('web');
    assert.equal(await replicas('web'), 1);
    assert.equal((await lease('web')).metadata?.annotations?.[scaledToZeroAtAnnotation], undefined);
    const events = await reasons('web');
    assert.equal(
      events.at(-1),
      'ScaledFromZero: Scaled up from 0 to 1 replica: a request for service "web-admin" arrived through the ingress',
    );
    // Woken: a whole idle window from now before it may go to zero again.
    assert.deepEqual(await reconcile('web'), { requeueAfter: 2000 });
  });

  it('decides on a fresh read of the scale and reports the replicas the Deployment really had', async () => {
    env.clock.advance(2000);
    await env.client.patch(
      R.deployments,
      ns,
      'web',
      { spec: { replicas: 3 } },
      { subresource: 'scale' },
    );
    // The cache may still say 1; the scale is re-read before the write (conditional on its
    // resourceVersion): 3 → 0 is still an idle scale-down.
    await stz.reconcile(`${ns}/web`);
    await caughtUp();
    assert.equal(await replicas('web'), 0);
    assert.match((await reasons('web')).at(-1) ?? '', /Scaled down from 3 to 0 replicas/);
  });

  it('a Deployment put at zero by hand is woken by the next request', async () => {
    await workload('manual', { annotations: { 'skiff.dev/scale-to-zero': 'true' }, replicas: 0 });
    await reconcile('manual');
    const zeroAt = Date.parse(
      (await lease('manual')).metadata?.annotations?.[scaledToZeroAtAnnotation] ?? '',
    );
    assert.equal(zeroAt, env.clock.now(), 'the episode starts when first seen at zero');
    env.clock.advance(10);
    await renew('manual');
    await reconcile('manual');
    assert.equal(await replicas('manual'), 1);
    // Default window: 60 s.
    assert.deepEqual(await reconcile('manual'), { requeueAfter: 60_000 });
  });

  it('never goes to zero while no pod is Ready (a cold start under way): the window starts over', async () => {
    await workload('slow', {
      annotations: { 'skiff.dev/scale-to-zero': 'true', 'skiff.dev/idle-window': '2s' },
      ready: false,
    });
    assert.deepEqual(await reconcile('slow'), { requeueAfter: 2000 });
    env.clock.advance(2000);
    assert.deepEqual(await reconcile('slow'), { requeueAfter: 2000 });
    assert.equal(await replicas('slow'), 1);
    const d = await env.client.get<Deployment & KObject>(R.deployments, ns, 'slow');
    await ready(d, 1);
    await caughtUp();
    env.clock.advance(2000);
    assert.equal(await reconcile('slow'), undefined);
    assert.equal(await replicas('slow'), 0);
  });

  it('an HPA with minReplicas 0 opts its target in, with the HPA annotation window', async () => {
    await workload('auto');
    assert.equal(await reconcile('auto'), undefined);
    await assert.rejects(lease('auto'), /not found/);
    await env.client.create(R.hpas, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'auto', namespace: ns, annotations: { 'skiff.dev/idle-window': '5s' } },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'auto' },
        minReplicas: 0,
        maxReplicas: 3,
      },
    });
    await caughtUp();
    assert.deepEqual(await reconcile('auto'), { requeueAfter: 5000 });
    assert.equal((await lease('auto')).spec?.leaseDurationSeconds, 5);
  });

  it('opting out removes the Leases (the ingress then answers 503 at zero again)', async () => {
    await env.client.delete(R.hpas, ns, 'auto');
    await caughtUp();
    assert.equal(await reconcile('auto'), undefined);
    await assert.rejects(lease('auto'), /not found/);
  });
});
