// Tests of the cold-start pod watch against a real test API server: only Running, Ready pods with
// an IP become targets, on the Service's target port (by number or by container port name).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import { createLogger } from '../lib/log.js';
import { ColdStartPods } from './cold-start.js';

let api: TestApiServer;
let pods: ColdStartPods;
const changes: string[] = [];

const svc: Service = {
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'raw', port: 81, targetPort: 9000 },
    ],
  },
};

async function pod(name: string, ready: boolean, ip = '10.0.0.9'): Promise<void> {
  const created = await api.client.create<Pod>(R.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: {
      containers: [{ name: 'app', image: 'x', ports: [{ name: 'http', containerPort: 5000 }] }],
    },
  });
  await api.client.updateStatus(R.pods, {
    ...created,
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });
}

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(fn(), what);
}

before(async () => {
  api = await startTestApiServer();
  pods = new ColdStartPods({
    client: api.client,
    log: createLogger({ test: true }),
    onChange: (ns, name) => changes.push(`${ns}/${name}`),
  });
});
after(async () => {
  pods.close();
  await api.close();
});

test('a Ready pod becomes a target on the named or numbered target port; unready ones do not', async () => {
  await pod('starting', false, '10.0.0.8');
  pods.start(svc);
  pods.start(svc); // idempotent: one watch
  assert.equal(pods.watching('default', 'web'), true);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(pods.targets('default', 'web', svc.spec!.ports![0]!), []);
  await pod('ready', true);
  await until('the Ready pod seen', () => changes.length > 0);
  assert.deepEqual(pods.targets('default', 'web', svc.spec!.ports![0]!), [
    { ip: '10.0.0.9', port: 5000 },
  ]);
  assert.deepEqual(pods.targets('default', 'web', svc.spec!.ports![1]!), [
    { ip: '10.0.0.9', port: 9000 },
  ]);
  pods.stop('default', 'web');
  assert.equal(pods.watching('default', 'web'), false);
  assert.deepEqual(pods.targets('default', 'web', svc.spec!.ports![0]!), []);
});
