// Table tests of HPA scaling behaviour: the no-behavior cap and window, policies, selectPolicy,
// stabilization windows and min/max limits, with time driven by a FakeClock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HorizontalPodAutoscalerBehavior } from 'kubernetes-types/autoscaling/v2.js';
import { FakeClock } from '../../lib/clock.js';
import {
  newScalingHistory,
  normalizeDesiredReplicas,
  normalizeDesiredReplicasWithBehaviors,
  recordInitialRecommendation,
  resolveBehavior,
  type ScalingHistory,
  storeScaleEvent,
} from './behavior.js';

const windowMs = 300_000;

test('no behavior: clamps to min/max and caps scale-up at max(2x current, 4)', () => {
  const cases = [
    { current: 2, desired: 10, min: 2, max: 10, want: 4, reason: 'ScaleUpLimit', limited: 'True' },
    {
      current: 5,
      desired: 20,
      min: 2,
      max: 10,
      want: 10,
      reason: 'TooManyReplicas',
      limited: 'True',
    },
    {
      current: 1,
      desired: 3,
      min: 1,
      max: 10,
      want: 3,
      reason: 'DesiredWithinRange',
      limited: 'False',
    },
    { current: 3, desired: 1, min: 2, max: 10, want: 2, reason: 'TooFewReplicas', limited: 'True' },
    {
      current: 8,
      desired: 12,
      min: 1,
      max: 20,
      want: 12,
      reason: 'DesiredWithinRange',
      limited: 'False',
    },
  ];
  for (const c of cases) {
    const clock = new FakeClock();
    const res = normalizeDesiredReplicas({
      history: newScalingHistory(),
      now: clock.now(),
      currentReplicas: c.current,
      desiredReplicas: c.desired,
      minReplicas: c.min,
      maxReplicas: c.max,
      downscaleStabilizationMs: windowMs,
    });
    assert.equal(res.desiredReplicas, c.want, JSON.stringify(c));
    assert.equal(res.scalingLimited.reason, c.reason);
    assert.equal(res.scalingLimited.status, c.limited);
  }
});

test('no behavior: scale-down waits for the stabilization window', () => {
  const clock = new FakeClock();
  const history = newScalingHistory();
  recordInitialRecommendation(history, 4, clock.now());
  const step = (desired: number) =>
    normalizeDesiredReplicas({
      history,
      now: clock.now(),
      currentReplicas: 4,
      desiredReplicas: desired,
      minReplicas: 1,
      maxReplicas: 10,
      downscaleStabilizationMs: windowMs,
    });
  clock.advance(60_000);
  const held = step(2);
  assert.equal(held.desiredReplicas, 4);
  assert.equal(held.ableToScale.reason, 'ScaleDownStabilized');
  clock.advance(239_000); // 299 s after the initial 4: still within the window
  assert.equal(step(2).desiredReplicas, 4);
  clock.advance(2_000); // 301 s: the 4 has aged out, every recent recommendation says 2
  const down = step(2);
  assert.equal(down.desiredReplicas, 2);
  assert.equal(down.ableToScale.reason, 'ReadyForNewScale');
  // The history reuses the aged-out slot rather than growing without bound.
  assert.equal(history.recommendations.length, 3);
});

function runner(behavior: HorizontalPodAutoscalerBehavior, min = 1, max = 10) {
  const clock = new FakeClock();
  const history: ScalingHistory = newScalingHistory();
  const resolved = resolveBehavior(behavior, 300);
  let current = 0;
  return {
    clock,
    history,
    set(n: number) {
      current = n;
    },
    /** One sync: normalizes, then applies and records the rescale like the controller. */
    sync(desired: number) {
      const res = normalizeDesiredReplicasWithBehaviors({
        history,
        now: clock.now(),
        behavior: resolved,
        currentReplicas: current,
        desiredReplicas: desired,
        minReplicas: min,
        maxReplicas: max,
      });
      if (res.desiredReplicas !== current) {
        storeScaleEvent({
          history,
          behavior: resolved,
          prevReplicas: current,
          newReplicas: res.desiredReplicas,
          now: clock.now(),
        });
        current = res.desiredReplicas;
      }
      return res;
    },
  };
}

test('default behavior: scale-up by max(+4 pods, +100%) per 15 s', () => {
  const r = runner({});
  r.set(2);
  const first = r.sync(10);
  assert.equal(first.desiredReplicas, 6);
  assert.deepEqual(first.scalingLimited, {
    status: 'True',
    reason: 'ScaleUpLimit',
    message: 'the desired replica count is increasing faster than the maximum scale rate',
  });
  r.clock.advance(5_000);
  assert.equal(r.sync(10).desiredReplicas, 6, 'the 15 s period still holds the +4');
  r.clock.advance(11_000);
  const later = r.sync(10);
  assert.equal(later.desiredReplicas, 10);
  assert.equal(later.scalingLimited.reason, 'DesiredWithinRange');
});

test('selectPolicy Min picks the smallest allowed change; Disabled forbids scaling', () => {
  const min = runner({
    scaleUp: {
      selectPolicy: 'Min',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    },
  });
  min.set(2);
  assert.equal(min.sync(10).desiredReplicas, 4);
  const off = runner({ scaleUp: { selectPolicy: 'Disabled' } });
  off.set(2);
  const res = off.sync(10);
  assert.equal(res.desiredReplicas, 2);
  assert.equal(res.scalingLimited.reason, 'ScaleUpLimit');
  const offDown = runner({
    scaleDown: { selectPolicy: 'Disabled', stabilizationWindowSeconds: 0 },
  });
  offDown.set(5);
  assert.equal(offDown.sync(1).desiredReplicas, 5);
});

test('scale-down policy limits the rate; min replicas bound it', () => {
  const r = runner(
    {
      scaleDown: {
        stabilizationWindowSeconds: 0,
        policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
      },
    },
    2,
  );
  r.set(5);
  const first = r.sync(1);
  assert.equal(first.desiredReplicas, 4);
  assert.equal(first.scalingLimited.reason, 'ScaleDownLimit');
  r.clock.advance(30_000);
  assert.equal(r.sync(1).desiredReplicas, 4, 'one pod per 60 s');
  r.clock.advance(31_000);
  assert.equal(r.sync(1).desiredReplicas, 3);
  r.clock.advance(61_000);
  const floor = r.sync(1);
  assert.equal(floor.desiredReplicas, 2);
  assert.equal(floor.scalingLimited.reason, 'TooFewReplicas');
});

test('default scale-down window keeps the highest recent recommendation', () => {
  const r = runner({});
  r.set(6);
  assert.equal(r.sync(6).desiredReplicas, 6);
  r.clock.advance(100_000);
  const held = r.sync(2);
  assert.equal(held.desiredReplicas, 6);
  assert.equal(held.ableToScale.reason, 'ScaleDownStabilized');
  r.clock.advance(201_000);
  assert.equal(r.sync(2).desiredReplicas, 2);
});

test('a scale-up stabilization window applies the lowest recent recommendation', () => {
  const r = runner({ scaleUp: { stabilizationWindowSeconds: 60 } });
  r.set(3);
  r.sync(3);
  r.clock.advance(10_000);
  const held = r.sync(8);
  assert.equal(held.desiredReplicas, 3);
  assert.equal(held.ableToScale.reason, 'ScaleUpStabilized');
  r.clock.advance(51_000);
  assert.equal(r.sync(8).desiredReplicas, 7, 'then +4 pods / +100% per 15 s');
});

test('resolveBehavior fills upstream defaults and the controller window', () => {
  assert.deepEqual(resolveBehavior({}, 120), {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: 120,
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    },
  });
});
