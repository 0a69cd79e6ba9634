// VolumeObjectWatches over the in-process API server: one watch per referenced object, shared by
// pods, gone with the last pod; a change of a watched object calls back, others do not.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Pod, Volume } from 'kubernetes-types/core/v1.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import { realClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { VolumeObjectWatches } from './object-watch.js';

let api: TestApiServer;
const abort = new AbortController();
before(async () => {
  api = await startTestApiServer();
});
after(async () => {
  abort.abort();
  await api.close();
});

const pod = (uid: string, volumes: Volume[]): Pod => ({
  metadata: { name: uid, namespace: 'default', uid },
  spec: { containers: [], volumes },
});

test('watches are shared, released with the last pod, and report changes', async () => {
  const changes: string[] = [];
  const watches = new VolumeObjectWatches({
    client: api.client,
    clock: realClock,
    log: createLogger(),
    signal: abort.signal,
    onChange: (ns, ref) => changes.push(`${ns}/${ref}`),
  });
  await api.client.create(R.configmaps, {
    metadata: { name: 'cfg', namespace: 'default' },
    data: { k: '1' },
  });
  watches.register(pod('a', [{ name: 'v', configMap: { name: 'cfg' } }]));
  watches.register(
    pod('b', [
      { name: 'v', configMap: { name: 'cfg' } },
      { name: 'p', projected: { sources: [{ secret: { name: 'creds' } }] } },
    ]),
  );
  assert.equal(watches.size, 2);
  const seen = async (want: string) => {
    const deadline = Date.now() + 5000;
    while (!changes.includes(want) && Date.now() < deadline) await realClock.sleep(20);
    assert.ok(changes.includes(want), `${want} in ${changes.join(', ')}`);
  };
  // The first list counts as a change (the object may have moved since the volume was written).
  await seen('default/configmap/cfg');
  changes.length = 0;
  await api.client.patch(R.configmaps, 'default', 'cfg', { data: { k: '2' } });
  await seen('default/configmap/cfg');
  await api.client.create(R.secrets, { metadata: { name: 'creds', namespace: 'default' } });
  await seen('default/secret/creds');
  // b drops the secret from its spec (a new pod version), a goes: only cfg is left, for b.
  watches.register(pod('b', [{ name: 'v', configMap: { name: 'cfg' } }]));
  watches.unregister('a');
  assert.equal(watches.size, 1);
  watches.unregister('b');
  assert.equal(watches.size, 0);
  changes.length = 0;
  await api.client.patch(R.configmaps, 'default', 'cfg', { data: { k: '3' } });
  await realClock.sleep(300);
  assert.deepEqual(changes, []);
});
