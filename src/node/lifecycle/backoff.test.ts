// CrashLoopBackOff timings driven by a FakeClock: a container that crashes one second after every
// start is restarted at once, then after 10 s, 20 s, 40 s … capped at 300 s; a long run resets it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../lib/clock.js';
import { ContainerBackOff } from './backoff.js';

/** Runs a crash loop: each attempt runs runMs(i), then the back-off decides the next start. */
function crashLoop(attempts: number, runMs: (i: number) => number): number[] {
  const clock = new FakeClock(0);
  const policy = new ContainerBackOff();
  const starts: number[] = [];
  const start = (i: number) => {
    starts.push(clock.now());
    if (i + 1 >= attempts) return;
    const ran = runMs(i);
    clock.setTimeout(() => clock.setTimeout(() => start(i + 1), policy.next(ran)), ran);
  };
  start(0);
  clock.advance(24 * 3600_000);
  return starts;
}

test('first restart is immediate, then 10 s doubling, capped at 300 s', () => {
  const starts = crashLoop(9, () => 1000);
  const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? 0) - 1000);
  assert.deepEqual(gaps, [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
});

test('a container that ran cleanly for more than 10 minutes starts over', () => {
  const runs = [1000, 1000, 1000, 11 * 60_000, 1000, 1000];
  const starts = crashLoop(7, (i) => runs[i] ?? 1000);
  const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? 0) - (runs[i] ?? 1000));
  assert.deepEqual(gaps, [0, 10_000, 20_000, 0, 10_000, 20_000]);
});
