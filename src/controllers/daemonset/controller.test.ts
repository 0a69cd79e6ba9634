import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  startControllerEnv,
} from '../runtime/testing.js';
import {
  createDaemonSetController,
  type DaemonSetController,
  shouldRunOnNode,
} from './controller.js';

const node = (labels: Record<string, string>, taints: Node['spec'] = {}): Node => ({
  metadata: { name: 'n1', labels },
  spec: taints,
});
const ds = (
  spec: Partial<NonNullable<NonNullable<DaemonSet['spec']>['template']['spec']>>,
): DaemonSet => ({
  spec: {
    selector: { matchLabels: { app: 'd' } },
    template: { metadata: { labels: { app: 'd' } }, spec: podSpec(spec) },
  },
});

describe('DaemonSet placement', () => {
  const cases: [string, DaemonSet, Node, boolean][] = [
    ['runs on a plain node', ds({}), node({}), true],
    ['honours nodeSelector', ds({ nodeSelector: { disk: 'ssd' } }), node({ disk: 'hdd' }), false],
    [
      'skips a NoSchedule taint it does not tolerate',
      ds({}),
      node({}, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      false,
    ],
    [
      'runs where its toleration matches',
      ds({
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
      }),
      node({}, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      true,
    ],
    [
      'tolerates an unschedulable (cordoned) node by default',
      ds({}),
      node({}, { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] }),
      true,
    ],
  ];
  for (const [name, d, n, want] of cases) it(name, () => assert.equal(shouldRunOnNode(d, n), want));
});

describe('DaemonSet controller', () => {
  let env: ControllerEnv;
  let dsc: DaemonSetController;
  before(async () => {
    env = await startControllerEnv();
    dsc = createDaemonSetController({ informers: env.informers, clock: env.clock });
    await env.sync();
    await env.client.create<Node>(R.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
    });
  });
  after(() => env.close());

  it('creates one pod pinned to each node by affinity, with the daemon tolerations', async () => {
    await env.client.create<DaemonSet>(R.daemonsets, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'd', namespace: 'default' },
      ...ds({}),
    });
    for (const r of [R.daemonsets, R.nodes, R.pods]) {
      await cacheCaughtUp(
        env.client,
        env.informers.informerFor(r),
        r.namespaced ? 'default' : undefined,
      );
    }
    await dsc.syncDaemonSet('default/d');
    await cacheCaughtUp(env.client, env.informers.informerFor(R.pods), 'default');
    await dsc.syncDaemonSet('default/d');
    const pods = (
      await env.client.list<Pod>(R.pods, { namespace: 'default', labelSelector: 'app=d' })
    ).items;
    assert.equal(pods.length, 1, 'a second sync creates no duplicate');
    const terms =
      pods[0]?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
        ?.nodeSelectorTerms;
    assert.deepEqual(terms?.[0]?.matchFields, [
      { key: 'metadata.name', operator: 'In', values: ['n1'] },
    ]);
    assert.ok(
      pods[0]?.spec?.tolerations?.some((t) => t.key === 'node.kubernetes.io/unschedulable'),
    );
    const got = await env.client.get<DaemonSet>(R.daemonsets, 'default', 'd');
    assert.equal(got.status?.desiredNumberScheduled, 1);
  });
});
