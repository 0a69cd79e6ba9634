// Real-namespace tests of the pod network (root only): IPs, host↔pod and pod↔pod traffic, cleanup.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { cidrsOverlap, parseCidr } from '../../lib/cidr.js';
import { runCommand } from '../run.js';
import { IpAllocator } from './ipam.js';
import { isNamespaceFile, netnsDir, PodNetwork } from './pod-network.js';

const isRoot = process.getuid?.() === 0;
const tag = Math.random().toString(16).slice(2, 8);
const stateDir = mkdtempSync(path.join(tmpdir(), 'skiff-net-'));
const network = new PodNetwork({
  stateDir,
  // Away from the integration harness's 10.200-249 so both can run at once.
  podCIDR: `10.${40 + Math.floor(Math.random() * 24)}.0.0/16`,
  bridgeName: `skt${tag}`,
  netnsPrefix: `skifftest${tag}`,
});

after(async () => {
  if (isRoot) await network.cleanupAll();
  rmSync(stateDir, { recursive: true, force: true });
});

test('cidr helpers', () => {
  assert.deepEqual(parseCidr('10.244.3.7/16'), {
    base: (10 * 256 + 244) * 65536,
    bits: 16,
    size: 65536,
  });
  assert.equal(cidrsOverlap(parseCidr('10.244.0.0/16'), parseCidr('10.244.8.0/24')), true);
  assert.equal(cidrsOverlap(parseCidr('10.244.0.0/16'), parseCidr('10.245.0.0/24')), false);
});

test('ipam persists leases and skips the gateway', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'skiff-ipam-'));
  try {
    const a = new IpAllocator({ stateDir: dir, cidr: '10.9.0.0/29' });
    assert.equal(a.gateway, '10.9.0.1');
    assert.equal(a.allocate('p1'), '10.9.0.2');
    assert.equal(a.allocate('p2'), '10.9.0.3');
    assert.equal(a.allocate('p1'), '10.9.0.2');
    const b = new IpAllocator({ stateDir: dir, cidr: '10.9.0.0/29' });
    assert.equal(b.ipOf('p2'), '10.9.0.3');
    b.release('p1');
    assert.equal(b.allocate('p3'), '10.9.0.4');
    b.allocate('p4');
    b.allocate('p5');
    assert.equal(b.allocate('p6'), '10.9.0.2', 'wraps around to the released address');
    assert.throws(() => b.allocate('p7'), /no free IP/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses a pod CIDR overlapping a host route', { skip: !isRoot && 'needs root' }, async () => {
  const routes = JSON.parse(await runCommand('ip', ['-j', 'route'])) as Array<{ dst: string }>;
  const hostRoute = routes.find((r) => r.dst !== 'default');
  if (!hostRoute) return;
  const bad = new PodNetwork({ stateDir, podCIDR: hostRoute.dst, bridgeName: `skx${tag}` });
  await assert.rejects(bad.ensureBridge(), /overlaps the host route/);
});

function listenInNetns(ns: string, port: number) {
  const code = `import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',${port}));s.listen();print('up',flush=True)\nwhile True:\n c,_=s.accept();c.sendall(b'pong');c.close()`;
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<typeof child>((resolve) => child.stdout.once('data', () => resolve(child)));
}

function readFrom(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
    });
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

