// The Endpoints and EndpointSlice controllers against the real test API server: pods joining,
// turning unready (within milliseconds), terminating, and the `kubernetes` Service.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { startTestApiServer } from '../../apiserver/testing.js';
import { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import type { KubeClient } from '../../client/rest.js';
import { realClock } from '../../lib/clock.js';
import { createEndpointsController } from './endpoints-controller.js';
import { createEndpointSliceController } from './endpointslice-controller.js';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 3000): Promise<T> {
  const deadline = realClock.now() + ms;
  let last: unknown;
  while (realClock.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await realClock.sleep(10);
  }
  throw new Error(`Timed out waiting for ${what}`, { cause: last });
}

async function setReady(client: KubeClient, name: string, ip: string, ready: boolean) {
  const pod = await client.get<Pod>(R.pods, 'default', name);
  await client.updateStatus<Pod>(R.pods, {
    ...pod,
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });
}

test('endpoints follow pod readiness and the kubernetes Service points at the API server', async () => {
  const api = await startTestApiServer();
  const ac = new AbortController();
  after(async () => {
    ac.abort();
    await api.close();
  });
  const client = api.client;
  const informers = new InformerFactory({ client });
  const apiServerEndpoint = { ip: '192.0.2.10', port: 6443 };
  const epc = createEndpointsController({ informers, apiServerEndpoint });
  const esc = createEndpointSliceController({ informers, apiServerEndpoint });
  await epc.start(ac.signal);
  await esc.start(ac.signal);

  const svc: Service = {
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
  await client.create(R.services, svc);
  for (const [name, ip] of [
    ['web-1', '10.244.0.11'],
    ['web-2', '10.244.0.12'],
  ] as const) {
    await client.create<Pod>(R.pods, {
      metadata: { name, namespace: 'default', labels: { app: 'web' } },
      spec: {
        containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 5000 }] }],
      },
    });
    await setReady(client, name, ip, true);
  }

  const readyIPs = (e: Endpoints) => e.subsets?.flatMap((s) => s.addresses?.map((a) => a.ip) ?? []);
  await until('two ready addresses', async () => {
    const e = await client.get<Endpoints>(R.endpoints, 'default', 'web');
    return readyIPs(e)?.length === 2 ? e : undefined;
  });
  const slices = async () =>
    (
      await client.list<EndpointSlice>(R.endpointslices, {
        namespace: 'default',
        labelSelector: 'kubernetes.io/service-name=web',
      })
    ).items;
  const s = await until('a slice with two endpoints', async () => {
    const items = await slices();
    return items.length === 1 && items[0]?.endpoints?.length === 2 ? items[0] : undefined;
  });
  assert.equal(s.ports?.[0]?.port, 5000, 'named targetPort resolved');
  assert.equal(
    s.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'],
    'endpointslice-controller.k8s.io',
  );

  // Readiness turning False moves the pod to notReadyAddresses within milliseconds.
  const t0 = realClock.now();
  await setReady(client, 'web-2', '10.244.0.12', false);
  const e = await until(
    'web-2 unready',
    async () => {
      const x = await client.get<Endpoints>(R.endpoints, 'default', 'web');
      return x.subsets?.some((ss) => ss.notReadyAddresses?.some((a) => a.ip === '10.244.0.12'))
        ? x
        : undefined;
    },
    1000,
  );
  assert.deepEqual(readyIPs(e), ['10.244.0.11']);
  assert.ok(realClock.now() - t0 < 1000);
  await until('slice shows web-2 not ready', async () => {
    const ep = (await slices())[0]?.endpoints?.find((x) => x.addresses[0] === '10.244.0.12');
    return ep?.conditions?.ready === false ? true : undefined;
  });

  const kubeEps = await until('kubernetes endpoints', async () => {
    await client
      .create(R.services, {
        metadata: { name: 'kubernetes', namespace: 'default' },
        spec: { ports: [{ name: 'https', port: 443, targetPort: 6443 }] },
      })
      .catch(() => undefined);
    return client.get<Endpoints>(R.endpoints, 'default', 'kubernetes');
  });
  assert.equal(kubeEps.subsets?.[0]?.addresses?.[0]?.ip, '192.0.2.10');
  const kubeSlice = await until('kubernetes slice', () =>
    client.get<EndpointSlice>(R.endpointslices, 'default', 'kubernetes'),
  );
  assert.equal(kubeSlice.ports?.[0]?.port, 6443);

  // Deleting the Service removes its Endpoints and slices.
  await client.delete(R.services, 'default', 'web');
  await until('endpoints gone', async () => {
    try {
      await client.get(R.endpoints, 'default', 'web');
      return undefined;
    } catch {
      return (await slices()).length === 0 ? true : undefined;
    }
  });
});
