import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { podsToUpdate, statefulSetMaxUnavailable } from './rolling.js';

/** web-<ord> at revision `rev`; `healthy` false = not Ready; `terminating` = being deleted. */
const pod = (ord: number, rev: string, healthy = true, terminating = false): Pod => ({
  metadata: {
    name: `web-${ord}`,
    labels: { 'controller-revision-hash': rev },
    deletionTimestamp: terminating ? '2026-01-01T00:00:00Z' : undefined,
    annotations: { healthy: String(healthy) },
  },
});
const isHealthy = (p: Pod) =>
  p.metadata?.annotations?.['healthy'] === 'true' && !p.metadata.deletionTimestamp;
const names = (ps: Pod[]) => ps.map((p) => p.metadata?.name);

describe('StatefulSet maxUnavailable', () => {
  const cases: [string, number | string | undefined, number, number][] = [
    ['defaults to 1', undefined, 5, 1],
    ['takes an integer', 3, 5, 3],
    ['rounds a percentage down', '50%', 5, 2],
    ['never goes below 1', '10%', 5, 1],
    ['treats 0 as 1', 0, 5, 1],
  ];
  for (const [name, value, replicas, want] of cases) {
    it(name, () => assert.equal(statefulSetMaxUnavailable(value, replicas), want));
  }
});

describe('StatefulSet rolling update with maxUnavailable', () => {
  const base = { updateRevision: 'v2', partition: 0, isHealthy };
  it('deletes up to maxUnavailable old pods, highest ordinal first', () => {
    const replicas = [pod(0, 'v1'), pod(1, 'v1'), pod(2, 'v1'), pod(3, 'v1')];
    assert.deepEqual(names(podsToUpdate(replicas, { ...base, maxUnavailable: 2 })), [
      'web-3',
      'web-2',
    ]);
  });
  it('counts pods already unavailable against the budget', () => {
    const replicas = [pod(0, 'v1'), pod(1, 'v1'), pod(2, 'v2', false), pod(3, 'v2')];
    assert.deepEqual(names(podsToUpdate(replicas, { ...base, maxUnavailable: 2 })), ['web-1']);
  });
  it('counts a missing ordinal as unavailable', () => {
    const replicas = [pod(0, 'v1'), undefined, pod(2, 'v1')];
    assert.deepEqual(names(podsToUpdate(replicas, { ...base, maxUnavailable: 1 })), []);
  });
  it('skips terminating pods and those already at the update revision', () => {
    const replicas = [pod(0, 'v1'), pod(1, 'v1'), pod(2, 'v2'), pod(3, 'v1', true, true)];
    // web-3 terminating is unavailable (1 of 3): two more may go, web-2 is current.
    assert.deepEqual(names(podsToUpdate(replicas, { ...base, maxUnavailable: 3 })), [
      'web-1',
      'web-0',
    ]);
  });
  it('stops at the partition', () => {
    const replicas = [pod(0, 'v1'), pod(1, 'v1'), pod(2, 'v1'), pod(3, 'v1')];
    assert.deepEqual(names(podsToUpdate(replicas, { ...base, partition: 3, maxUnavailable: 4 })), [
      'web-3',
    ]);
  });
});
