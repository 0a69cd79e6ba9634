// Tests of the paced load's retry of a request whose reused keep-alive connection died before any
// answer byte (what browsers and curl do): retried once on a fresh connection and counted apart,
// never retried when the option is off.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { PacedLoad } from './paced-load.js';

/** A server that answers the first request of each connection and drops the connection on the
 * second one without a byte (a worker that died holding an idle keep-alive connection). */
async function droppingServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const seen = new WeakMap<net.Socket, number>();
  const server = http.createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
    const n = (seen.get(req.socket) ?? 0) + 1;
    seen.set(req.socket, n);
    if (n >= 2) {
      req.socket.destroy();
      return;
    }
    res.end('hello from pod-a\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function runFor(load: PacedLoad, ms: number) {
  load.start();
  await new Promise((r) => setTimeout(r, ms));
  return load.stop();
}

test('a request on a reused connection that died is retried once on a fresh one', async () => {
  const srv = await droppingServer();
  try {
    const load = new PacedLoad({ url: srv.url, rate: 10, retryReusedConnection: true });
    const s = await runFor(load, 450);
    assert.ok(s.sent >= 4, `sent ${s.sent}`);
    assert.equal(s.failed, 0, JSON.stringify(s.byKind));
    assert.ok(s.retried >= 1, `retried ${s.retried}`);
    assert.ok(load.samples.every((x) => x.pod === 'pod-a'));
    assert.equal(load.samples.filter((x) => x.retried).length, s.retried);
  } finally {
    await srv.close();
  }
});

test('without the option the same requests fail as resets', async () => {
  const srv = await droppingServer();
  try {
    const s = await runFor(new PacedLoad({ url: srv.url, rate: 10 }), 450);
    assert.ok(s.byKind.reset >= 1, JSON.stringify(s.byKind));
    assert.equal(s.retried, 0);
  } finally {
    await srv.close();
  }
});
