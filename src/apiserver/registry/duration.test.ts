// Table tests for HumanDuration (the AGE column format).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanDuration, timestampSince } from './duration.js';

describe('humanDuration', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const cases: [number, string][] = [
    [0, '0s'],
    [-500, '0s'],
    [-5 * s, '<invalid>'],
    [45 * s, '45s'],
    [59 * s, '59s'],
    [119 * s, '119s'],
    [2 * m + 5 * s, '2m5s'],
    [3 * m + 38 * s, '3m38s'],
    [9 * m, '9m'],
    [179 * m, '179m'],
    [3 * h + 5 * m, '3h5m'],
    [7 * h, '7h'],
    [8 * h, '8h'],
    [47 * h, '47h'],
    [2 * d + 3 * h, '2d3h'],
    [3 * d + 4 * h, '3d4h'],
    [60 * d, '60d'],
    [365 * 3 * d, '3y'],
    [365 * 2 * d + 10 * d, '2y10d'],
    [365 * 9 * d, '9y'],
  ];
  for (const [ms, want] of cases)
    it(`${ms}ms → ${want}`, () => assert.equal(humanDuration(ms), want));

  it('measures timestamps against now and marks missing ones unknown', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    assert.equal(timestampSince('2026-01-01T00:00:00Z', now), '60s');
    assert.equal(timestampSince(undefined, now), '<unknown>');
  });
});
