// Tests of the sampler against the test API server: pods of the app, its Deployment and HPA.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import { realClock } from '../lib/clock.js';
import { hpaView, podView, Sampler } from './sampler.js';

let api: TestApiServer;
before(async () => {
  api = await startTestApiServer();
});
after(async () => {
  await api.close();
});

test('podView reads readiness, restarts and deletion', () => {
  const pod: Pod = {
    metadata: { name: 'p', deletionTimestamp: '2026-01-01T00:00:00Z' },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        { name: 'c', image: 'i', imageID: '', ready: true, restartCount: 1 },
        { name: 'd', image: 'i', imageID: '', ready: true, restartCount: 2 },
      ],
    },
  };
  assert.deepEqual(podView(pod), {
    name: 'p',
    ready: true,
    restarts: 3,
    phase: 'Running',
    deleting: true,
  });
  assert.deepEqual(podView({ metadata: { name: 'q' } }), {
    name: 'q',
    ready: false,
    restarts: 0,
    phase: 'Pending',
    deleting: false,
  });
});

test('hpaView reads desired, current and CPU utilization', () => {
  assert.deepEqual(
    hpaView({
      spec: { maxReplicas: 10, scaleTargetRef: { kind: 'Deployment', name: 'x' } },
      status: {
        desiredReplicas: 6,
        currentReplicas: 2,
        currentMetrics: [
          { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 420 } } },
        ],
      },
    }),
    { hpaDesired: 6, hpaCurrent: 2, cpuPercent: 420 },
  );
});

test('samples only the app pods, and the Deployment once it exists; waitFor sees new samples', async () => {
  const mk = (name: string, app: string) =>
    api.client.create(R.pods, {
      metadata: { name, namespace: 'default', labels: { app } },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
  await mk('hello-world-flask-a', 'hello-world-flask');
  await mk('other', 'other');
  const sampler = new Sampler({ client: api.client, intervalMs: 20, clock: realClock });
  const first = await sampler.sample();
  assert.deepEqual(
    first.pods.map((p) => p.name),
    ['hello-world-flask-a'],
  );
  assert.equal(first.specReplicas, undefined);
  assert.equal(first.hpaDesired, undefined);
  sampler.start();
  await api.client.create(R.deployments, {
    metadata: { name: 'hello-world-flask', namespace: 'default' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'hello-world-flask' } },
      template: {
        metadata: { labels: { app: 'hello-world-flask' } },
        spec: { containers: [{ name: 'c', image: 'i' }] },
      },
    },
  });
  const seen = await sampler.waitFor((x) => x.specReplicas === 3, 5000);
  await sampler.stop();
  assert.equal(seen?.specReplicas, 3);
  assert.equal(seen?.readyReplicas, 0);
  assert.equal(await sampler.waitFor(() => true, 50), undefined, 'no sample after stop');
});
