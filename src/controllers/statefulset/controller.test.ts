import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControllerRevision, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  setPodStatus,
  startControllerEnv,
} from '../runtime/testing.js';
import { createStatefulSetController, type StatefulSetController } from './controller.js';

describe('StatefulSet controller', () => {
  let env: ControllerEnv;
  let ssc: StatefulSetController;
  let n = 0;
  before(async () => {
    env = await startControllerEnv();
    ssc = createStatefulSetController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  async function settle() {
    for (const r of [R.pods, R.statefulsets, R.persistentvolumeclaims, R.controllerrevisions]) {
      await cacheCaughtUp(env.client, env.informers.informerFor(r), 'default');
    }
  }
  async function newSet(spec: Partial<NonNullable<StatefulSet['spec']>> = {}): Promise<string> {
    const name = `s${++n}`;
    await env.client.create<StatefulSet>(R.statefulsets, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: 'default' },
      spec: {
        serviceName: name,
        replicas: 3,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: podSpec() },
        ...spec,
      },
    });
    await settle();
    return name;
  }
  async function sync(name: string) {
    await ssc.syncStatefulSet(`default/${name}`);
    await settle();
  }
  const live = async (name: string) =>
    (
      await env.client.list<Pod>(R.pods, { namespace: 'default', labelSelector: `app=${name}` })
    ).items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => p.metadata!.name!)
      .sort();
  const ready = async (name: string, pod: string) => {
    const p = await env.client.get<Pod>(R.pods, 'default', pod);
    await setPodStatus(env.client, p, { ready: true });
    await settle();
    void name;
  };
  const getSet = (name: string) => env.client.get<StatefulSet>(R.statefulsets, 'default', name);

  it('OrderedReady creates <set>-0 first and the next ordinal only once the previous is Ready', async () => {
    const name = await newSet({
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
        },
      ],
    });
    await sync(name);
    assert.deepEqual(await live(name), [`${name}-0`]);
    await sync(name);
    assert.deepEqual(await live(name), [`${name}-0`], 'waits for Ready');
    const pod0 = await env.client.get<Pod>(R.pods, 'default', `${name}-0`);
    assert.equal(pod0.spec?.hostname, `${name}-0`);
    assert.equal(pod0.spec?.subdomain, name);
    assert.equal(pod0.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], `${name}-0`);
    assert.equal(pod0.metadata?.labels?.['apps.kubernetes.io/pod-index'], '0');
    assert.deepEqual(pod0.spec?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim, {
      claimName: `data-${name}-0`,
    });
    const claim = await env.client.get<PersistentVolumeClaim>(
      R.persistentvolumeclaims,
      'default',
      `data-${name}-0`,
    );
    assert.equal(claim.metadata?.labels?.app, name, 'claims carry the selector labels');
    await ready(name, `${name}-0`);
    await sync(name);
    assert.deepEqual(await live(name), [`${name}-0`, `${name}-1`]);
    await ready(name, `${name}-1`);
    await sync(name);
    await ready(name, `${name}-2`);
    await sync(name);
    const set = await getSet(name);
    assert.equal(set.status?.readyReplicas, 3);
    assert.equal(set.status?.currentRevision, set.status?.updateRevision);
    const revs = await env.client.list<ControllerRevision>(R.controllerrevisions, {
      namespace: 'default',
    });
    const mine = revs.items.filter((r) => r.metadata?.name === set.status?.updateRevision);
    assert.equal(mine[0]?.revision, 1);
  });

  it('Parallel creates every ordinal at once and scales down from the highest', async () => {
    const name = await newSet({ podManagementPolicy: 'Parallel' });
    await sync(name);
    assert.deepEqual(await live(name), [`${name}-0`, `${name}-1`, `${name}-2`]);
    await env.client.patch(R.statefulsets, 'default', name, { spec: { replicas: 1 } });
    await settle();
    await sync(name);
    assert.deepEqual(await live(name), [`${name}-0`]);
  });

  it('rolls a new template from the highest ordinal down to the partition, one pod at a time', async () => {
    const name = await newSet({
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } },
    });
    await sync(name);
    for (const i of [0, 1, 2]) await ready(name, `${name}-${i}`);
    await sync(name);
    const before = (await getSet(name)).status?.updateRevision;
    await env.client.patch(R.statefulsets, 'default', name, {
      spec: { template: { metadata: { labels: { app: name, v: '2' } } } },
    });
    await settle();
    await sync(name);
    const set = await getSet(name);
    assert.notEqual(set.status?.updateRevision, before);
    assert.deepEqual(
      await live(name),
      [`${name}-0`, `${name}-1`],
      'the highest ordinal goes first',
    );
    // Recreated at the new revision, then the next one down; ordinal 0 stays (partition 1).
    await sync(name);
    const p2 = await env.client.get<Pod>(R.pods, 'default', `${name}-2`);
    assert.equal(p2.metadata?.labels?.['controller-revision-hash'], set.status?.updateRevision);
    await ready(name, `${name}-2`);
    await sync(name);
    assert.deepEqual(await live(name), [`${name}-0`, `${name}-2`]);
    await sync(name);
    await ready(name, `${name}-1`);
    await sync(name);
    const p0 = await env.client.get<Pod>(R.pods, 'default', `${name}-0`);
    assert.equal(p0.metadata?.labels?.['controller-revision-hash'], before, 'below the partition');
    const final = await getSet(name);
    assert.equal(final.status?.updatedReplicas, 2);
    assert.equal(final.status?.currentRevision, before);
  });
});
