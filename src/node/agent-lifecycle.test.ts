// Node agent lifecycle paths with real sandboxes (root only): CrashLoopBackOff, liveness and
// readiness probes, OOMKilled, exec with a TTY, logs -f, and adopting pods after an agent restart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { test } from 'node:test';
import { R } from '../client/resources.js';
import {
  execWs,
  firstContainer,
  isReady,
  needsRoot,
  testPod,
  useTestNode,
  waitFor,
  waitForPod,
  waitReaped,
} from './testing.js';

const skip = needsRoot;
const node = useTestNode({ skip });
const status = firstContainer;
const parentOf = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);

test('a crashing container restarts at once, then waits in CrashLoopBackOff', {
  skip,
}, async () => {
  await node.api.client.create(R.pods, testPod('crash', { command: ['sh', '-c', 'exit 2'] }));
  const p = await waitForPod(
    node,
    'crash',
    (x) => status(x)?.state?.waiting?.reason === 'CrashLoopBackOff',
  );
  const s = status(p);
  assert.equal(s?.restartCount, 1, 'first restart immediate, the second waits 10 s');
  assert.equal(s?.lastState?.terminated?.exitCode, 2);
  assert.equal(s?.lastState?.terminated?.reason, 'Error');
  assert.match(s?.state?.waiting?.message ?? '', /^back-off 10s restarting failed container=app/);
  assert.equal(isReady(p), false);
});

test('a failing liveness probe restarts the container', { skip }, async () => {
  await node.api.client.create(
    R.pods,
    testPod('live', {
      livenessProbe: { tcpSocket: { port: 5999 }, periodSeconds: 1, failureThreshold: 1 },
    }),
  );
  const p = await waitForPod(node, 'live', (x) => (status(x)?.restartCount ?? 0) >= 1, 15_000);
  assert.equal(status(p)?.lastState?.terminated?.exitCode !== undefined, true);
});

test('a readiness probe gates Ready without restarting', { skip }, async () => {
  await node.api.client.create(
    R.pods,
    testPod('gated', {
      readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 },
    }),
  );
  const running = await waitForPod(node, 'gated', (x) => !!status(x)?.state?.running);
  assert.equal(isReady(running), false);
  const touch = await execWs(node.agent, 'gated', ['touch', '/tmp/ready']);
  assert.equal(touch.status.status, 'Success');
  const ready = await waitForPod(node, 'gated', isReady, 5000);
  assert.equal(status(ready)?.restartCount, 0);
  await execWs(node.agent, 'gated', ['rm', '/tmp/ready']);
  const unready = await waitForPod(node, 'gated', (x) => !isReady(x), 5000);
  assert.equal(status(unready)?.restartCount, 0, 'readiness failure does not restart');
});

test('a container over its memory limit is OOMKilled', { skip }, async () => {
  await node.api.client.create(
    R.pods,
    testPod(
      'hog',
      {
        command: ['python3', '-c', 'x = bytearray(300 * 1024 * 1024); print(len(x))'],
        resources: { limits: { memory: '48Mi' } },
      },
      { restartPolicy: 'Never' },
    ),
  );
  const p = await waitForPod(node, 'hog', (x) => !!status(x)?.state?.terminated);
  assert.equal(status(p)?.state?.terminated?.reason, 'OOMKilled');
  assert.equal(status(p)?.state?.terminated?.exitCode, 137);
  assert.equal(p.status?.phase, 'Failed');
});

