// Tests of WebSockets (HTTP/1.1 Upgrade) through the Node data path with real sockets: an echo
// round trip with X-Forwarded-* headers, a refused upgrade passed on, a refused endpoint tried on
// the next, an Upgrade held until an endpoint is ready, keep-alive requests on the same listener,
// and open tunnels closed with the proxy.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { EndpointPicker, type Target } from '../api/endpoint-picker.js';
import { realClock } from '../lib/clock.js';
import { IngressProxy } from './proxy.js';
import { TrafficStats } from './stats.js';
import { routeTo, upgradeRequest, type WsEchoApp, wakeable, wsEcho, wsEchoApp } from './testing.js';

const ep = (t: Target) => ({ ...t, ready: true, serving: true, terminating: false });

/** Resolves once `cond` holds (checked every 10 ms), failing after `ms` with `diagnose()`. */
async function eventually(cond: () => boolean, diagnose: () => string, ms = 5000): Promise<void> {
  const end = realClock.now() + ms;
  while (!cond()) {
    assert.ok(realClock.now() < end, `condition never held: ${diagnose()}`);
    await realClock.sleep(10);
  }
}

describe('IngressProxy WebSockets (Upgrade)', async () => {
  const apps: WsEchoApp[] = [await wsEchoApp('a'), await wsEchoApp('no', 403)];
  const [echo, refusing] = apps as [WsEchoApp, WsEchoApp];
  const pickers: Record<string, EndpointPicker> = {
    ws: new EndpointPicker(),
    refusing: new EndpointPicker(),
    later: new EndpointPicker(),
  };
  pickers.ws?.setEndpoints([ep(echo.target)]);
  pickers.refusing?.setEndpoints([ep(refusing.target)]);
  const waiting = new Set<() => void>();
  const stats = new TrafficStats();
  const log: string[] = [];
  /** Upgraded connections open now, as onTunnel reports them. */
  let open = 0;
  const proxy = new IngressProxy({
    routes: () => routeTo('ws', 'refusing', 'later'),
    pickerFor: (b) => pickers[b.service],
    stats,
    accessLog: (line) => log.push(line),
    onTunnel: (_b, delta) => {
      open += delta;
    },
    endpointWaitMs: 10_000,
    mayWait: () => true,
    endpointsChanged: wakeable(waiting, realClock),
  });
  const server = http.createServer();
  proxy.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  after(() => {
    proxy.endHolds();
    for (const wake of [...waiting]) wake();
    proxy.close();
    server.closeAllConnections();
    server.close();
    for (const a of apps) a.close();
  });

  test('an echo round trip, several messages both ways, with X-Forwarded-* set', async () => {
    const got = await wsEcho(`ws://127.0.0.1:${port}/ws/chat`, ['one', 'two', 'three', 'four']);
    assert.deepEqual(got, ['a:hello', 'a:one', 'a:two', 'a:three', 'a:four']);
    assert.equal(echo.lastHeaders?.['x-forwarded-for'], '127.0.0.1');
    assert.match(String(echo.lastHeaders?.['x-request-id']), /^[0-9a-f]{32}$/);
    // Counted and logged when the connection closes, as nginx does.
    await eventually(
      () => log.some((l) => l.includes('"GET /ws/chat HTTP/1.1" 101 ')),
      () => JSON.stringify(log),
    );
    assert.equal(stats.snapshot().status['1xx'], 1);
  });

  test('a refused upgrade (non-101) is passed on with its body', async () => {
    const r = await upgradeRequest(port, '/refusing');
    assert.equal(r.status, 403);
    assert.equal(r.body, 'no');
  });

  test('a refused endpoint is tried on the next one', async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const before = stats.snapshot().events?.connectError ?? 0;
    // Two connections: the round robin starts one of them on the dead endpoint.
    pickers.ws?.setEndpoints([ep({ ip: '127.0.0.1', port: deadPort }), ep(echo.target)]);
    const urls = [1, 2].map((i) => `ws://127.0.0.1:${port}/ws/${i}`);
    const got = await Promise.all(urls.map((u) => wsEcho(u, ['x'])));
    assert.deepEqual(got, [
      ['a:hello', 'a:x'],
      ['a:hello', 'a:x'],
    ]);
    assert.equal((stats.snapshot().events?.connectError ?? 0) - before, 1);
    pickers.ws?.setEndpoints([ep(echo.target)]);
  });

  test('an Upgrade to a Service with no ready endpoint is held, then served', async () => {
    const pending = wsEcho(`ws://127.0.0.1:${port}/later`, ['late']);
    await eventually(
      () => waiting.size === 1,
      () => `waiting ${waiting.size}`,
    );
    const app = await wsEchoApp('b');
    apps.push(app);
    pickers.later?.setEndpoints([ep(app.target)]);
    for (const wake of [...waiting]) wake();
    assert.deepEqual(await pending, ['b:hello', 'b:late']);
    assert.ok((stats.snapshot().events?.held ?? 0) >= 1);
  });

  test('ordinary keep-alive requests still work on the same listener', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; body: string; reused: boolean }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/ws', agent }, (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }),
          );
        });
        req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
    try {
      assert.deepEqual(await get(), { status: 200, body: 'a', reused: false });
      assert.deepEqual(await get(), { status: 200, body: 'a', reused: true });
    } finally {
      agent.destroy();
    }
  });

  test('closing the proxy closes its open tunnels; onTunnel counts them while open', async () => {
    // The earlier tests' connections finish their close handshakes first.
    await eventually(
      () => open === 0,
      () => `open ${open}`,
    );
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/open`);
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
    assert.equal(open, 1);
    proxy.close();
    await Promise.race([
      closed,
      realClock.sleep(5000).then(() => assert.fail('the tunnel stayed open')),
    ]);
    await eventually(
      () => open === 0,
      () => `open ${open}`,
    );
  });
});
