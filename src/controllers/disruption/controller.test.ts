import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { R } from '../../client/resources.js';
import { ApiError } from '../../client/rest.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  setPodStatus,
  startControllerEnv,
} from '../runtime/testing.js';
import { createDisruptionController, type DisruptionController } from './controller.js';

describe('disruption controller and pods/eviction', () => {
  let env: ControllerEnv;
  let dc: DisruptionController;
  before(async () => {
    env = await startControllerEnv();
    dc = createDisruptionController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  const settle = async () => {
    for (const r of [R.pods, R.poddisruptionbudgets]) {
      await cacheCaughtUp(env.client, env.informers.informerFor(r), 'default');
    }
  };
  const evict = (name: string) =>
    env.client.requestJSON('POST', `/api/v1/namespaces/default/pods/${name}/eviction`, {
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } },
    });
  const budget = () => env.client.get<PodDisruptionBudget>(R.poddisruptionbudgets, 'default', 'b');

  it('allows healthy − minAvailable disruptions, then answers 429 with the budget as cause', async () => {
    for (const name of ['p1', 'p2']) {
      const p = await env.client.create<Pod>(R.pods, {
        metadata: { name, namespace: 'default', labels: { app: 'g' } },
        spec: podSpec(),
      });
      await setPodStatus(env.client, p, { ready: true });
    }
    await env.client.create<PodDisruptionBudget>(R.poddisruptionbudgets, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'b', namespace: 'default' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'g' } } },
    });
    await settle();
    // Before the controller has observed the budget, evictions wait.
    await assert.rejects(evict('p1'), (e: unknown) => e instanceof ApiError && e.code === 429);
    await dc.syncPdb('default/b');
    let b = await budget();
    assert.equal(b.status?.currentHealthy, 2);
    assert.equal(b.status?.desiredHealthy, 1);
    assert.equal(b.status?.disruptionsAllowed, 1);
    assert.equal(b.status?.conditions?.[0]?.reason, 'SufficientPods');
    await evict('p1');
    b = await budget();
    assert.equal(b.status?.disruptionsAllowed, 0, 'the eviction took the allowance');
    assert.ok(b.status?.disruptedPods?.['p1']);
    await settle();
    await dc.syncPdb('default/b');
    assert.equal((await budget()).status?.currentHealthy, 1);
    const err = await evict('p2').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 429);
    assert.equal(err.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.match(
      JSON.stringify(err.status),
      /The disruption budget b needs 1 healthy pods and has 1 currently/,
    );
  });
});
