// Tests of the ingress traffic counters, the snapshot merge, the buffered access log and the
// status server's /stats, /healthz and 404 answers.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { BufferedLog } from './access-log.js';
import { mergeStats, TrafficStats } from './stats.js';
import { createStatusServer } from './status.js';

test('counts requests, errors (5xx and cut-off) and status classes', () => {
  const s = new TrafficStats({ clock: new FakeClock(0) });
  s.record(200, 1);
  s.record(204, 1);
  s.record(404, 1);
  s.record(503, 1);
  s.record(0, 1);
  const r = mergeStats([s.snapshot()]);
  assert.equal(r.requests, 5);
  assert.equal(r.errors, 2);
  assert.deepEqual(r.status, { '2xx': 2, '4xx': 1, '5xx': 1, failed: 1 });
});

test('percentiles are within 5% and only cover the window', () => {
  const clock = new FakeClock(0);
  const s = new TrafficStats({ clock, windowMs: 10_000 });
  for (let i = 1; i <= 100; i++) s.record(200, i);
  const r = mergeStats([s.snapshot()]);
  const near = (got: number, want: number) =>
    assert.ok(Math.abs(got - want) <= want * 0.05, `${got} ≈ ${want}`);
  near(r.latencyMs.p50, 50);
  near(r.latencyMs.p90, 90);
  near(r.latencyMs.p99, 99);
  clock.advance(5000);
  s.record(200, 1000);
  clock.advance(6000);
  // The first hundred left the 10 s window; only the 1000 ms one remains.
  const later = mergeStats([s.snapshot()]);
  near(later.latencyMs.p50, 1000);
  assert.equal(later.requests, 101, 'counters are cumulative');
  clock.advance(20_000);
  assert.deepEqual(mergeStats([s.snapshot()]).latencyMs, { p50: 0, p90: 0, p99: 0 });
});

test('snapshots of several workers add up', () => {
  const clock = new FakeClock(0);
  const a = new TrafficStats({ clock });
  const b = new TrafficStats({ clock });
  for (let i = 0; i < 90; i++) a.record(200, 1);
  for (let i = 0; i < 10; i++) b.record(502, 100);
  const r = mergeStats([a.snapshot(), b.snapshot()]);
  assert.equal(r.requests, 100);
  assert.equal(r.errors, 10);
  assert.deepEqual(r.status, { '2xx': 90, '5xx': 10 });
  assert.ok(r.latencyMs.p50 <= 1.05 && r.latencyMs.p99 >= 95);
});

test('the access log writes batches in order, on size or after flushMs', () => {
  const clock = new FakeClock(0);
  const chunks: string[] = [];
  const log = new BufferedLog({ write: (c) => chunks.push(c), clock, maxChars: 20, flushMs: 100 });
  log.push('one');
  log.push('two');
  assert.deepEqual(chunks, []);
  clock.advance(100);
  assert.deepEqual(chunks, ['one\ntwo\n']);
  log.push('a-long-line-of-20-chars');
  assert.deepEqual(chunks, ['one\ntwo\n', 'a-long-line-of-20-chars\n']);
  log.push('last');
  log.flush();
  log.flush();
  assert.deepEqual(chunks.at(-1), 'last\n');
  assert.equal(chunks.length, 3);
});

test('the status server answers /healthz, /stats and 404', async () => {
  let healthy = false;
  const s = new TrafficStats({ clock: new FakeClock(0) });
  s.record(200, 3);
  const server = createStatusServer({
    healthy: () => healthy,
    stats: async () => mergeStats([s.snapshot()]),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const get = (path: string) =>
    new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body,
              type: String(res.headers['content-type']),
            }),
          );
        })
        .on('error', reject);
    });
  try {
    assert.equal((await get('/healthz')).status, 503);
    healthy = true;
    assert.equal((await get('/healthz')).status, 200);
    const st = await get('/stats');
    assert.equal(st.status, 200);
    assert.equal(st.type, 'application/json');
    const body = JSON.parse(st.body) as { requests: number; status: Record<string, number> };
    assert.equal(body.requests, 1);
    assert.deepEqual(body.status, { '2xx': 1 });
    assert.equal((await get('/nope')).status, 404);
  } finally {
    server.close();
  }
});
