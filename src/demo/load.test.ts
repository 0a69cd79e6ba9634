// Tests of the load figures: ab's report parsed, including an interrupted (Ctrl-C) run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shellQuote } from './kubectl.js';
import { parseAbReport } from './load.js';

const abReport = `This is ApacheBench, Version 2.3 <$Revision: 1903618 $>
Benchmarking 127.0.0.1 (be patient)
Completed 1000 requests

Server Software:        Werkzeug/2.2.2
Document Path:          /
Document Length:        65 bytes

Concurrency Level:      50
Time taken for tests:   34.616 seconds
Complete requests:      10000
Failed requests:        0
Total transferred:      2190000 bytes
Requests per second:    288.88 [#/sec] (mean)
`;

test('parses the figures of an ab report', () => {
  assert.deepEqual(parseAbReport(abReport), {
    requests: 10000,
    failed: 0,
    requestsPerSecond: 288.88,
    seconds: 34.616,
  });
});

test('non-2xx answers count as failed; text without a report gives undefined', () => {
  const r = parseAbReport(
    abReport.replace(
      'Failed requests:        0',
      'Failed requests:        2\nNon-2xx responses:      5',
    ),
  );
  assert.equal(r?.failed, 7);
  assert.equal(parseAbReport('ab: invalid URL'), undefined);
});

test('commands are shown quoted as a user would type them', () => {
  assert.equal(shellQuote('--rule=/=hello-world-flask:5000'), '--rule=/=hello-world-flask:5000');
  assert.equal(shellQuote('killall python3'), "'killall python3'");
  assert.equal(shellQuote(`it's`), `"it's"`);
});
