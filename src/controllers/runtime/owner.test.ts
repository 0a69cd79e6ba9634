import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../lib/clock.js';
import { ControllerExpectations, expectationsTimeoutMs } from './expectations.js';
import { slowStartBatch } from './owner.js';

describe('slowStartBatch', () => {
  it('runs batches of 1, 2, 4, … and stops after a batch with a failure', async () => {
    const batches: number[] = [];
    let inFlight = 0;
    let calls = 0;
    const fn = async () => {
      const call = ++calls;
      if (++inFlight === 1) batches.push(0);
      batches[batches.length - 1]!++;
      await Promise.resolve();
      inFlight--;
      if (call === 5) throw new Error('quota');
    };
    const res = await slowStartBatch(10, 1, fn);
    assert.deepEqual(batches, [1, 2, 4], 'the failing batch of 4 finishes, then no more');
    assert.equal(calls, 7);
    assert.equal(res.successes, 6);
    assert.match(String(res.error), /quota/);
  });
  it('creates everything when nothing fails', async () => {
    let calls = 0;
    const res = await slowStartBatch(10, 1, async () => {
      calls++;
    });
    assert.equal(calls, 10);
    assert.deepEqual(res, { successes: 10 });
  });
});

describe('ControllerExpectations', () => {
  it('is satisfied once every expected creation and deletion was observed', () => {
    const e = new ControllerExpectations({ clock: new FakeClock() });
    assert.equal(e.satisfiedExpectations('k'), true);
    e.expectCreations('k', 2);
    e.creationObserved('k');
    assert.equal(e.satisfiedExpectations('k'), false);
    e.creationObserved('k');
    e.creationObserved('k');
    assert.deepEqual(e.pending('k'), { add: 0, del: 0 });
    assert.equal(e.satisfiedExpectations('k'), true);
    e.expectDeletions('k', ['ns/a', 'ns/b']);
    e.deletionObserved('k', 'ns/a');
    e.deletionObserved('k', 'ns/a');
    assert.equal(e.satisfiedExpectations('k'), false);
    e.deletionObserved('k', 'ns/b');
    assert.equal(e.satisfiedExpectations('k'), true);
  });
  it('expires after five minutes so a lost event cannot wedge the controller', () => {
    const clock = new FakeClock();
    const e = new ControllerExpectations({ clock });
    e.expectCreations('k', 1);
    clock.advance(expectationsTimeoutMs);
    assert.equal(e.satisfiedExpectations('k'), false);
    clock.advance(1);
    assert.equal(e.satisfiedExpectations('k'), true);
  });
});
