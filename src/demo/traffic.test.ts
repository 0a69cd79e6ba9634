// Tests of the request loop against a local server that answers like two seed pods, and of the
// traffic summary.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { FakeClock, realClock } from '../lib/clock.js';
import { RequestLoop, type RequestRecord, summarizeTraffic } from './traffic.js';

test('summarizeTraffic counts failures, answers per pod and the alternation order', () => {
  const r = (at: number, pod?: string): RequestRecord => ({
    at,
    doneAt: at + 1,
    ok: pod !== undefined,
    pod,
    error: pod ? undefined : 'connect ECONNREFUSED',
  });
  assert.deepEqual(summarizeTraffic([r(1, 'a'), r(2, 'b'), r(3, 'b'), r(4), r(5, 'a')]), {
    sent: 5,
    failed: 1,
    byPod: { a: 2, b: 2 },
    sequence: ['a', 'b', 'a'],
  });
});

test('the loop sends at its rate, reads the pod name and records failures', async (t) => {
  let n = 0;
  const server = http.createServer((_req, res) => {
    n++;
    if (n === 3) {
      res.writeHead(503).end('Service Temporarily Unavailable');
      return;
    }
    const pod = n % 2 ? 'hello-world-flask-56fbff68c8-2xz7w' : 'hello-world-flask-56fbff68c8-4f9qz';
    res.end(`Hello, my first docker images! ${pod}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const loop = new RequestLoop({ url: `http://127.0.0.1:${port}/`, rate: 50, clock: realClock });
  loop.start();
  await realClock.sleep(300);
  await loop.stop();
  const sum = summarizeTraffic(loop.records);
  assert.ok(sum.sent >= 4 && sum.sent <= 20, `sent ${sum.sent} requests in 300 ms at 50/s`);
  assert.equal(sum.failed, 1);
  assert.equal(loop.records.find((x) => !x.ok)?.error, 'HTTP 503');
  assert.deepEqual(Object.keys(sum.byPod).sort(), [
    'hello-world-flask-56fbff68c8-2xz7w',
    'hello-world-flask-56fbff68c8-4f9qz',
  ]);
  assert.deepEqual(loop.between(Number.POSITIVE_INFINITY), []);
});

test('a refused connection is a failed request, not a crash', async () => {
  const clock = new FakeClock();
  const loop = new RequestLoop({ url: 'http://127.0.0.1:1/', rate: 10, clock });
  loop.start();
  await loop.stop();
  assert.equal(loop.records.length, 1);
  assert.equal(loop.records[0]?.ok, false);
  assert.match(loop.records[0]?.error ?? '', /ECONNREFUSED/);
});
