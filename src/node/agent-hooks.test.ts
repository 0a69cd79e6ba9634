// Lifecycle hooks with real sandboxes (root only): postStart runs before the container counts as
// running, a failing postStart is reported and restarts the container, preStop runs at deletion;
// init containers run in order before the app, and a failed one fails a restartPolicy Never pod.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Event } from 'kubernetes-types/core/v1.js';
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
} from './testing.js';

const skip = needsRoot;
const node = useTestNode({ skip });
const status = firstContainer;

async function eventsOf(pod: string): Promise<Event[]> {
  const list = await node.api.client.list<Event>(R.events, { namespace: 'default' });
  return list.items.filter((e) => e.involvedObject.name === pod);
}

test('postStart runs in the container before it is reported running', { skip }, async () => {
  await node.api.client.create(
    R.pods,
    testPod('hooked', {
      lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo hooked > /tmp/poststart'] } } },
    }),
  );
  const p = await waitForPod(node, 'hooked', isReady);
  assert.equal(status(p)?.restartCount, 0);
  const r = await execWs(node.agent, 'hooked', ['cat', '/tmp/poststart']);
  assert.equal(r.stdout, 'hooked\n');
});

test('a failing postStart is reported as FailedPostStartHook and restarts the container', {
  skip,
}, async () => {
  await node.api.client.create(
    R.pods,
    testPod('badhook', { lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 7'] } } } }),
  );
  const p = await waitForPod(node, 'badhook', (x) => (status(x)?.restartCount ?? 0) >= 1, 20_000);
  assert.equal(isReady(p), false);
  const ev = await waitFor('FailedPostStartHook event', async () =>
    (await eventsOf('badhook')).find((e) => e.reason === 'FailedPostStartHook'),
  );
  assert.equal(ev.type, 'Warning');
  assert.match(
    ev.message ?? '',
    /^Exec lifecycle hook \(\["sh","-c","exit 7"\]\) for Container "app" in Pod "badhook_default\(.+\)" failed - error: /,
  );
});

test('preStop runs before SIGTERM when the pod is deleted', { skip }, async () => {
  // Both the hook and the TERM trap append to a hostPath file the test reads after the pod is gone.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-hooks-'));
  try {
    await node.api.client.create(
      R.pods,
      testPod(
        'stopper',
        {
          command: [
            'sh',
            '-c',
            'trap "echo term >> /out/log; exit 0" TERM; while :; do sleep 0.1; done',
          ],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /out/log'] } } },
          volumeMounts: [{ name: 'out', mountPath: '/out' }],
        },
        { volumes: [{ name: 'out', hostPath: { path: dir } }] },
      ),
    );
    await waitForPod(node, 'stopper', (x) => !!status(x)?.state?.running);
    await node.api.client.delete(R.pods, 'default', 'stopper');
    const log = await waitFor('preStop and TERM in the file', async () => {
      const text = existsSync(path.join(dir, 'log'))
        ? readFileSync(path.join(dir, 'log'), 'utf8')
        : '';
      return text.includes('term') ? text : undefined;
    });
    assert.equal(log, 'prestop\nterm\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('init containers run one at a time, in order, before the app container', {
  skip,
}, async () => {
  // Each init container appends to an emptyDir the app then serves from: the order is the proof.
  const step = (name: string) => ({
    name,
    image: 'busybox',
    command: ['sh', '-c', `echo ${name} >> /work/order`],
    volumeMounts: [{ name: 'work', mountPath: '/work' }],
  });
  await node.api.client.create(
    R.pods,
    testPod(
      'inits',
      { volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      { initContainers: [step('one'), step('two')], volumes: [{ name: 'work', emptyDir: {} }] },
    ),
  );
  const p = await waitForPod(node, 'inits', isReady);
  assert.deepEqual(
    p.status?.initContainerStatuses?.map((s) => s.state?.terminated?.reason),
    ['Completed', 'Completed'],
  );
  assert.equal(p.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
  const r = await execWs(node.agent, 'inits', ['cat', '/work/order']);
  assert.equal(r.stdout, 'one\ntwo\n');
});

test('a failing init container fails the pod under restartPolicy Never', { skip }, async () => {
  await node.api.client.create(
    R.pods,
    testPod(
      'badinit',
      {},
      {
        restartPolicy: 'Never',
        initContainers: [{ name: 'fail', image: 'busybox', command: ['sh', '-c', 'exit 3'] }],
      },
    ),
  );
  const p = await waitForPod(node, 'badinit', (x) => x.status?.phase === 'Failed');
  assert.equal(p.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode, 3);
  assert.equal(status(p)?.state?.waiting?.reason, 'PodInitializing');
});
