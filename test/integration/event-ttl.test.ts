// Events expire after --event-ttl (kube-apiserver's flag, default 1h): a cluster left running for
// days does not keep every Event of every pod it ever ran (issue #18's soak).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, type SkiffUnderTest, startSkiff } from './harness.js';

let skiff: SkiffUnderTest;
before(async () => {
  skiff = await startSkiff({ args: ['--event-ttl', '8s'] });
});
after(async () => {
  await skiff?.stop();
});

const event = (name: string) => `apiVersion: v1
kind: Event
metadata:
  name: ${name}
  namespace: default
involvedObject:
  kind: ConfigMap
  name: keep
  namespace: default
reason: Testing
message: written by the test
type: Normal
`;

test('an Event is gone --event-ttl after its last write; other objects stay', async () => {
  await skiff.kubectlOk(['create', 'configmap', 'keep']);
  // Before the writes: each Event expires at least the TTL after this.
  const t0 = Date.now();
  await skiff.kubectlOk(['create', '-f', '-'], { input: event('ttl-a') });
  await skiff.kubectlOk(['create', '-f', '-'], { input: event('ttl-b') });
  const names = async () =>
    (await skiff.kubectlOk(['get', 'events', '-o', 'name', '--field-selector', 'reason=Testing']))
      .trim()
      .split('\n')
      .filter(Boolean);
  assert.deepEqual((await names()).sort(), ['event/ttl-a', 'event/ttl-b']);
  await eventually(async () => (await names()).length === 0, {
    timeoutMs: 30_000,
    what: 'the Events to expire',
    diagnose: async () => (await skiff.kubectl(['get', 'events', '-o', 'wide'])).stdout,
  });
  const goneMs = Date.now() - t0;
  assert.ok(goneMs >= 8000, `gone ${goneMs} ms after the writes began, before the TTL ran out`);
  assert.equal(
    (await skiff.kubectlOk(['get', 'configmap', 'keep', '-o', 'name'])).trim(),
    'configmap/keep',
  );
});
