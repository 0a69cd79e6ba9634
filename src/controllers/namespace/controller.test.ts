import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import { isNotFound, type KObject } from '../../client/rest.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  startControllerEnv,
} from '../runtime/testing.js';
import {
  createNamespaceController,
  deletableNamespacedResources,
  type NamespaceController,
} from './controller.js';

describe('namespace controller', () => {
  let env: ControllerEnv;
  let nc: NamespaceController;
  before(async () => {
    env = await startControllerEnv();
    nc = createNamespaceController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  it('covers every namespaced resource once', () => {
    const names = deletableNamespacedResources().map((r) => `${r.resource}.${r.group}`);
    assert.ok(
      names.includes('pods.') && names.includes('deployments.apps') && names.includes('events.'),
    );
    assert.equal(new Set(names).size, names.length, 'no duplicate versions (autoscaling v1/v2)');
  });

  it('empties a Terminating namespace, waits for graceful deletions, then finalizes it away', async () => {
    await env.client.create<Namespace>(R.namespaces, { metadata: { name: 'doomed' } });
    await env.client.create<KObject>(R.configmaps, {
      metadata: { name: 'cfg', namespace: 'doomed' },
      data: {},
    });
    await env.client.create<Pod>(R.pods, {
      metadata: { name: 'loose', namespace: 'doomed' },
      spec: podSpec(),
    });
    await env.client.create<Pod>(R.pods, {
      metadata: { name: 'bound', namespace: 'doomed' },
      spec: podSpec({ nodeName: 'n1' }),
    });
    await env.client.delete(R.namespaces, undefined, 'doomed');
    await cacheCaughtUp(env.client, env.informers.informerFor(R.namespaces));
    assert.deepEqual(
      await nc.syncNamespace('doomed'),
      { requeueAfter: 2000 },
      'the bound pod is still terminating',
    );
    assert.equal((await env.client.list(R.configmaps, { namespace: 'doomed' })).items.length, 0);
    const left = (await env.client.list<Pod>(R.pods, { namespace: 'doomed' })).items;
    assert.deepEqual(
      left.map((p) => p.metadata?.name),
      ['bound'],
    );
    assert.ok(left[0]?.metadata?.deletionTimestamp);
    assert.ok(
      await env.client.get(R.namespaces, undefined, 'doomed'),
      'namespace stays while content remains',
    );
    // The node agent finishes the pod.
    await env.client.delete(R.pods, 'doomed', 'bound', { gracePeriodSeconds: 0 });
    assert.equal(await nc.syncNamespace('doomed'), undefined);
    await assert.rejects(env.client.get(R.namespaces, undefined, 'doomed'), (err) =>
      isNotFound(err),
    );
  });

  it('leaves active namespaces alone', async () => {
    await env.client.create<KObject>(R.configmaps, {
      metadata: { name: 'keep', namespace: 'default' },
      data: {},
    });
    await nc.syncNamespace('default');
    assert.ok(await env.client.get(R.configmaps, 'default', 'keep'));
  });
});
