import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { R } from '../../client/resources.js';
import { isNotFound } from '../../client/rest.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  startControllerEnv,
} from '../runtime/testing.js';
import { createGarbageCollector, type GarbageCollector } from './controller.js';

describe('garbage collector', () => {
  let env: ControllerEnv;
  let gc: GarbageCollector;
  let n = 0;
  before(async () => {
    env = await startControllerEnv();
    gc = createGarbageCollector({
      informers: env.informers,
      resources: [R.replicasets, R.pods],
      clock: env.clock,
    });
    await env.sync();
  });
  after(() => env.close());

  // Lets the informers catch up and works the queue until nothing is left to do.
  async function settle(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      await cacheCaughtUp(env.client, env.informers.informerFor(R.replicasets));
      await cacheCaughtUp(env.client, env.informers.informerFor(R.pods));
      if (gc.controller.queue.length === 0) return;
      while (gc.controller.queue.length > 0) await gc.controller.processNextWorkItem();
    }
    assert.fail('garbage collector did not settle');
  }
  const exists = async (r: typeof R.pods, name: string) => {
    try {
      return await env.client.get(r, 'default', name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  async function ownerWithPods(blocking: boolean[]): Promise<{ rs: ReplicaSet; pods: string[] }> {
    const name = `owner${++n}`;
    const rs = await env.client.create<ReplicaSet>(R.replicasets, {
      metadata: { name, namespace: 'default' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: podSpec() },
      },
    });
    const pods: string[] = [];
    for (const [i, block] of blocking.entries()) {
      const ref: OwnerReference = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name,
        uid: rs.metadata!.uid!,
        controller: true,
        blockOwnerDeletion: block,
      };
      const pod = await env.client.create<Pod>(R.pods, {
        metadata: { name: `${name}-${i}`, namespace: 'default', ownerReferences: [ref] },
        spec: podSpec(),
      });
      pods.push(pod.metadata!.name!);
    }
    await settle();
    return { rs, pods };
  }

  it('Background: deletes dependents after the owner is gone', async () => {
    const { rs, pods } = await ownerWithPods([true, false]);
    await env.client.delete(R.replicasets, 'default', rs.metadata!.name!, {
      propagationPolicy: 'Background',
    });
    await settle();
    for (const p of pods) assert.equal(await exists(R.pods, p), undefined, `${p} collected`);
  });

  it('Foreground: deletes blocking dependents first, then removes the finalizer and the owner', async () => {
    const { rs, pods } = await ownerWithPods([true, true]);
    await env.client.delete(R.replicasets, 'default', rs.metadata!.name!, {
      propagationPolicy: 'Foreground',
    });
    const marked = await exists(R.replicasets, rs.metadata!.name!);
    assert.deepEqual(
      marked?.metadata?.finalizers,
      ['foregroundDeletion'],
      'owner waits for its dependents',
    );
    await settle();
    for (const p of pods) assert.equal(await exists(R.pods, p), undefined);
    assert.equal(await exists(R.replicasets, rs.metadata!.name!), undefined, 'owner removed last');
  });

  it('Orphan: strips ownerReferences from dependents, then removes the finalizer', async () => {
    const { rs, pods } = await ownerWithPods([true]);
    await env.client.delete(R.replicasets, 'default', rs.metadata!.name!, {
      propagationPolicy: 'Orphan',
    });
    await settle();
    assert.equal(await exists(R.replicasets, rs.metadata!.name!), undefined);
    const pod = await exists(R.pods, pods[0]!);
    assert.ok(pod, 'the dependent survives');
    assert.equal(pod.metadata?.ownerReferences, undefined);
  });

  it('deletes a dependent whose only owner never existed; keeps one with a live owner', async () => {
    const { rs } = await ownerWithPods([]);
    const ghost: OwnerReference = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'ghost',
      uid: '00000000-0000-0000-0000-000000000000',
    };
    const live: OwnerReference = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: rs.metadata!.name!,
      uid: rs.metadata!.uid!,
    };
    await env.client.create<Pod>(R.pods, {
      metadata: { name: 'orphaned', namespace: 'default', ownerReferences: [ghost] },
      spec: podSpec(),
    });
    await env.client.create<Pod>(R.pods, {
      metadata: { name: 'shared', namespace: 'default', ownerReferences: [ghost, live] },
      spec: podSpec(),
    });
    await settle();
    assert.equal(await exists(R.pods, 'orphaned'), undefined);
    const shared = await exists(R.pods, 'shared');
    assert.deepEqual(
      shared?.metadata?.ownerReferences?.map((r) => r.name),
      [rs.metadata!.name],
      'dangling reference dropped',
    );
  });
});
