// Tests of the pure figure derivations: heal time, scale-up, settled scale-up, scale-down.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { healTimes, isScaledDown, isScaleUpSettled, scaleUp } from './analysis.js';
import type { PodView, Sample } from './sampler.js';

const pod = (name: string, ready = true, restarts = 0, deleting = false): PodView => ({
  name,
  ready,
  restarts,
  phase: 'Running',
  deleting,
});
const at = (t: number, pods: PodView[], extra: Partial<Sample> = {}): Sample => ({
  at: t,
  pods,
  specReplicas: 2,
  ...extra,
});

describe('healTimes', () => {
  test('finds the first not-Ready sample and the first Ready one with a new restart', () => {
    const samples = [
      at(900, [pod('a'), pod('b')]),
      at(1250, [pod('a'), pod('b')]),
      at(1500, [pod('a', false, 0), pod('b')]),
      at(1750, [pod('a', false, 1), pod('b')]),
      at(2250, [pod('a', true, 1), pod('b')]),
    ];
    assert.deepEqual(healTimes(samples, 'a', 1000, 0), { notReadyAt: 1500, healedAt: 2250 });
  });

  test('a restart seen before readiness dropped counts as the failure being noticed', () => {
    const samples = [at(1100, [pod('a', true, 1)])];
    assert.deepEqual(healTimes(samples, 'a', 1000, 0), { notReadyAt: 1100, healedAt: 1100 });
  });

  test('no heal when the pod never comes back', () => {
    const samples = [at(1100, [pod('a', false, 1)])];
    assert.equal(healTimes(samples, 'a', 1000, 0).healedAt, undefined);
  });
});

describe('scaleUp', () => {
  const initial = new Set(['a', 'b']);
  test('decision, first new Ready pod and peaks are taken after the load start only', () => {
    const samples = [
      at(0, [pod('a'), pod('b'), pod('old', true)], { specReplicas: 9, hpaDesired: 9 }),
      at(1000, [pod('a'), pod('b')], { hpaDesired: 2 }),
      at(2000, [pod('a'), pod('b')], { hpaDesired: 6 }),
      at(2500, [pod('a'), pod('b'), pod('c', false)], { specReplicas: 6, hpaDesired: 6 }),
      at(5000, [pod('a'), pod('b'), pod('c'), pod('d', false)], { specReplicas: 6 }),
      at(6000, [pod('a'), pod('b'), pod('c'), pod('d'), pod('e', true, 0, true)], {
        specReplicas: 4,
      }),
    ];
    assert.deepEqual(scaleUp(samples, 1000, 2, initial), {
      decisionAt: 2000,
      firstNewPodReadyAt: 5000,
      firstNewPod: 'c',
      peakReplicas: 6,
      peakReadyPods: 4,
    });
  });

  test('no scale-up leaves the figures empty', () => {
    const r = scaleUp([at(1000, [pod('a'), pod('b')])], 0, 2, initial);
    assert.deepEqual(r, { peakReplicas: 2, peakReadyPods: 2 });
  });
});

describe('isScaleUpSettled', () => {
  const initial = new Set(['a', 'b']);
  const opts = (now: number) => ({
    loadStart: 0,
    now,
    max: 10,
    initialPods: initial,
    settleMs: 8000,
  });
  const grow = [
    at(1000, [pod('a'), pod('b')], { specReplicas: 4 }),
    at(3000, [pod('a'), pod('b'), pod('c'), pod('d')], { specReplicas: 4 }),
  ];

  test('not before a new pod has been Ready for the settle time', () => {
    assert.equal(isScaleUpSettled(grow, opts(10_000)), false);
  });

  test('settled when a new pod is Ready and the count held for the settle time', () => {
    const s = [...grow, at(11_000, grow[1]!.pods, { specReplicas: 4 })];
    assert.equal(isScaleUpSettled(s, opts(11_000)), true);
  });

  test('a recent change of the replica count postpones it', () => {
    const s = [
      ...grow,
      at(9000, grow[1]!.pods, { specReplicas: 8 }),
      at(12_000, grow[1]!.pods, { specReplicas: 8 }),
    ];
    assert.equal(isScaleUpSettled(s, opts(12_000)), false);
    assert.equal(isScaleUpSettled(s, opts(17_000)), true);
  });

  test('settled at once at the maximum with every pod Ready', () => {
    const ten = Array.from({ length: 10 }, (_, i) => pod(`p${i}`));
    assert.equal(isScaleUpSettled([at(2000, ten, { specReplicas: 10 })], opts(2000)), true);
  });
});

describe('isScaledDown', () => {
  test('needs replicas 2 and no surplus pod left (terminating ones do not count)', () => {
    assert.equal(isScaledDown(at(0, [pod('a'), pod('b'), pod('c')]), 2), false);
    assert.equal(isScaledDown(at(0, [pod('a'), pod('b'), pod('c', true, 0, true)]), 2), true);
    assert.equal(isScaledDown(at(0, [pod('a'), pod('b')], { specReplicas: 3 }), 2), false);
    assert.equal(isScaledDown(at(0, [pod('a'), pod('b')], { hpaCurrent: 3 }), 2), false);
  });
});
