import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { getProportion } from './sync.js';
import {
  equalIgnoreHash,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  resolveFenceposts,
} from './util.js';

const deploy = (
  replicas: number,
  maxSurge?: number | string,
  maxUnavailable?: number | string,
): Deployment => ({
  spec: {
    replicas,
    selector: {},
    template: {},
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } },
  },
});
const rs = (replicas: number, annotations?: Record<string, string>): ReplicaSet => ({
  metadata: { annotations },
  spec: { replicas, selector: {} },
});

describe('resolveFenceposts', () => {
  const cases: { name: string; d: Deployment; want: { surge: number; unavailable: number } }[] = [
    { name: 'defaults 25%/25% of 4 are 1/1', d: deploy(4), want: { surge: 1, unavailable: 1 } },
    {
      name: 'surge rounds up, unavailable rounds down (25% of 3)',
      d: deploy(3),
      want: { surge: 1, unavailable: 0 },
    },
    { name: '25% of 1: surge 1, unavailable 0', d: deploy(1), want: { surge: 1, unavailable: 0 } },
    {
      name: 'both zero becomes unavailable 1',
      d: deploy(10, 0, 0),
      want: { surge: 0, unavailable: 1 },
    },
    {
      name: 'absolute numbers pass through',
      d: deploy(10, 3, 2),
      want: { surge: 3, unavailable: 2 },
    },
    { name: '30% of 10', d: deploy(10, '30%', '30%'), want: { surge: 3, unavailable: 3 } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(resolveFenceposts(c.d), c.want));

  it('maxUnavailable is capped at replicas and zero for Recreate', () => {
    assert.equal(maxUnavailable(deploy(2, 0, 5)), 2);
    assert.equal(
      maxUnavailable({
        spec: { replicas: 3, selector: {}, template: {}, strategy: { type: 'Recreate' } },
      }),
      0,
    );
    assert.equal(
      maxSurge({
        spec: { replicas: 3, selector: {}, template: {}, strategy: { type: 'Recreate' } },
      }),
      0,
    );
  });
});

describe('newRSNewReplicas', () => {
  it('scales the new RS up to replicas + maxSurge minus existing pods', () => {
    const newRS = rs(0);
    assert.equal(newRSNewReplicas(deploy(4), [rs(4), newRS], newRS), 1);
    assert.equal(newRSNewReplicas(deploy(4), [rs(0), newRS], newRS), 4);
    assert.equal(newRSNewReplicas(deploy(4), [rs(5), newRS], newRS), 0);
  });
});

describe('getProportion', () => {
  it('shares added replicas by the RS size relative to max-replicas', () => {
    // 10 → 20 replicas (25% surge: 13 → 25 allowed), an RS of 6 out of 13 gains round(6·25/13) − 6 = 6.
    const d = deploy(20);
    assert.equal(
      getProportion(rs(6, { 'deployment.kubernetes.io/max-replicas': '13' }), d, 12, 0),
      6,
    );
    assert.equal(
      getProportion(rs(6, { 'deployment.kubernetes.io/max-replicas': '13' }), d, 12, 10),
      2,
      'never more than what is left',
    );
    assert.equal(getProportion(rs(0), d, 12, 0), 0);
  });
});

describe('equalIgnoreHash', () => {
  it('ignores only the pod-template-hash label', () => {
    const a = {
      metadata: { labels: { app: 'x', 'pod-template-hash': 'abc' } },
      spec: { containers: [] },
    };
    const b = { metadata: { labels: { app: 'x' } }, spec: { containers: [] } };
    assert.equal(equalIgnoreHash(a, b), true);
    assert.equal(
      equalIgnoreHash(a, { metadata: { labels: { app: 'y' } }, spec: { containers: [] } }),
      false,
    );
  });
});
