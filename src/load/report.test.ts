// Tests of the ab-style report and the progress output of `skiff load`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LoadResult } from './engine.js';
import { formatProgressBar, formatReport, progressLines } from './report.js';

const result: LoadResult = {
  url: 'http://127.0.0.1/',
  hostname: '127.0.0.1',
  port: 80,
  path: '/',
  serverSoftware: 'Werkzeug/2.2.2',
  documentLength: 65,
  concurrency: 50,
  requested: 100,
  keepAlive: false,
  elapsedMs: 2000,
  complete: 100,
  failed: 3,
  failures: { connect: 1, reset: 2, timeout: 0, other: 0 },
  non2xx: 4,
  statusCodes: { '200': 93, '503': 4 },
  totalBytes: 20480,
  bodyBytes: 6500,
  requestsPerSecond: 50,
  timePerRequestMs: 1000,
  timePerRequestAcrossMs: 20,
  transferRateKBps: 10,
  latency: {
    min: 1.5,
    mean: 10.25,
    sd: 2,
    median: 9.125,
    max: 40.5,
    percentiles: {
      '50': 9.125,
      '66': 10,
      '75': 11,
      '80': 12,
      '90': 15,
      '95': 20,
      '98': 30,
      '99': 35,
      '100': 40.5,
    },
  },
  pods: { 'web-1-a': 60, 'web-1-b': 33 },
  errorSamples: { ECONNRESET: 2, ECONNREFUSED: 1 },
  stoppedBy: 'count',
};

describe('formatReport', () => {
  const text = formatReport(result);
  const expected = [
    'Server Software:        Werkzeug/2.2.2',
    'Document Length:        65 bytes',
    'Concurrency Level:      50',
    'Time taken for tests:   2.000 seconds',
    'Complete requests:      100',
    'Failed requests:        3',
    '   (Connect: 1, Reset: 2, Timeout: 0, Other: 0)',
    'Non-2xx responses:      4',
    '   (503: 4)',
    'Requests per second:    50.00 [#/sec] (mean)',
    'Time per request:       1000.000 [ms] (mean)',
    'Time per request:       20.000 [ms] (mean, across all concurrent requests)',
    '   50%      9.125',
    '  100%     40.500 (longest request)',
    '  web-1-a         60   64.5%',
  ];
  for (const line of expected) {
    test(`has "${line.trim()}"`, () => assert.ok(text.split('\n').includes(line), text));
  }
});

describe('progress', () => {
  test('the bar shows the share done, the rate and failures', () => {
    const bar = formatProgressBar({ done: 50, failed: 1, target: 100, elapsedMs: 1000 }, 10);
    assert.equal(bar, '[====>     ]  50%  50/100 req  50 req/s  1 failed  1.0s');
  });
  test('with -t the bar follows the time limit', () => {
    const bar = formatProgressBar(
      { done: 10, failed: 0, target: 50_000, elapsedMs: 3000, timeLimitMs: 4000 },
      4,
    );
    assert.ok(bar.startsWith('[==> ]  75%  10 req'), bar);
  });
  test('plain lines say "Completed N requests" at each tenth, like ab', () => {
    const next = progressLines();
    assert.deepEqual(next({ done: 250, failed: 0, target: 1000, elapsedMs: 1 }), [
      'Completed 100 requests',
      'Completed 200 requests',
    ]);
    assert.deepEqual(next({ done: 299, failed: 0, target: 1000, elapsedMs: 2 }), []);
    assert.equal(next({ done: 1000, failed: 0, target: 1000, elapsedMs: 3 }).length, 8);
  });
});
