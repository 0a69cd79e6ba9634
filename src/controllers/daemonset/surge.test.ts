import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { type NodeDaemonPods, surgeUpdate, surplusUnderSurge } from './surge.js';

const now = Date.UTC(2026, 0, 1, 12);
const iso = (msAgo: number) => new Date(now - msAgo).toISOString();
/** A daemon pod of revision `rev`, Ready since `readyAgo` ms (undefined: not Ready). */
const pod = (name: string, rev: string, readyAgo?: number, createdAgo = 60_000): Pod => ({
  metadata: {
    name,
    creationTimestamp: iso(createdAgo),
    labels: { 'controller-revision-hash': rev },
  },
  status: {
    phase: 'Running',
    conditions: [
      readyAgo === undefined
        ? { type: 'Ready', status: 'False' }
        : { type: 'Ready', status: 'True', lastTransitionTime: iso(readyAgo) },
    ],
  },
});
const names = (ps: Pod[]) => ps.map((p) => p.metadata?.name).sort();

describe('DaemonSet surge update', () => {
  const cases: {
    name: string;
    nodes: NodeDaemonPods[];
    maxSurge: number;
    minReady?: number;
    createOn: string[];
    remove: string[];
  }[] = [
    {
      name: 'starts a new pod beside an available old one, up to maxSurge nodes',
      nodes: [
        { node: 'a', pods: [pod('a-old', 'v1', 10_000)] },
        { node: 'b', pods: [pod('b-old', 'v1', 10_000)] },
        { node: 'c', pods: [pod('c-old', 'v1', 10_000)] },
      ],
      maxSurge: 2,
      createOn: ['a', 'b'],
      remove: [],
    },
    {
      name: 'replaces an unavailable old pod at once, outside the surge budget',
      nodes: [
        { node: 'a', pods: [pod('a-old', 'v1')] },
        { node: 'b', pods: [pod('b-old', 'v1', 10_000)] },
      ],
      maxSurge: 1,
      createOn: ['a', 'b'],
      remove: [],
    },
    {
      name: 'deletes the old pod once the new one beside it is available',
      nodes: [{ node: 'a', pods: [pod('a-old', 'v1', 10_000), pod('a-new', 'v2', 5_000)] }],
      maxSurge: 1,
      createOn: [],
      remove: ['a-old'],
    },
    {
      name: 'keeps the old pod while the new one is Ready for less than minReadySeconds',
      nodes: [
        { node: 'a', pods: [pod('a-old', 'v1', 10_000), pod('a-new', 'v2', 2_000)] },
        { node: 'b', pods: [pod('b-old', 'v1', 10_000)] },
      ],
      maxSurge: 1,
      minReady: 5,
      createOn: [],
      remove: [],
    },
    {
      name: 'leaves up-to-date nodes alone',
      nodes: [{ node: 'a', pods: [pod('a-new', 'v2', 10_000)] }],
      maxSurge: 1,
      createOn: [],
      remove: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = surgeUpdate(c.nodes, {
        hash: 'v2',
        maxSurge: c.maxSurge,
        minReadySeconds: c.minReady ?? 0,
        now,
      });
      assert.deepEqual(plan.createOn.sort(), c.createOn);
      assert.deepEqual(names(plan.remove), c.remove);
    });
  }

  it('keeps the oldest old and the oldest new pod of a node, trimming the rest', () => {
    const pods = [
      pod('old-young', 'v1', 1, 1_000),
      pod('old-aged', 'v1', 1, 9_000),
      pod('new-young', 'v2', 1, 500),
      pod('new-aged', 'v2', 1, 2_000),
    ];
    assert.deepEqual(names(surplusUnderSurge(pods, 'v2')), ['new-young', 'old-young']);
  });
});
