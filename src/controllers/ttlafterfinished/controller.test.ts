import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'kubernetes-types/batch/v1.js';
import { rfc3339 } from '../../api/time.js';
import { R } from '../../client/resources.js';
import { isNotFound } from '../../client/rest.js';
import { type ControllerEnv, podSpec, startControllerEnv, waitFor } from '../runtime/testing.js';
import { createTTLAfterFinishedController, type TTLAfterFinishedController } from './controller.js';

describe('TTL-after-finished controller', () => {
  let env: ControllerEnv;
  let ttl: TTLAfterFinishedController;
  before(async () => {
    env = await startControllerEnv();
    ttl = createTTLAfterFinishedController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  async function finishedJob(name: string, ttlSeconds: number | undefined, type = 'Complete') {
    const job = await env.client.create<Job>(R.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: 'default' },
      spec: {
        ttlSecondsAfterFinished: ttlSeconds,
        template: { spec: podSpec({ restartPolicy: 'Never' }) },
      },
    });
    const at = rfc3339(env.clock.now());
    await env.client.updateStatus<Job>(R.jobs, {
      ...job,
      status: { conditions: [{ type, status: 'True', lastTransitionTime: at }] },
    });
    await waitFor(
      () =>
        !!env.informers.informerFor<Job>(R.jobs).lister.get('default', name)?.status?.conditions,
      'job status cached',
    );
  }

  const exists = async (name: string) => {
    try {
      await env.client.get(R.jobs, 'default', name);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  };

  it('deletes a Complete Job once ttlSecondsAfterFinished has passed, not before', async () => {
    await finishedJob('done', 60);
    assert.deepEqual(await ttl.processJob('default/done'), { requeueAfter: 60_000 });
    env.clock.advance(59_000);
    assert.deepEqual(await ttl.processJob('default/done'), { requeueAfter: 1_000 });
    env.clock.advance(1_000);
    assert.equal(await ttl.processJob('default/done'), undefined);
    // Foreground deletion: the object is marked and waits for the garbage collector.
    const got = await env.client.get<Job>(R.jobs, 'default', 'done');
    assert.ok(got.metadata?.deletionTimestamp);
    assert.ok(got.metadata?.finalizers?.includes('foregroundDeletion'));
  });

  it('deletes a Failed Job with ttl 0 at once and leaves Jobs without a ttl alone', async () => {
    await finishedJob('failed', 0, 'Failed');
    await ttl.processJob('default/failed');
    assert.ok((await env.client.get<Job>(R.jobs, 'default', 'failed')).metadata?.deletionTimestamp);
    await finishedJob('keep', undefined);
    env.clock.advance(3600_000);
    assert.equal(await ttl.processJob('default/keep'), undefined);
    assert.ok(await exists('keep'));
  });
});
