// Reduced mode, forced (as CI does): no namespaces or cgroups; a pod gets its own loopback IP
// (127.1.x.y) with PORT/POD_IP in its environment, answers there, and restarts when killed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { R } from '../client/resources.js';
import {
  firstContainer,
  isReady,
  testPod,
  useTestNode,
  waitFor,
  waitForPod,
  waitReaped,
} from './testing.js';

const node = useTestNode({ reducedMode: true });
const status = firstContainer;

test('a pod in reduced mode serves on its own loopback IP and heals', async () => {
  assert.equal(node.agent.isReduced, true);
  await node.api.client.create(R.pods, testPod('small'));
  const p = await waitForPod(node, 'small', isReady);
  const ip = p.status?.podIP ?? '';
  assert.match(ip, /^127\.1\.\d+\.\d+$/);
  assert.equal(p.status?.phase, 'Running');
  const body = await (await fetch(`http://${ip}:5000/`)).text();
  assert.match(body, /^Hello, my first docker images! /);
  const w = [...node.agent.workers.values()].find((x) => x.pod.metadata?.name === 'small');
  assert.equal(w?.container('app')?.env?.['POD_IP'], ip);
  assert.equal(w?.container('app')?.env?.['PORT'], '5000');
  await w?.sandbox?.client.signal('app', 9);
  const healed = await waitForPod(
    node,
    'small',
    (x) => status(x)?.restartCount === 1 && isReady(x),
  );
  assert.equal(healed.status?.podIP, ip, 'same IP after the restart');
  assert.equal(await (await fetch(`http://${ip}:5000/`)).text(), body);
  // Deleted: the shim is reaped (by the reaper), not left a zombie.
  const shimPid = w?.sandbox?.shimPid ?? 0;
  await node.api.client.delete(R.pods, 'default', 'small');
  await waitFor('small gone', async () => (node.agent.workers.size ? undefined : true));
  await waitReaped(shimPid);
});
