// Root-only test: a ClusterIP on the service device reaches a loopback backend from the host and
// from another network namespace routed through the host (as pods are). Cleans up what it makes.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import net from 'node:net';
import { after, test } from 'node:test';
import { EndpointPicker } from '../api/endpoint-picker.js';
import {
  canManageDevices,
  deleteServiceDevice,
  ensureServiceDevice,
  listDeviceAddresses,
  syncDeviceAddresses,
} from '../lib/netdev.js';
import { ServicePortListener } from './tcp-proxy.js';

const dev = 'skt-svc-test';
const ns = 'skt-proxy-test';
const clusterIP = '10.96.251.7';

test('ClusterIP on the service device is reachable from the host and a routed netns', {
  skip: !canManageDevices() && 'needs root',
}, async () => {
  const ipc = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
  after(async () => {
    await deleteServiceDevice(dev);
    try {
      ipc('netns', 'del', ns);
    } catch {
      // Already gone: nothing to clean.
    }
    try {
      ipc('link', 'del', 'skt-pxh');
    } catch {
      // Deleted with the namespace.
    }
  });
  const backend = net.createServer((c) => c.end('pong'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  after(() => backend.close());

  await ensureServiceDevice(dev);
  await syncDeviceAddresses(new Set([clusterIP]), dev);
  assert.ok((await listDeviceAddresses(dev)).has(clusterIP));

  const picker = new EndpointPicker();
  picker.setEndpoints([
    {
      ip: '127.0.0.1',
      port: (backend.address() as net.AddressInfo).port,
      ready: true,
      serving: true,
      terminating: false,
    },
  ]);
  const l = new ServicePortListener({ host: clusterIP, port: 8080, picker });
  await l.listen();
  after(() => l.close());

  const fromHost = await new Promise<string>((resolve, reject) => {
    const c = net.connect(8080, clusterIP);
    let out = '';
    c.on('data', (d) => {
      out += d;
    });
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
  assert.equal(fromHost, 'pong');

  ipc('netns', 'add', ns);
  ipc('link', 'add', 'skt-pxh', 'type', 'veth', 'peer', 'name', 'skt-pxc');
  ipc('link', 'set', 'skt-pxc', 'netns', ns);
  ipc('addr', 'add', '10.251.0.1/30', 'dev', 'skt-pxh');
  ipc('link', 'set', 'skt-pxh', 'up');
  ipc('-n', ns, 'addr', 'add', '10.251.0.2/30', 'dev', 'skt-pxc');
  ipc('-n', ns, 'link', 'set', 'skt-pxc', 'up');
  ipc('-n', ns, 'link', 'set', 'lo', 'up');
  ipc('-n', ns, 'route', 'add', 'default', 'via', '10.251.0.1');
  const script = `import socket;s=socket.create_connection(("${clusterIP}",8080),timeout=3);print(s.recv(10).decode())`;
  const fromPod = await new Promise<string>((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, 'python3', '-c', script], (err, stdout) =>
      err ? reject(err) : resolve(stdout.trim()),
    );
  });
  assert.equal(fromPod, 'pong');

  await deleteServiceDevice(dev);
  assert.equal((await listDeviceAddresses(dev)).size, 0);
});
