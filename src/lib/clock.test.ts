import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock, scaledClock } from './clock.js';

test('scaledClock runs faster from its creation and never jumps', () => {
  const base = new FakeClock(1_000_000);
  const fast = scaledClock(base, 60);
  assert.equal(fast.now(), 1_000_000, 'starts at the base time');
  base.advance(1000);
  assert.equal(fast.now(), 1_000_000 + 60_000, 'one base second is a scaled minute');
});

test('scaledClock timers fire after the scaled delay in base time', () => {
  const base = new FakeClock(0);
  const fast = scaledClock(base, 60);
  let fired = 0;
  fast.setTimeout(() => fired++, 60_000);
  base.advance(999);
  assert.equal(fired, 0);
  base.advance(1);
  assert.equal(fired, 1);
});

test('scaledClock sleeps in scaled time and honours abort', async () => {
  const base = new FakeClock(0);
  const fast = scaledClock(base, 10);
  const slept = fast.sleep(10_000);
  base.advance(1000);
  await slept;
  const ac = new AbortController();
  const aborted = fast.sleep(10_000, ac.signal);
  ac.abort(new Error('stop'));
  await assert.rejects(aborted, /stop/);
});

test('scaledClock rejects rates below 1 and non-numbers', () => {
  for (const rate of [0, 0.5, -2, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => scaledClock(new FakeClock(0), rate), RangeError);
  }
});
