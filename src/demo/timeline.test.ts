// Tests of the timeline: times relative to the start, live callback, formatting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { formatEntry, Timeline, type TimelineEntry } from './timeline.js';

test('entries carry seconds since the start and reach the live printer', () => {
  const clock = new FakeClock(1_000_000);
  const seen: TimelineEntry[] = [];
  const tl = new Timeline({ clock, onEntry: (e) => seen.push(e) });
  clock.advance(1234);
  tl.note('deploy', 'created');
  tl.figure('self-heal', 'healed in 4.8 s', 1_000_500);
  assert.deepEqual(seen, [
    { t: 1.234, step: 'deploy', kind: 'note', text: 'created' },
    { t: 0.5, step: 'self-heal', kind: 'figure', text: 'healed in 4.8 s' },
  ]);
  assert.equal(tl.entries.length, 2);
});

test('formatting aligns time and step, prefixes commands and indents output lines', () => {
  assert.equal(
    formatEntry({ t: 2.5, step: 'deploy', kind: 'command', text: 'kubectl get pods' }),
    '   2.50s  deploy      $ kubectl get pods',
  );
  assert.equal(
    formatEntry({ t: 12, step: 'deploy', kind: 'output', text: 'NAME\npod-a\n' }),
    '  12.00s  deploy        NAME\n                        pod-a',
  );
});
