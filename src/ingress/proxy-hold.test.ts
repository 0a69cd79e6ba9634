// Tests of the ingress holding requests while no endpoint is ready (issue #8): wait for endpoints
// within the budget, 503 at once for a Service without endpoints, an upstream that dies between
// its headers and its body is retried, and requests before the first sync wait for it.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { EndpointPicker } from '../api/endpoint-picker.js';
import { FakeClock } from '../lib/clock.js';
import { IngressProxy } from './proxy.js';
import type { RouteBackend } from './routes.js';
import { TrafficStats } from './stats.js';
import { routeTo, wakeable } from './testing.js';

const ep = (port: number) => ({
  ip: '127.0.0.1',
  port,
  ready: true,
  serving: true,
  terminating: false,
});

/** A GET through the proxy; status -1 when the connection failed. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: -1, body }));
    });
    req.on('error', () => resolve({ status: -1, body: '' }));
  });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** Resolves once `cond` holds, checking on each turn of the event loop (bounded). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition never held');
}

describe('IngressProxy holding requests', async () => {
  const clock = new FakeClock();
  const ok = http.createServer((_req, res) => res.end('ok'));
  const okPort = await listen(ok);
  // Sends its headers, then dies before the body (a killed app between two writes).
  const dying = net.createServer((s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
      setImmediate(() => s.resetAndDestroy());
    });
  });
  const dyingPort = await listen(dying);
  const pickers: Record<string, EndpointPicker> = {
    web: new EndpointPicker(),
    gone: new EndpointPicker(),
    flaky: new EndpointPicker(),
  };
  pickers.flaky?.setEndpoints([ep(dyingPort), ep(okPort)]);
  const waiting = new Set<() => void>();
  const stats = new TrafficStats({ clock });
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((r) => {
    markSynced = r;
  });
  const proxy = new IngressProxy({
    routes: () => routeTo('web', 'gone', 'flaky'),
    pickerFor: (b) => pickers[b.service],
    clock,
    stats,
    endpointWaitMs: 10_000,
    mayWait: (b: RouteBackend) => b.service !== 'gone',
    endpointsChanged: wakeable(waiting, clock),
    synced,
  });
  const server = http.createServer();
  proxy.attach(server);
  const port = await listen(server);
  after(() => {
    proxy.close();
    server.closeAllConnections();
    server.close();
    ok.closeAllConnections();
    ok.close();
    dying.close();
  });

  test('a request before the first sync waits for it', async () => {
    pickers.web?.setEndpoints([ep(okPort)]);
    const r = get(port, '/web');
    await new Promise((res) => setTimeout(res, 20));
    markSynced();
    assert.deepEqual(await r, { status: 200, body: 'ok' });
  });

  test('waits while no endpoint is ready and is served once one is', async () => {
    pickers.web?.setEndpoints([]);
    const r = get(port, '/web');
    await until(() => waiting.size === 1);
    clock.advance(5_000);
    pickers.web?.setEndpoints([ep(okPort)]);
    for (const wake of [...waiting]) wake();
    assert.deepEqual(await r, { status: 200, body: 'ok' });
    assert.equal(stats.snapshot().events?.held, 1);
  });

  test('503 once the wait budget is spent', async () => {
    pickers.web?.setEndpoints([]);
    const r = get(port, '/web');
    await until(() => waiting.size === 1);
    // Endpoints change, but none is ready: the request keeps waiting on the same deadline.
    for (const wake of [...waiting]) wake();
    await until(() => waiting.size === 1);
    clock.advance(10_000);
    assert.equal((await r).status, 503);
    assert.equal(stats.snapshot().events?.holdExpired, 1);
  });

  test('503 at once for a Service without endpoints (nothing to wait for)', async () => {
    assert.equal((await get(port, '/gone')).status, 503);
    assert.equal(waiting.size, 0);
  });

  test('an upstream dying between its headers and its body is retried on another endpoint', async () => {
    const before = stats.snapshot().events?.reset ?? 0;
    // Two requests: the balancer starts one of them on the dying endpoint.
    const rs = await Promise.all([get(port, '/flaky'), get(port, '/flaky')]);
    assert.deepEqual(rs, [
      { status: 200, body: 'ok' },
      { status: 200, body: 'ok' },
    ]);
    assert.equal((stats.snapshot().events?.reset ?? 0) - before, 1);
  });

  test('after every endpoint failed, a new round starts once the endpoints change', async () => {
    const refused = net.createServer();
    const refusedPort = await listen(refused);
    await new Promise<void>((r) => refused.close(() => r()));
    pickers.web?.setEndpoints([ep(refusedPort)]);
    const r = get(port, '/web');
    await until(() => waiting.size === 1);
    pickers.web?.setEndpoints([ep(okPort)]);
    for (const wake of [...waiting]) wake();
    assert.deepEqual(await r, { status: 200, body: 'ok' });
    assert.ok((stats.snapshot().events?.connectError ?? 0) >= 1);
  });
});
