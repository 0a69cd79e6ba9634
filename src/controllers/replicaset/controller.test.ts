import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  setPodStatus,
  startControllerEnv,
  waitFor,
} from '../runtime/testing.js';
import { createReplicaSetController, type ReplicaSetController } from './controller.js';

describe('ReplicaSet controller', () => {
  let env: ControllerEnv;
  let rsc: ReplicaSetController;
  let n = 0;
  before(async () => {
    env = await startControllerEnv();
    rsc = createReplicaSetController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  function pods(rs: string): Pod[] {
    return env.informers
      .informerFor<Pod>(R.pods)
      .lister.list('default', `app=${rs}`)
      .filter((p) => !p.metadata?.deletionTimestamp);
  }
  const rsCache = () => env.informers.informerFor<ReplicaSet>(R.replicasets).lister;

  async function newRS(
    replicas: number,
    extra: Partial<NonNullable<ReplicaSet['spec']>> = {},
  ): Promise<ReplicaSet> {
    const name = `rs${++n}`;
    const rs = await env.client.create<ReplicaSet>(R.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: podSpec() },
        ...extra,
      },
    });
    await waitFor(() => rsCache().get('default', name) !== undefined, 'RS in cache');
    return rs;
  }

  async function sync(name: string) {
    return rsc.syncReplicaSet(`default/${name}`);
  }

  it('creates pods up to spec.replicas, named <rs>-<5 safe chars> and controlled by the RS', async () => {
    const rs = await newRS(3);
    const name = rs.metadata!.name!;
    await sync(name);
    const list = await env.client.list<Pod>(R.pods, {
      namespace: 'default',
      labelSelector: `app=${name}`,
    });
    assert.equal(list.items.length, 3);
    for (const p of list.items) {
      assert.match(p.metadata!.name!, new RegExp(`^${name}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.deepEqual(p.metadata?.ownerReferences, [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name,
          uid: rs.metadata!.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    await rsc.recorder.flush();
    const events = await env.client.list<Event>(R.events, { namespace: 'default' });
    const created = events.items.filter(
      (e) => e.involvedObject.name === name && e.reason === 'SuccessfulCreate',
    );
    assert.equal(created.length, 3);
    assert.match(created[0]!.message!, /^Created pod: /);
    assert.equal(created[0]!.source?.component, 'replicaset-controller');
  });

  it('does not repeat creations while expectations are pending', async () => {
    const rs = await newRS(2);
    const name = rs.metadata!.name!;
    await sync(name);
    // The informer may not have seen the pods yet; a second sync must not create more.
    await sync(name);
    const list = await env.client.list<Pod>(R.pods, {
      namespace: 'default',
      labelSelector: `app=${name}`,
    });
    assert.equal(list.items.length, 2);
    await waitFor(() => rsc.expectations.satisfiedExpectations(`default/${name}`), 'expectations');
    await sync(name);
    const after = await env.client.list<Pod>(R.pods, {
      namespace: 'default',
      labelSelector: `app=${name}`,
    });
    assert.equal(after.items.length, 2);
  });

  it('reports replicas, ready and available counts in status with observedGeneration', async () => {
    const rs = await newRS(2, { minReadySeconds: 10 });
    const name = rs.metadata!.name!;
    await sync(name);
    await waitFor(() => pods(name).length === 2, 'pods cached');
    const now = new Date(env.clock.now()).toISOString();
    for (const p of pods(name)) await setPodStatus(env.client, p, { ready: true, readySince: now });
    await waitFor(
      () => pods(name).every((p) => p.status?.phase === 'Running'),
      'pod status cached',
    );
    const res = await sync(name);
    assert.deepEqual(
      res,
      { requeueAfter: 10_000 },
      'ready but not yet available: requeue after minReadySeconds',
    );
    let got = await env.client.get<ReplicaSet>(R.replicasets, 'default', name);
    assert.equal(got.status?.replicas, 2);
    assert.equal(got.status?.fullyLabeledReplicas, 2);
    assert.equal(got.status?.readyReplicas, 2);
    assert.equal(got.status?.availableReplicas, 0);
    assert.equal(got.status?.observedGeneration, got.metadata?.generation);
    env.clock.advance(10_000);
    await waitFor(
      () => rsCache().get('default', name)?.status?.readyReplicas === 2,
      'status cached',
    );
    assert.equal(await sync(name), undefined);
    got = await env.client.get<ReplicaSet>(R.replicasets, 'default', name);
    assert.equal(got.status?.availableReplicas, 2);
  });

  it('scales down surplus pods, preferring unscheduled, then pending, then not-ready ones', async () => {
    const rs = await newRS(4);
    const name = rs.metadata!.name!;
    await sync(name);
    await waitFor(() => pods(name).length === 4, 'pods cached');
    const [, b, c, d] = pods(name).sort((x, y) => (x.metadata!.name! < y.metadata!.name! ? -1 : 1));
    // a: unscheduled (deleted first); b: bound, Pending; c: bound, Running not ready; d: bound, ready.
    for (const p of [b!, c!, d!]) {
      await env.client.request(
        'POST',
        `/api/v1/namespaces/default/pods/${p.metadata!.name}/binding`,
        {
          body: {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name: p.metadata!.name },
            target: { kind: 'Node', name: 'n1' },
          },
        },
      );
    }
    await setPodStatus(env.client, b!, { phase: 'Pending' });
    await setPodStatus(env.client, c!, { ready: false });
    await setPodStatus(env.client, d!, { ready: true });
    await env.client.patch(R.replicasets, 'default', name, { spec: { replicas: 1 } });
    await cacheCaughtUp(env.client, env.informers.informerFor(R.pods), 'default');
    await cacheCaughtUp(env.client, env.informers.informerFor(R.replicasets), 'default');
    await sync(name);
    const live = (
      await env.client.list<Pod>(R.pods, { namespace: 'default', labelSelector: `app=${name}` })
    ).items;
    const remaining = live
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => p.metadata!.name);
    assert.deepEqual(remaining, [d!.metadata!.name]);
  });

  it('adopts matching orphans and releases pods whose labels stop matching', async () => {
    const rs = await newRS(0);
    const name = rs.metadata!.name!;
    const orphan = await env.client.create<Pod>(R.pods, {
      metadata: { name: `${name}-orphan`, namespace: 'default', labels: { app: name } },
      spec: podSpec(),
    });
    await env.client.patch(R.replicasets, 'default', name, { spec: { replicas: 1 } });
    await waitFor(
      () => pods(name).length === 1 && rsCache().get('default', name)?.spec?.replicas === 1,
      'orphan cached',
    );
    await sync(name);
    let got = await env.client.get<Pod>(R.pods, 'default', orphan.metadata!.name!);
    assert.equal(got.metadata?.ownerReferences?.[0]?.uid, rs.metadata?.uid, 'adopted');
    const list = await env.client.list<Pod>(R.pods, {
      namespace: 'default',
      labelSelector: `app=${name}`,
    });
    assert.equal(list.items.length, 1, 'the adopted pod counts; nothing new created');
    // Relabel: the RS must let go of it and create a replacement.
    await env.client.patch(R.pods, 'default', orphan.metadata!.name!, {
      metadata: { labels: { app: 'other' } },
    });
    await waitFor(() => pods(name).length === 0, 'relabel cached');
    await sync(name);
    got = await env.client.get<Pod>(R.pods, 'default', orphan.metadata!.name!);
    assert.equal(got.metadata?.ownerReferences, undefined, 'released');
    const after = await env.client.list<Pod>(R.pods, {
      namespace: 'default',
      labelSelector: `app=${name}`,
    });
    assert.equal(after.items.length, 1, 'replacement created');
  });
});