test('exec with a TTY: prompt, resize, exit code', { skip }, async () => {
  await node.api.client.create(R.pods, testPod('term'));
  await waitForPod(node, 'term', isReady);
  let step = 0;
  const r = await execWs(node.agent, 'term', ['bash'], {
    tty: true,
    session: (out, send) => {
      if (step === 0) {
        step = 1;
        send(4, JSON.stringify({ Width: 123, Height: 45 }));
      } else if (step === 1 && out.includes('root@term:/app#')) {
        step = 2;
        send(0, 'stty size\r');
      } else if (step === 2 && out.includes('45 123')) {
        step = 3;
        send(0, 'exit 3\r');
      }
    },
  });
  assert.match(r.stdout, /root@term:\/app# /);
  assert.match(r.stdout, /45 123/);
  assert.equal(r.status.status, 'Failure');
  assert.equal(r.status.details?.causes[0]?.message, '3');
});

test('logs follow streams new lines', { skip }, async () => {
  const p = await waitForPod(node, 'term', isReady);
  const got = await new Promise<string>((resolve, reject) => {
    const req = http.get(
      `http://127.0.0.1:${node.agent.port}/containerLogs/default/term/app?follow=true`,
      { headers: { Authorization: 'Bearer tkn' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (text.includes('Serving Flask app'))
            void fetch(`http://${p.status?.podIP}:5000/followed`).catch(reject);
          if (text.includes('GET /followed')) {
            req.destroy();
            resolve(text);
          }
        });
      },
    );
    req.on('error', reject);
  });
  assert.match(got, /"GET \/followed HTTP\/1.1" 200/);
});

test('a new agent on the same data dir adopts running pods without restarting them', {
  skip,
}, async () => {
  const before = await waitForPod(node, 'term', isReady);
  const worker = [...node.agent.workers.values()].find((w) => w.pod.metadata?.name === 'term');
  const shimPid = worker?.sandbox?.shimPid;
  assert.ok(shimPid);
  // The shim double-forked into the reaper's care: its parent is the reaper, not Skiff.
  const reaperPid = parentOf(shimPid);
  assert.equal(readFileSync(`/proc/${reaperPid}/comm`, 'utf8').trim(), 'skiff-reaper');
  node.stopAgent();
  const agent = await node.restartAgent();
  const adopted = await waitFor('adopted worker', async () =>
    [...agent.workers.values()].find((w) => w.pod.metadata?.name === 'term'),
  );
  await waitFor('adopted sandbox', async () => adopted.sandbox);
  assert.equal(adopted.sandbox?.shimPid, shimPid, 'same shim: the pod kept running');
  const after = await waitForPod(node, 'term', isReady);
  assert.equal(status(after)?.restartCount, 0);
  assert.equal(status(after)?.containerID, status(before)?.containerID);
  const body = await (await fetch(`http://${after.status?.podIP}:5000/`)).text();
  assert.equal(body, 'Hello, my first docker images! term');
  // The adopted pod still heals: its exits reach the new agent.
  await adopted.sandbox?.client.signal('app', 9);
  const healed = await waitForPod(node, 'term', (x) => status(x)?.restartCount === 1 && isReady(x));
  assert.equal(status(healed)?.lastState?.terminated?.signal, 9);
  // Deleted after the adoption: the same reaper reaps its shim, no zombie remains.
  assert.equal(parentOf(shimPid), reaperPid);
  await node.api.client.delete(R.pods, 'default', 'term');
  await waitFor('term gone', async () => (agent.workers.has(adopted.uid) ? undefined : true));
  await waitReaped(shimPid);
});

test('a hostNetwork pod shares the node hostname and never renames the node', {
  skip,
}, async () => {
  const before = os.hostname();
  await node.api.client.create(
    R.pods,
    testPod('hostnet', { command: ['sleep', '1000'] }, { hostNetwork: true }),
  );
  await waitForPod(node, 'hostnet', (x) => !!status(x)?.state?.running);
  const r = await execWs(node.agent, 'hostnet', ['hostname']);
  assert.equal(r.stdout.trim(), before);
  assert.equal(os.hostname(), before);
});

test('stopping every pod (skiff down) leaves no zombie shim', { skip }, async () => {
  const shims = [...node.agent.workers.values()].map((w) => w.sandbox?.shimPid ?? 0);
  assert.ok(shims.length > 0 && shims.every((pid) => pid > 0));
  await node.agent.stopAllPods();
  for (const pid of shims) await waitReaped(pid);
});
