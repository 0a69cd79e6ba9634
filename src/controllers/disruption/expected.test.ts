import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { type ControllerLookup, getExpectedPodCount, type ScaledController } from './expected.js';

const owned = (name: string, kind: string, owner: string, uid = `${owner}-uid`): Pod => ({
  metadata: {
    name,
    namespace: 'ns',
    ownerReferences: [{ apiVersion: 'apps/v1', kind, name: owner, uid, controller: true }],
  },
});
const bare = (name: string): Pod => ({ metadata: { name, namespace: 'ns' } });
const world: Record<string, ScaledController> = {
  'ReplicaSet/web-1': {
    uid: 'web-1-uid',
    replicas: 4,
    controllerRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'web-uid' },
  },
  'ReplicaSet/web-2': {
    uid: 'web-2-uid',
    replicas: 1,
    controllerRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'web-uid' },
  },
  'Deployment/web': { uid: 'web-uid', replicas: 5 },
  'ReplicaSet/solo': { uid: 'solo-uid', replicas: 2 },
  'StatefulSet/db': { uid: 'db-uid', replicas: 3 },
};
const lookup: ControllerLookup = (kind, _ns, name) => world[`${kind}/${name}`];
const pdb = (spec: PodDisruptionBudget['spec']): PodDisruptionBudget => ({ spec });

describe('PodDisruptionBudget expected pods', () => {
  it('counts the selected pods for an integer minAvailable', () => {
    const pods = [owned('a', 'StatefulSet', 'db'), bare('b')];
    assert.deepEqual(getExpectedPodCount(pdb({ minAvailable: 1 }), pods, lookup), {
      expected: 2,
      desired: 1,
      unmanaged: [],
    });
  });
  it("counts a Deployment's scale once through its ReplicaSets for maxUnavailable", () => {
    // Mid-rollout: 2 pods of the old ReplicaSet, 1 of the new; the Deployment wants 5.
    const pods = [
      owned('a', 'ReplicaSet', 'web-1'),
      owned('b', 'ReplicaSet', 'web-1'),
      owned('c', 'ReplicaSet', 'web-2'),
    ];
    assert.deepEqual(getExpectedPodCount(pdb({ maxUnavailable: 1 }), pods, lookup), {
      expected: 5,
      desired: 4,
      unmanaged: [],
    });
  });
  it('rounds a percentage up against the summed scale of several controllers', () => {
    const pods = [owned('a', 'ReplicaSet', 'solo'), owned('b', 'StatefulSet', 'db')];
    assert.deepEqual(getExpectedPodCount(pdb({ minAvailable: '50%' }), pods, lookup), {
      expected: 5,
      desired: 3,
      unmanaged: [],
    });
    assert.deepEqual(getExpectedPodCount(pdb({ maxUnavailable: '50%' }), pods, lookup), {
      expected: 5,
      desired: 2,
      unmanaged: [],
    });
  });
  it('leaves unmanaged pods out and reports them', () => {
    const pods = [owned('a', 'StatefulSet', 'db'), bare('loose')];
    assert.deepEqual(getExpectedPodCount(pdb({ maxUnavailable: 1 }), pods, lookup), {
      expected: 3,
      desired: 2,
      unmanaged: ['loose'],
    });
  });
  it('fails for a pod whose controller has no scale (a DaemonSet) or is not cached', () => {
    for (const p of [owned('d', 'DaemonSet', 'logs'), owned('x', 'ReplicaSet', 'gone')]) {
      const got = getExpectedPodCount(pdb({ maxUnavailable: 1 }), [p], lookup);
      assert.deepEqual(got, {
        error: `found no controllers for pod "${p.metadata?.name}"`,
        unmanaged: [],
      });
    }
  });
  it('ignores a cached controller with another uid (a replacement of the same name)', () => {
    const got = getExpectedPodCount(
      pdb({ maxUnavailable: 1 }),
      [owned('a', 'StatefulSet', 'db', 'old-uid')],
      lookup,
    );
    assert.ok('error' in got);
  });
});
