// pods/ephemeralcontainers over the in-process API server: append-only, upstream validation wording.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import { ApiError } from '../../client/rest.js';
import { startTestApiServer, type TestApiServer } from '../testing.js';

async function invalid(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, 422, err.message);
    return err.message;
  }
  assert.fail('expected 422');
}

describe('pods/ephemeralcontainers', () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
    await api.client.create(R.pods, {
      metadata: { name: 'web', namespace: 'default' },
      spec: { containers: [{ name: 'app', image: 'busybox' }] },
    });
  });
  after(() => api.close());

  const add = (ec: Record<string, unknown>[]) =>
    api.client.patch<Pod>(
      R.pods,
      'default',
      'web',
      { spec: { ephemeralContainers: ec } },
      { type: 'strategic', subresource: 'ephemeralcontainers' },
    );

  it('appends a debug container, defaulted, and leaves the rest of the pod alone', async () => {
    const pod = await add([
      { name: 'dbg', image: 'busybox', targetContainerName: 'app', stdin: true },
    ]);
    const ec = pod.spec?.ephemeralContainers ?? [];
    assert.equal(ec.length, 1);
    assert.equal(ec[0]?.targetContainerName, 'app');
    assert.equal(ec[0]?.terminationMessagePath, '/dev/termination-log');
    assert.equal(pod.spec?.containers.length, 1);
    const got = await api.client.requestJSON<Pod>(
      'GET',
      '/api/v1/namespaces/default/pods/web/ephemeralcontainers',
    );
    assert.equal(got.spec?.ephemeralContainers?.[0]?.name, 'dbg');
    // A strategic merge patch naming a second one adds it beside the first.
    const two = await add([{ name: 'dbg2', image: 'busybox' }]);
    assert.deepEqual(
      two.spec?.ephemeralContainers?.map((c) => c.name),
      ['dbg', 'dbg2'],
    );
  });

  it('refuses a change or removal of an existing one with the upstream message', async () => {
    const changed = await invalid(add([{ name: 'dbg', image: 'alpine' }]));
    assert.match(
      changed,
      /^Pod "web" is invalid: spec\.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed/,
    );
    const pod = await api.client.get<Pod>(R.pods, 'default', 'web');
    const kept = (pod.spec?.ephemeralContainers ?? []).filter((c) => c.name !== 'dbg2');
    const removed = await invalid(
      api.client.update(
        R.pods,
        { ...pod, spec: { ...pod.spec, ephemeralContainers: kept } } as Pod,
        {
          subresource: 'ephemeralcontainers',
        },
      ),
    );
    assert.match(removed, /existing ephemeral containers "dbg2" may not be removed/);
  });

  it('refuses workload fields, a duplicate name, an unknown target and subPath mounts', async () => {
    const msg = await invalid(
      add([
        {
          name: 'app',
          image: 'busybox',
          ports: [{ containerPort: 80 }],
          readinessProbe: { exec: { command: ['true'] } },
          resources: { limits: { cpu: '1' } },
          lifecycle: { preStop: { exec: { command: ['true'] } } },
          targetContainerName: 'nope',
          volumeMounts: [{ name: 'v', mountPath: '/v', subPath: 'x' }],
        },
      ]),
    );
    for (const want of [
      'spec.ephemeralContainers[2].name: Duplicate value: "app"',
      'spec.ephemeralContainers[2].targetContainerName: Not found: "nope"',
      'spec.ephemeralContainers[2].ports: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[2].resources: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[2].readinessProbe: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[2].lifecycle: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[2].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container',
    ]) {
      assert.ok(msg.includes(want), `${want}\n in ${msg}`);
    }
  });

  it('refuses them on create and through an ordinary pod update', async () => {
    const created = await invalid(
      api.client.create(R.pods, {
        metadata: { name: 'other', namespace: 'default' },
        spec: {
          containers: [{ name: 'app', image: 'busybox' }],
          ephemeralContainers: [{ name: 'dbg', image: 'busybox' }],
        },
      }),
    );
    assert.match(created, /spec\.ephemeralContainers: Forbidden: cannot be set on create/);
    const updated = await invalid(
      api.client.patch(
        R.pods,
        'default',
        'web',
        {
          spec: { ephemeralContainers: [{ name: 'dbg3', image: 'busybox' }] },
        },
        { type: 'strategic' },
      ),
    );
    assert.match(updated, /spec: Forbidden: pod updates may not change fields/);
  });
});
