// The Service proxy against the test API server: NodePort round robin over loopback backends,
// immediate endpoint removal, and (as root) a ClusterIP on a private device that is removed on stop.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, test } from 'node:test';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { startTestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import { realClock } from '../lib/clock.js';
import { canManageDevices, listDeviceAddresses } from '../lib/netdev.js';
import { createServiceProxy } from './proxier.js';

async function backend(name: string): Promise<{ port: number; close: () => void }> {
  const s = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () => {
      s.closeAllConnections();
      s.close();
    },
  };
}

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

async function freePort(): Promise<number> {
  // A NodePort-range port nobody listens on (tries a few at random offsets of the clock).
  for (let i = 0; i < 50; i++) {
    const p = 30000 + ((realClock.now() + i * 7919) % 2767);
    const ok = await new Promise<boolean>((resolve) => {
      const s = http.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error('No free NodePort');
}

test('NodePort and ClusterIP balance over ready endpoints and drop removed ones at once', async () => {
  const api = await startTestApiServer();
  const ac = new AbortController();
  const a = await backend('a');
  const b = await backend('b');
  const device = 'skt-svc-px';
  const isRoot = canManageDevices();
  after(async () => {
    ac.abort();
    await proxy.stopped?.();
    a.close();
    b.close();
    await api.close();
  });
  const nodePort = await freePort();
  const clusterIP = '10.96.252.9';
  await api.client.create<Service>(R.services, {
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      type: 'NodePort',
      clusterIP,
      clusterIPs: [clusterIP],
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 8080, targetPort: 8080, nodePort, protocol: 'TCP' }],
    },
  });
  const slice = {
    metadata: { namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
  };
  // Two endpoints on one IP need two slices (a slice has one port list).
  const mk = (name: string, port: number, ready: boolean) =>
    api.client.create<EndpointSlice>(R.endpointslices, {
      ...slice,
      metadata: { ...slice.metadata, name },
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready } }],
      ports: [{ name: 'http', port, protocol: 'TCP' }],
    });
  await mk('web-a', a.port, true);
  const sb = await mk('web-b', b.port, true);

  const proxy = createServiceProxy({
    client: api.client,
    nodeIPs: ['127.0.0.1'],
    manageDevice: isRoot,
    deviceName: device,
    reservedAddresses: [],
  });
  await proxy.start(ac.signal);

  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await get('127.0.0.1', nodePort));
  assert.deepEqual(answers.sort(), ['a', 'a', 'b', 'b']);

  if (isRoot) {
    assert.ok((await listDeviceAddresses(device)).has(clusterIP));
    assert.ok(['a', 'b'].includes(await get(clusterIP, 8080)));
  }

  // b turns unready: from the next connection on only a answers.
  await api.client.update<EndpointSlice>(R.endpointslices, {
    ...sb,
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: false } }],
  });
  const deadline = realClock.now() + 2000;
  for (;;) {
    const seen = new Set([await get('127.0.0.1', nodePort), await get('127.0.0.1', nodePort)]);
    if (seen.size === 1 && seen.has('a')) break;
    assert.ok(realClock.now() < deadline, 'b still served after its endpoint turned unready');
    await realClock.sleep(5);
  }

  ac.abort();
  await proxy.stopped?.();
  if (isRoot) assert.equal((await listDeviceAddresses(device)).size, 0, 'device removed on stop');
  await assert.rejects(get('127.0.0.1', nodePort));
});
