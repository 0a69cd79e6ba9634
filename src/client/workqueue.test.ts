import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { ItemExponentialFailureRateLimiter, WorkQueue } from './workqueue.js';

describe('WorkQueue', () => {
  it('deduplicates an item added several times before it is processed', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('does not hand out an item that is processing; re-queues it on done', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    const item = await q.get();
    q.add('a');
    assert.equal(q.length, 0, 'item must wait until done()');
    q.done(item!);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    assert.equal(q.length, 0);
  });

  it('wakes a waiting getter on add', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    const p = q.get();
    q.add('x');
    assert.equal(await p, 'x');
  });

  it('addAfter fires on the clock and keeps the earliest time', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('a', 100);
    q.addAfter('a', 50);
    q.addAfter('a', 200);
    assert.equal(q.waitingCount, 1);
    clock.advance(49);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  it('addRateLimited backs off exponentially per item and forget resets it', () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addRateLimited('a');
    clock.advance(4);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1, 'first retry after 5 ms');
    q.addRateLimited('b');
    q.addRateLimited('b');
    assert.equal(q.numRequeues('b'), 2);
    q.forget('b');
    assert.equal(q.numRequeues('b'), 0);
  });

  it('shutDown releases getters with undefined and ignores later adds', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const p = q.get();
    q.addAfter('late', 10);
    q.shutDown();
    assert.equal(await p, undefined);
    q.add('x');
    assert.equal(await q.get(), undefined);
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('ItemExponentialFailureRateLimiter', () => {
  const cases: { name: string; failures: number; want: number }[] = [
    { name: 'first failure waits the base delay', failures: 1, want: 5 },
    { name: 'fourth failure waits base·2^3', failures: 4, want: 40 },
    { name: 'many failures are capped at 1000 s', failures: 40, want: 1_000_000 },
    { name: 'overflowing exponents stay capped', failures: 1100, want: 1_000_000 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rl = new ItemExponentialFailureRateLimiter<string>();
      let last = 0;
      for (let i = 0; i < c.failures; i++) last = rl.when('k');
      assert.equal(last, c.want);
    });
  }
});
