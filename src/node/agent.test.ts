// End-to-end node agent tests against the test API server with real sandboxes (root only):
// pod → Running/Ready and serving on its IP, kill → restart in place, exec, logs, stats, deletion.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import WebSocket from 'ws';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import { createNodeAgent, type NodeAgent } from './agent.js';

const isRoot = process.getuid?.() === 0;
const tag = Math.random().toString(16).slice(2, 7);
let api: TestApiServer;
let agent: NodeAgent;
let dataDir: string;
const ac = new AbortController();

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const getPod = (name: string) => api.client.get<Pod>(R.pods, 'default', name);
const isReady = (p: Pod) =>
  p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

before(async () => {
  if (!isRoot) return;
  api = await startTestApiServer();
  dataDir = mkdtempSync(path.join(tmpdir(), 'skiff-agent-'));
  agent = createNodeAgent({
    client: api.client,
    nodeName: 'skiff',
    dataDir,
    podCIDR: `10.${160 + Math.floor(Math.random() * 30)}.0.0/16`,
    bridgeName: `ska${tag}`,
    netnsPrefix: `skiffat${tag}`,
    cgroupName: `skiff-test-${tag}`,
    kubelet: { port: 0, token: 'tkn', tls: undefined as never },
  });
  await agent.start(ac.signal);
});

after(async () => {
  if (!isRoot) return;
  await agent.stopAllPods();
  ac.abort();
  await api.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function podSpec(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'skiff',
      containers: [{ name: 'app', image: 'lyzhang1999/hello-world-flask:latest' }],
    },
  };
}

test('a pod becomes Ready, serves on its own IP and restarts in place when killed', {
  skip: !isRoot && 'needs root',
}, async () => {
  const t0 = Date.now();
  await api.client.create(R.pods, podSpec('web-a'));
  await api.client.create(R.pods, podSpec('web-b'));
  const a = await waitFor('web-a ready', async () =>
    ((p) => (isReady(p) ? p : undefined))(await getPod('web-a')),
  );
  const b = await waitFor('web-b ready', async () =>
    ((p) => (isReady(p) ? p : undefined))(await getPod('web-b')),
  );
  console.log(`create → Ready: ${Date.now() - t0} ms for two pods`);
  assert.notEqual(a.status?.podIP, b.status?.podIP);
  assert.equal(a.status?.phase, 'Running');
  const body = await (await fetch(`http://${a.status?.podIP}:5000/`)).text();
  assert.equal(body, 'Hello, my first docker images! web-a');
  const node = await api.client.get<{ status: { nodeInfo: { kubeletVersion: string } } }>(
    R.nodes,
    undefined,
    'skiff',
  );
  assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.32.0');

  // exec: killall python3 inside web-a only
  const out = await execWs('web-a', ['bash', '-c', 'killall python3']);
  assert.equal(out.status.status, 'Success');
  const t1 = Date.now();
  const healed = await waitFor('web-a restarted', async () => {
    const p = await getPod('web-a');
    return p.status?.containerStatuses?.[0]?.restartCount === 1 && isReady(p) ? p : undefined;
  });
  console.log(`kill → Ready again: ${Date.now() - t1} ms`);
  assert.equal(healed.status?.containerStatuses?.[0]?.lastState?.terminated?.reason, 'Error');
  const bNow = await getPod('web-b');
  assert.equal(bNow.status?.containerStatuses?.[0]?.restartCount, 0, 'the other pod is untouched');
  assert.equal(
    await (await fetch(`http://${a.status?.podIP}:5000/`)).text(),
    'Hello, my first docker images! web-a',
  );
});

async function execWs(pod: string, command: string[], stdin?: string) {
  const q = command.map((c) => `command=${encodeURIComponent(c)}`).join('&');
  const ws = new WebSocket(
    `ws://127.0.0.1:${agent.port}/exec/default/${pod}/app?${q}&stdout=true&stderr=true${stdin ? '&stdin=true' : ''}`,
    ['v5.channel.k8s.io'],
    { headers: { Authorization: 'Bearer tkn' } },
  );
  let stdout = '';
  let status: { status: string; details?: { causes: Array<{ message: string }> } } = { status: '' };
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      if (stdin !== undefined) {
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(stdin)]));
        ws.send(Buffer.from([255, 0]));
      }
    });
    ws.on('message', (d: Buffer) => {
      if (d[0] === 1) stdout += d.subarray(1).toString();
      if (d[0] === 3) status = JSON.parse(d.subarray(1).toString());
    });
    ws.on('close', (code) => (code === 1000 ? resolve() : reject(new Error(`close ${code}`))));
    ws.on('error', reject);
  });
  return { stdout, status };
}

test('exec: hostname, pid namespace, stdin echo and exit codes', {
  skip: !isRoot && 'needs root',
}, async () => {
  const r = await execWs('web-b', [
    'bash',
    '-c',
    'hostname; pwd; ps ax | wc -l; curl -s 127.0.0.1:5000',
  ]);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'web-b');
  assert.equal(lines[1], '/app');
  assert.ok(Number(lines[2]) <= 6, `only the pod's processes: ${lines[2]}`);
  assert.equal(lines[3], 'Hello, my first docker images! web-b');
  const echo = await execWs('web-b', ['cat'], 'hello\nworld\n');
  assert.equal(echo.stdout, 'hello\nworld\n');
  const fail = await execWs('web-b', ['sh', '-c', 'exit 3']);
  assert.equal(fail.status.status, 'Failure');
  assert.equal(fail.status.details?.causes[0]?.message, '3');
});

test('logs, previous logs and stats', { skip: !isRoot && 'needs root' }, async () => {
  const get = async (p: string) =>
    (
      await fetch(`http://127.0.0.1:${agent.port}${p}`, {
        headers: { Authorization: 'Bearer tkn' },
      })
    ).text();
  const cur = await get('/containerLogs/default/web-a/app');
  assert.match(cur, /Serving Flask app/);
  const prev = await get('/containerLogs/default/web-a/app?previous=true');
  assert.match(prev, /GET \/ HTTP\/1.1" 200/);
  const tail = await get(
    '/containerLogs/default/web-a/app?previous=true&tailLines=1&timestamps=true',
  );
  assert.equal(tail.trim().split('\n').length, 1);
  assert.match(tail, /^\d{4}-\d\d-\d\dT/);
  const summary = JSON.parse(await get('/stats/summary')) as {
    pods: Array<{
      podRef: { name: string };
      containers: Array<{
        cpu: { usageCoreNanoSeconds: number };
        memory: { workingSetBytes: number };
      }>;
    }>;
  };
  const pa = summary.pods.find((p) => p.podRef.name === 'web-b');
  assert.ok((pa?.containers[0]?.cpu.usageCoreNanoSeconds ?? 0) > 0);
  assert.ok((pa?.containers[0]?.memory.workingSetBytes ?? 0) > 1_000_000);
  const denied = await fetch(`http://127.0.0.1:${agent.port}/stats/summary`);
  assert.equal(denied.status, 401);
});

test('deleting a pod terminates it gracefully and removes its sandbox', {
  skip: !isRoot && 'needs root',
}, async () => {
  const w = [...agent.workers.values()].find((x) => x.pod.metadata?.name === 'web-b');
  assert.ok(w);
  await api.client.delete(R.pods, 'default', 'web-b');
  await waitFor('web-b gone', async () => {
    try {
      await getPod('web-b');
      return undefined;
    } catch {
      return true;
    }
  });
  await waitFor('sandbox dir removed', async () => (existsSync(w.podDir) ? undefined : true));
});
