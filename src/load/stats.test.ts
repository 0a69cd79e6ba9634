// Table tests of the load statistics: nearest-rank percentiles, the summary, pod-name extraction.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { percentile, summarizeLatencies, trailingPodName } from './stats.js';

describe('percentile', () => {
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1.5);
  const cases: [number, number][] = [
    [50, 50.5],
    [66, 66.5],
    [99, 99.5],
    [100, 100.5],
    [1, 1.5],
  ];
  for (const [p, want] of cases) {
    test(`p${p} of 1.5..100.5 is ${want}`, () => assert.equal(percentile(sorted, p), want));
  }
  test('a single sample is every percentile', () => {
    assert.equal(percentile([7.25], 50), 7.25);
    assert.equal(percentile([7.25], 100), 7.25);
  });
  test('rounds the rank up (nearest rank)', () => assert.equal(percentile([1, 2, 3], 50), 2));
});

describe('summarizeLatencies', () => {
  test('sorts, keeps fractions and computes mean and sd over the first count values', () => {
    const l = new Float64Array([4.5, 1.25, 3, 2, 999]);
    const s = summarizeLatencies(l, 4);
    assert.ok(s);
    assert.equal(s.min, 1.25);
    assert.equal(s.max, 4.5);
    assert.equal(s.mean, 2.6875);
    assert.equal(s.median, 2);
    assert.equal(s.percentiles['100'], 4.5);
    assert.equal(s.percentiles['75'], 3);
    assert.ok(Math.abs(s.sd - 1.405) < 1e-3);
  });
  test('no samples gives no summary', () =>
    assert.equal(summarizeLatencies(new Float64Array(3), 0), undefined));
});

describe('trailingPodName', () => {
  const cases: [string, string | undefined][] = [
    [
      'Hello, my first docker images! hello-world-flask-56fbff68c8-2xz7w',
      'hello-world-flask-56fbff68c8-2xz7w',
    ],
    ['Hello, my first docker images! web-1\n', 'web-1'],
    ['<p>served by</p>pod-a.b', 'pod-a.b'],
    ['Hello World', undefined],
    ['ok', undefined],
    ['{"json": true}', undefined],
    ['', undefined],
  ];
  for (const [body, want] of cases) {
    test(`${JSON.stringify(body)} → ${want}`, () => assert.equal(trailingPodName(body), want));
  }
});
