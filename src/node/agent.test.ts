// End-to-end node agent tests against the test API server with real sandboxes (root only):
// pod → Running/Ready and serving on its IP, kill → restart in place, exec, logs, stats, deletion.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../client/resources.js';
import {
  execWs as exec,
  isReady,
  startTestNode,
  type TestNode,
  waitFor,
  waitReaped,
} from './testing.js';

const isRoot = process.getuid?.() === 0;
let node: TestNode;

before(async () => {
  if (isRoot) node = await startTestNode();
});

after(async () => {
  if (isRoot) await node.close();
});

const getPod = (name: string) => node.api.client.get<Pod>(R.pods, 'default', name);
const execWs = (pod: string, command: string[], stdin?: string) =>
  exec(node.agent, pod, command, { stdin });

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
  await node.api.client.create(R.pods, podSpec('web-a'));
  await node.api.client.create(R.pods, podSpec('web-b'));
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
  const nodeObj = await node.api.client.get<{ status: { nodeInfo: { kubeletVersion: string } } }>(
    R.nodes,
    undefined,
    'skiff',
  );
  assert.equal(nodeObj.status.nodeInfo.kubeletVersion, 'v1.32.0');

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
  // ps's header, skiff-pause, the app, skiff-exec (the shim's relay of this exec), bash, ps, wc.
  assert.ok(Number(lines[2]) <= 7, `only the pod's processes: ${lines[2]}`);
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
      await fetch(`http://127.0.0.1:${node.agent.port}${p}`, {
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
  const denied = await fetch(`http://127.0.0.1:${node.agent.port}/stats/summary`);
  assert.equal(denied.status, 401);
});

test('deleting a pod terminates it gracefully and removes its sandbox', {
  skip: !isRoot && 'needs root',
}, async () => {
  const w = [...node.agent.workers.values()].find((x) => x.pod.metadata?.name === 'web-b');
  assert.ok(w);
  const shimPid = w.sandbox?.shimPid ?? 0;
  await node.api.client.delete(R.pods, 'default', 'web-b');
  await waitFor('web-b gone', async () => {
    try {
      await getPod('web-b');
      return undefined;
    } catch {
      return true;
    }
  });
  await waitFor('sandbox dir removed', async () => (existsSync(w.podDir) ? undefined : true));
  await waitReaped(shimPid); // not left a zombie
});