test('two pods get their own IPs; host↔pod and pod↔pod work; teardown leaves nothing', {
  skip: !isRoot && 'needs root',
}, async () => {
  await network.ensureBridge();
  const a = await network.setup('uid-a');
  const b = await network.setup('uid-b');
  assert.notEqual(a.ip, b.ip);
  assert.ok(a.netnsPath && existsSync(a.netnsPath));
  const server = await listenInNetns(network.netnsName('uid-a'), 7070);
  try {
    assert.equal(await readFrom(a.ip, 7070), 'pong');
    const fromB = await runCommand('ip', [
      'netns',
      'exec',
      network.netnsName('uid-b'),
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${a.ip}/7070; cat <&3`,
    ]);
    assert.equal(fromB, 'pong');
    const route = await runCommand('ip', ['-n', network.netnsName('uid-b'), 'route']);
    assert.match(route, new RegExp(`default via ${network.gatewayIP.replaceAll('.', '\\.')}`));
  } finally {
    server.kill('SIGKILL');
  }
  assert.deepEqual(network.knownPods().sort(), ['uid-a', 'uid-b']);
  await network.teardown('uid-a');
  assert.equal(existsSync(path.join(netnsDir, network.netnsName('uid-a'))), false);
  await network.cleanupAll();
  assert.deepEqual(network.knownPods(), []);
  const links = await runCommand('ip', ['-br', 'link']);
  assert.equal(links.includes(network.bridgeName), false);
  assert.equal(links.includes('vs'), links.includes('vs'));
});

test("spare namespaces: checked before use, adopted ones become the pod's, stale ones go", {
  skip: !isRoot && 'needs root',
}, async (t) => {
  await network.ensureBridge();
  const spare = await network.makeSpare();
  assert.ok(existsSync(spare.netnsPath));
  assert.equal(network.isSpareUsable(spare), true);
  // Not named like a pod's namespace (prefix-<uid>): per-pod counts never include spares.
  assert.match(spare.name, new RegExp(`^${network.netnsPrefix}\\.spare-[0-9a-f]{12}$`));
  assert.deepEqual(network.knownPods(), []);
  const links = await runCommand('ip', ['-n', spare.name, '-br', 'link', 'show', 'dev', 'eth0']);
  assert.match(links, /^eth0@/);
  const info = network.adoptSpare('uid-s', spare);
  assert.equal(info?.renameFrom, spare.netnsPath);
  assert.equal(info?.netnsPath, path.join(netnsDir, network.netnsName('uid-s')));
  assert.deepEqual(info?.inside, { prefixLength: 16, gateway: network.gatewayIP });
  assert.deepEqual(network.knownPods(), ['uid-s'], "the IP is the pod's");
  // Removed behind our back (a `skiff down` of the same data dir, a reboot): not usable any more.
  const gone = await network.makeSpare();
  await runCommand('ip', ['netns', 'del', gone.name]);
  assert.equal(network.isSpareUsable(gone), false);
  await network.discardSpare(gone);
  // Its veth out of the bridge: not usable either; discarding removes both halves.
  const unplugged = await network.makeSpare();
  await runCommand('ip', ['link', 'set', unplugged.veth, 'nomaster']);
  assert.equal(network.isSpareUsable(unplugged), false);
  await network.discardSpare(unplugged);
  assert.equal(existsSync(unplugged.netnsPath), false);
  assert.equal(existsSync(`/sys/class/net/${unplugged.veth}`), false);
  // A plain file where a namespace was is not a namespace.
  writeFileSync(path.join(netnsDir, `${network.netnsPrefix}.spare-000000000000`), '');
  assert.equal(
    isNamespaceFile(path.join(netnsDir, `${network.netnsPrefix}.spare-000000000000`)),
    false,
  );
  // Every spare of this prefix is stale at start (made by another run); another prefix's stay.
  const otherDir = mkdtempSync(path.join(tmpdir(), 'skiff-net-other-'));
  t.after(() => rmSync(otherDir, { recursive: true, force: true }));
  const other = new PodNetwork({
    stateDir: otherDir,
    podCIDR: network.podCIDR,
    bridgeName: network.bridgeName,
    netnsPrefix: `${network.netnsPrefix}x`,
  });
  const theirs = await other.makeSpare();
  const stale = await network.makeSpare();
  await network.removeStaleSpares();
  assert.equal(existsSync(stale.netnsPath), false);
  assert.equal(existsSync(path.join(netnsDir, `${network.netnsPrefix}.spare-000000000000`)), false);
  assert.equal(existsSync(theirs.netnsPath), true, "another cluster's spares are not ours");
  await other.discardSpare(theirs);
  // Handed out but never renamed (the sandbox failed): discarded by the pool.
  await network.discardSpare(spare);
  assert.equal(existsSync(spare.netnsPath), false);
  await network.cleanupAll();
  assert.deepEqual(network.knownPods(), []);
});
