// Tests for revision helpers: prefix ranges, compaction target choice, and the periodic compactor.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { MemoryBackend } from './memory/memory-backend.js';
import { pickCompactRevision, prefixEnd, startCompactor } from './revisions.js';

test('prefixEnd bounds exactly the keys with the prefix', () => {
  const end = prefixEnd('/registry/pods/');
  assert.ok('/registry/pods/zzz' < end);
  assert.ok('/registry/pods0' >= end);
  assert.ok('/registry/podsx' >= end);
  assert.ok('/anything' < prefixEnd(''));
});

test('pickCompactRevision keeps the retained window and everything newer than notAfter', () => {
  const cases: [string, Parameters<typeof pickCompactRevision>[0], number | undefined][] = [
    ['too few revisions', { current: 50, compacted: 0, retainRevisions: 100 }, undefined],
    ['keeps the newest N', { current: 500, compacted: 0, retainRevisions: 100 }, 400],
    [
      'never past notAfter',
      { current: 500, compacted: 0, retainRevisions: 100, notAfter: 250 },
      250,
    ],
    ['nothing new to compact', { current: 500, compacted: 400, retainRevisions: 100 }, undefined],
  ];
  for (const [name, input, want] of cases) assert.equal(pickCompactRevision(input), want, name);
});

test('startCompactor compacts on each interval to the revision current one interval ago', () => {
  const clock = new FakeClock(0);
  const b = new MemoryBackend();
  let kv = b.create('/k', '0');
  const write = (n: number) => {
    for (let i = 0; i < n; i++) kv = b.update('/k', String(i), kv.modRevision);
  };
  write(20);
  const stop = startCompactor(b, { clock, intervalMs: 1000, retainRevisions: 5 });
  clock.advance(1000);
  // Revision 21 was current when the compactor started: everything up to 16 may go.
  assert.equal(b.compactRevision(), 16);
  write(100);
  clock.advance(1000);
  assert.equal(b.compactRevision(), 21, 'revisions newer than one interval are kept');
  stop();
  assert.equal(clock.pendingTimers, 0);
  b.close();
});
