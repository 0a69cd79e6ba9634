// The ingress controller against the test API server: default class, Exact route from
// `kubectl create ingress`, 503 without endpoints, status written back, fallback port; the
// wake-up of a Service at zero.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, test } from 'node:test';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import {
  activityLeaseName,
  activityServiceLabel,
  activityWorkloadLabel,
  scaledToZeroAtAnnotation,
} from '../api/scale-to-zero.js';
import { startTestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import type { KObject } from '../client/rest.js';
import { realClock } from '../lib/clock.js';
import { createIngressController } from './controller.js';
import { ingressAddonManifests } from './manifest.js';
import { findNginx } from './nginx.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = realClock.now() + 3000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (realClock.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await realClock.sleep(10);
  }
}

// Both data planes: nginx (installed by the README's install command and .ci/run) and Node.
for (const plane of ['nginx', 'node'] as const)
  test(`serves the seed Ingress through the default class and writes its status (${plane})`, async () => {
    const api = await startTestApiServer();
    const ac = new AbortController();
    const app = http.createServer((_req, res) => res.end('Hello, my first docker images! pod-a'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    // Something already holds the wanted port, so the controller must fall back.
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as net.AddressInfo).port;
    after(async () => {
      ac.abort();
      await ctl.stopped?.();
      app.close();
      busy.close();
      await api.close();
    });
    const cls = ingressAddonManifests().find((o) => o.kind === 'IngressClass')!;
    await api.client.create(R.ingressclasses, cls);
    await api.client.create(R.services, {
      metadata: { name: 'hello-world-flask', namespace: 'default' },
      spec: {
        selector: { app: 'hello' },
        ports: [{ name: '5000-5000', port: 5000, targetPort: 5000 }],
      },
    });
    await api.client.create<Ingress>(R.ingresses, {
      metadata: { name: 'hello-world-flask', namespace: 'default' },
      spec: {
        rules: [
          {
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Exact',
                  backend: { service: { name: 'hello-world-flask', port: { number: 5000 } } },
                },
              ],
            },
          },
        ],
      },
    });
    const ctl = createIngressController({
      client: api.client,
      httpPort: busyPort,
      fallbackPort: 0,
      bindAddresses: ['127.0.0.1'],
      statusPort: 0,
      accessLog: false,
      nginx: plane === 'nginx' ? { path: findNginx().path ?? 'nginx (missing)' } : undefined,
    });
    await ctl.start(ac.signal);
    assert.notEqual(ctl.httpPort, busyPort);
    assert.equal((await get(ctl.statusPort, '/healthz')).status, 200);

    assert.equal((await get(ctl.httpPort, '/')).status, 503, 'no endpoints yet');
    assert.equal((await get(ctl.httpPort, '/other')).status, 404, 'Exact does not match /other');

    await api.client.create(R.endpointslices, {
      metadata: {
        name: 'hello-world-flask-abc',
        namespace: 'default',
        labels: { 'kubernetes.io/service-name': 'hello-world-flask' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
      ports: [
        { name: '5000-5000', port: (app.address() as net.AddressInfo).port, protocol: 'TCP' },
      ],
    });
    const ok = await until('route answers', async () => {
      const r = await get(ctl.httpPort, '/');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(ok.body, 'Hello, my first docker images! pod-a');

    const ing = await until('status written', async () => {
      const i = await api.client.get<Ingress>(R.ingresses, 'default', 'hello-world-flask');
      return i.status?.loadBalancer?.ingress?.[0]?.ip ? i : undefined;
    });
    assert.equal(ing.status?.loadBalancer?.ingress?.[0]?.ip, '127.0.0.1');
  });

// A cold start's wake-up must not wait for the slices: right after a scale to zero they may still
// list the pod that went away (terminating), and the first held request has to renew the Lease at
// once (counted as a cold start) rather than at the next renewal interval.
test('a request held while only a terminating endpoint is listed wakes the workload at once', async () => {
  const api = await startTestApiServer();
  const ac = new AbortController();
  const pending: http.ClientRequest[] = [];
  after(async () => {
    for (const r of pending) r.destroy();
    ac.abort();
    await ctl.stopped?.();
    await api.close();
  });
  const svc = 'idle';
  await api.client.create(
    R.ingressclasses,
    ingressAddonManifests().find((o) => o.kind === 'IngressClass')!,
  );
  await api.client.create(R.services, {
    metadata: { name: svc, namespace: 'default' },
    spec: { selector: { app: svc }, ports: [{ port: 5000, targetPort: 5000 }] },
  });
  await api.client.create<Ingress>(R.ingresses, {
    metadata: { name: svc, namespace: 'default' },
    spec: {
      defaultBackend: { service: { name: svc, port: { number: 5000 } } },
    },
  });
  // A long Lease: the periodic renewal would come a second later, after the interval.
  await api.client.create(R.leases, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: activityLeaseName(svc),
      namespace: 'default',
      labels: { [activityServiceLabel]: svc, [activityWorkloadLabel]: svc },
    },
    spec: { leaseDurationSeconds: 60 },
  });
  const slice = (ip: string, terminating: boolean) => ({
    metadata: {
      name: `${svc}-abc`,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': svc },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: false, serving: false, terminating } }],
    ports: [{ port: 5000, protocol: 'TCP' }],
  });
  await api.client.create(R.endpointslices, slice('10.0.0.9', true));
  const ctl = createIngressController({
    client: api.client,
    httpPort: 0,
    bindAddresses: ['127.0.0.1'],
    statusPort: false,
    accessLog: false,
  });
  await ctl.start(ac.signal);
  const coldStarts = () => ctl.stats.snapshot().events?.coldStart ?? 0;
  /** Sends a request that stays held (no pod ever answers); destroyed at the end. */
  const hold = () => {
    const req = http.get({ host: '127.0.0.1', port: ctl.httpPort, path: '/', agent: false });
    req.on('error', () => undefined);
    pending.push(req);
  };
  const diagnose = async () =>
    JSON.stringify({
      events: ctl.stats.snapshot().events,
      lease: (await api.client.get<Lease>(R.leases, 'default', activityLeaseName(svc))).metadata,
    });

  hold();
  await until('a cold start counted', async () => (coldStarts() === 1 ? true : undefined)).catch(
    async (err: Error) => assert.fail(`${err.message}: ${await diagnose()}`),
  );
  await until('the Lease renewed', async () => {
    const l = await api.client.get<Lease>(R.leases, 'default', activityLeaseName(svc));
    return l.spec?.renewTime ? true : undefined;
  });

  // A starting pod (not terminating) ends the episode; a request held then is no cold start...
  await api.client.update(R.endpointslices, {
    ...slice('10.0.0.10', false),
    metadata: {
      ...(await api.client.get<KObject>(R.endpointslices, 'default', `${svc}-abc`)).metadata,
    },
  });
  await until('the starting pod seen', async () => {
    hold();
    await realClock.sleep(50);
    return ctl.stats.snapshot().events?.held !== undefined &&
      (ctl.stats.snapshot().events?.held ?? 0) >= 2
      ? true
      : undefined;
  });
  assert.equal(coldStarts(), 1, `${await diagnose()}`);
  // ...unless the controller marked the workload as scaled to zero (its Lease annotation).
  await api.client.patch(R.leases, 'default', activityLeaseName(svc), {
    metadata: { annotations: { [scaledToZeroAtAnnotation]: new Date().toISOString() } },
  });
  await until('a cold start counted at zero', async () => {
    hold();
    await realClock.sleep(50);
    return coldStarts() === 2 ? true : undefined;
  }).catch(async (err: Error) => assert.fail(`${err.message}: ${await diagnose()}`));
});
