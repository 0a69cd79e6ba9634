// Tests of BoundedFrequencyRunner with a fake clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedFrequencyRunner } from './bounded-frequency-runner.js';
import { FakeClock } from './clock.js';

test('coalesces requests inside minInterval and resyncs at maxInterval', async () => {
  const clock = new FakeClock(0);
  let runs = 0;
  const r = new BoundedFrequencyRunner({
    fn: () => {
      runs++;
    },
    minIntervalMs: 100,
    maxIntervalMs: 1000,
    clock,
  });
  r.start();
  r.run();
  assert.equal(runs, 1, 'first request runs at once');
  await r.idle();
  r.run();
  r.run();
  r.run();
  assert.equal(runs, 1, 'requests inside minInterval wait');
  clock.advance(100);
  await r.idle();
  assert.equal(runs, 2, 'coalesced into one run');
  clock.advance(1000);
  await r.idle();
  assert.equal(runs, 3, 'periodic resync');
  await r.stop();
  clock.advance(5000);
  r.run();
  assert.equal(runs, 3, 'nothing after stop');
});

test('a request during a run schedules exactly one more run', async () => {
  const clock = new FakeClock(0);
  let runs = 0;
  let release: () => void = () => undefined;
  const r = new BoundedFrequencyRunner({
    fn: () => {
      runs++;
      return new Promise<void>((res) => {
        release = res;
      });
    },
    minIntervalMs: 0,
    maxIntervalMs: 0,
    clock,
  });
  r.start();
  r.run();
  r.run();
  r.run();
  assert.equal(runs, 1);
  release();
  await new Promise((res) => setImmediate(res));
  assert.equal(runs, 2);
  release();
  await r.stop();
});
