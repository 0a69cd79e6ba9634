// Tests of the wait for the bundled ingress controller against the test API server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import { realClock } from '../lib/clock.js';
import type { DemoContext } from './context.js';
import { waitIngressController } from './steps-setup.js';
import { Timeline } from './timeline.js';

let api: TestApiServer;
before(async () => {
  api = await startTestApiServer();
});
after(async () => {
  await api.close();
});

// Only the fields the wait uses.
const context = (timeline: Timeline) =>
  ({ client: api.client, timeline, clock: realClock }) as unknown as DemoContext;

test('without the add-on Deployment it does not wait', async () => {
  const tl = new Timeline();
  await waitIngressController(context(tl), 1000);
  assert.match(tl.entries[0]?.text ?? '', /no ingress-nginx\/ingress-nginx-controller Deployment/);
});

test('a controller that never becomes Available is reported with its pods, then the demo goes on', async () => {
  await api.client.create(R.namespaces, { metadata: { name: 'ingress-nginx' } });
  const labels = { app: 'ingress' };
  await api.client.create(R.deployments, {
    metadata: { name: 'ingress-nginx-controller', namespace: 'ingress-nginx' },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  });
  await api.client.create(R.pods, {
    metadata: { name: 'ingress-nginx-controller-x', namespace: 'ingress-nginx', labels },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  });
  const tl = new Timeline();
  await waitIngressController(context(tl), 300);
  const last = tl.entries.at(-1);
  assert.equal(last?.kind, 'error');
  assert.match(
    last?.text ?? '',
    /not Available after 0\.3 s: ingress-nginx-controller-x Pending not Ready RESTARTS 0/,
  );
});
