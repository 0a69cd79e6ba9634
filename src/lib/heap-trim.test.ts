import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './clock.js';
import { fullCollection, oldGenerationBytes, startHeapTrim } from './heap-trim.js';

/** A heap whose old generation the test sets; a collection brings it back to `live`. */
function fakeHeap(start: number) {
  const h = { used: start, live: start, collections: 0 };
  return {
    h,
    read: () => h.used,
    collect: () => {
      h.collections++;
      h.used = h.live;
    },
  };
}

test('collects once the old generation grew past the step over the last low point', () => {
  const clock = new FakeClock(0);
  const { h, read, collect } = fakeHeap(20);
  const seen: { beforeBytes: number; afterBytes: number }[] = [];
  const stop = startHeapTrim({
    clock,
    growthBytes: 4,
    everyMs: 1000,
    collect,
    oldBytes: read,
    onCollect: (c) => seen.push(c),
  });
  h.used = 24; // exactly the step: not yet
  clock.advance(1000);
  assert.equal(h.collections, 0);
  h.used = 25;
  clock.advance(1000);
  assert.equal(h.collections, 1);
  assert.deepEqual(
    seen.map((c) => [c.beforeBytes, c.afterBytes]),
    [[25, 20]],
  );
  stop();
  h.used = 100;
  clock.advance(5000);
  assert.equal(h.collections, 1, 'stopped: no more checks');
  assert.equal(clock.pendingTimers, 0);
});

test("V8's own collections lower the point growth is measured from", () => {
  const clock = new FakeClock(0);
  const { h, read, collect } = fakeHeap(30);
  const stop = startHeapTrim({ clock, growthBytes: 4, everyMs: 1000, collect, oldBytes: read });
  h.used = 22; // V8 collected by itself
  clock.advance(1000);
  h.used = 27; // 5 over the new low point, 3 under the start
  clock.advance(1000);
  assert.equal(h.collections, 1);
  stop();
});

test('an idle heap is never collected', () => {
  const clock = new FakeClock(0);
  const { h, read, collect } = fakeHeap(30);
  const stop = startHeapTrim({ clock, growthBytes: 4, everyMs: 1000, collect, oldBytes: read });
  clock.advance(60_000);
  assert.equal(h.collections, 0);
  stop();
});

test('the real collection runs and the old generation is measured', () => {
  const gc = fullCollection();
  assert.equal(typeof gc, 'function');
  gc();
  assert.ok(oldGenerationBytes() > 1_000_000);
});
