import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { getPodsToDelete, isPodAvailable } from './pods.js';

const now = Date.UTC(2026, 0, 1, 12);
const ago = (s: number) => new Date(now - s * 1000).toISOString();

function pod(
  name: string,
  o: {
    node?: string;
    phase?: string;
    readySince?: number;
    restarts?: number;
    age?: number;
    cost?: string;
  } = {},
): Pod {
  return {
    metadata: {
      name,
      uid: name,
      creationTimestamp: ago(o.age ?? 100),
      annotations: o.cost ? { 'controller.kubernetes.io/pod-deletion-cost': o.cost } : undefined,
    },
    spec: { containers: [], nodeName: o.node },
    status: {
      phase: o.phase ?? 'Running',
      conditions:
        o.readySince !== undefined
          ? [{ type: 'Ready', status: 'True', lastTransitionTime: ago(o.readySince) }]
          : [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        { name: 'c', image: '', imageID: '', ready: false, restartCount: o.restarts ?? 0 },
      ],
    },
  };
}

describe('getPodsToDelete', () => {
  const cases: { name: string; pods: Pod[]; related?: Pod[]; diff: number; want: string[] }[] = [
    {
      name: 'unassigned pods go before assigned ones',
      pods: [pod('assigned', { node: 'n' }), pod('unassigned')],
      diff: 1,
      want: ['unassigned'],
    },
    {
      name: 'Pending before Unknown before Running',
      pods: [
        pod('run', { node: 'n' }),
        pod('unk', { node: 'n', phase: 'Unknown' }),
        pod('pend', { node: 'n', phase: 'Pending' }),
      ],
      diff: 2,
      want: ['pend', 'unk'],
    },
    {
      name: 'not ready before ready',
      pods: [pod('ready', { node: 'n', readySince: 50 }), pod('notready', { node: 'n' })],
      diff: 1,
      want: ['notready'],
    },
    {
      name: 'lower pod-deletion-cost first',
      pods: [pod('expensive', { node: 'n', cost: '100' }), pod('cheap', { node: 'n', cost: '-5' })],
      diff: 1,
      want: ['cheap'],
    },
    {
      name: 'doubled-up pods (more related pods on their node) first',
      pods: [pod('alone', { node: 'a' }), pod('crowded', { node: 'b' })],
      related: [
        pod('alone', { node: 'a' }),
        pod('crowded', { node: 'b' }),
        pod('other', { node: 'b' }),
      ],
      diff: 1,
      want: ['crowded'],
    },
    {
      name: 'more recently ready first, on a log scale',
      pods: [
        pod('long', { node: 'n', readySince: 4000 }),
        pod('recent', { node: 'n', readySince: 10 }),
      ],
      diff: 1,
      want: ['recent'],
    },
    {
      name: 'more restarts first',
      pods: [pod('stable', { node: 'n' }), pod('crashy', { node: 'n', restarts: 7 })],
      diff: 1,
      want: ['crashy'],
    },
    {
      name: 'newer first',
      pods: [pod('old', { node: 'n', age: 5000 }), pod('new', { node: 'n', age: 5 })],
      diff: 1,
      want: ['new'],
    },
    {
      name: 'same log2 age bucket falls back to uid order',
      pods: [pod('b', { node: 'n', age: 70 }), pod('a', { node: 'n', age: 80 })],
      diff: 1,
      want: ['a'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = getPodsToDelete(c.pods, c.related ?? c.pods, c.diff, now).map(
        (p) => p.metadata?.name,
      );
      assert.deepEqual(got, c.want);
    });
  }
});

describe('isPodAvailable', () => {
  it('requires Ready for minReadySeconds', () => {
    assert.equal(isPodAvailable(pod('p', { readySince: 5 }), 10, now), false);
    assert.equal(isPodAvailable(pod('p', { readySince: 10 }), 10, now), true);
    assert.equal(isPodAvailable(pod('p'), 0, now), false);
  });
});
