import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import type { StoreEvent } from './backend.js';
import { eventPrefix, lastWriteMs, startEventExpiry } from './event-ttl.js';
import { MemoryBackend } from './memory/memory-backend.js';

const t0 = Date.parse('2026-12-06T08:00:00Z');
const ev = (name: string, at: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    kind: 'Event',
    metadata: { name, namespace: 'default', creationTimestamp: new Date(at).toISOString() },
    ...extra,
  });

test('lastWriteMs: the newest of the times an Event carries', () => {
  const created = new Date(t0).toISOString();
  const later = new Date(t0 + 5000).toISOString();
  assert.equal(lastWriteMs(ev('a', t0)), t0);
  assert.equal(lastWriteMs(ev('a', t0, { lastTimestamp: later })), t0 + 5000);
  assert.equal(lastWriteMs(ev('a', t0, { series: { lastObservedTime: later } })), t0 + 5000);
  assert.equal(lastWriteMs(ev('a', t0, { eventTime: later, lastTimestamp: created })), t0 + 5000);
  assert.equal(lastWriteMs('{"kind":"Event"}'), undefined);
  assert.equal(lastWriteMs('not json'), undefined);
});

test('an Event is deleted one TTL after its last write, not after its creation', () => {
  const clock = new FakeClock(t0);
  const b = new MemoryBackend();
  const seen: StoreEvent[] = [];
  b.watch(eventPrefix, 0, (e) => seen.push(e));
  const stop = startEventExpiry(b, { clock, ttlMs: 10_000, sweepEveryMs: 1000 });
  const a = b.create(`${eventPrefix}default/a`, ev('a', t0));
  b.create(`${eventPrefix}default/b`, ev('b', t0));
  b.create('/registry/core/pods/default/p', '{}');
  clock.advance(6000);
  // A repeat of "a" (count bumped): its clock starts again.
  b.update(`${eventPrefix}default/a`, ev('a', t0, { count: 2 }), a.modRevision);
  clock.advance(5000);
  assert.equal(b.get(`${eventPrefix}default/b`), undefined, 'b expired 10 s after its write');
  assert.ok(b.get(`${eventPrefix}default/a`), 'a was written again 5 s ago');
  assert.ok(b.get('/registry/core/pods/default/p'), 'only Events expire');
  clock.advance(6000);
  assert.equal(b.get(`${eventPrefix}default/a`), undefined, 'a expired 10 s after its repeat');
  assert.deepEqual(
    seen.filter((e) => e.type === 'delete').map((e) => e.kv.key),
    [`${eventPrefix}default/b`, `${eventPrefix}default/a`],
    'watchers saw both deletes',
  );
  stop();
  assert.equal(clock.pendingTimers, 0);
  b.close();
});

test('Events stored before the start expire by their own timestamps, at most one TTL from now', () => {
  const clock = new FakeClock(t0);
  const b = new MemoryBackend();
  b.create(`${eventPrefix}default/old`, ev('old', t0 - 9000));
  b.create(`${eventPrefix}default/fresh`, ev('fresh', t0 - 1000));
  b.create(`${eventPrefix}default/future`, ev('future', t0 + 3_600_000));
  b.create(`${eventPrefix}default/unparsable`, 'not json');
  const stop = startEventExpiry(b, { clock, ttlMs: 10_000, sweepEveryMs: 1000 });
  clock.advance(2000);
  assert.equal(b.get(`${eventPrefix}default/old`), undefined, 'written 9 s before the start');
  assert.ok(b.get(`${eventPrefix}default/fresh`));
  clock.advance(8000);
  assert.deepEqual(
    b.list(eventPrefix).items.map((kv) => kv.key),
    [],
    'a future or missing timestamp counts as written at the start',
  );
  stop();
  b.close();
});

test('a backlog of expired Events is deleted in batches, a second apart', () => {
  const clock = new FakeClock(t0);
  const b = new MemoryBackend();
  for (let i = 0; i < 25; i++) b.create(`${eventPrefix}default/e${i}`, ev(`e${i}`, t0 - 7_200_000));
  const count = () => b.list(eventPrefix).items.length;
  const stop = startEventExpiry(b, {
    clock,
    ttlMs: 3_600_000,
    sweepEveryMs: 60_000,
    maxDeletesPerSweep: 10,
  });
  clock.advance(60_000);
  assert.equal(count(), 15, 'the first sweep deletes 10');
  clock.advance(1000);
  assert.equal(count(), 5, 'the next batch follows a second later');
  clock.advance(1000);
  assert.equal(count(), 0);
  stop();
  b.close();
});
