// Tests of the load engine against real local HTTP servers: counts, failure kinds, time limit, pods.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { classifyError, runLoad } from './engine.js';

const servers: http.Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('runLoad', () => {
  test('performs exactly n requests with c in flight and reports the first answer', async () => {
    let seen = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const url = await serve((_req, res) => {
      seen++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // A few ms of work so that requests on fresh connections overlap.
      setTimeout(() => {
        inFlight--;
        res.setHeader('Server', 'test-server/1');
        res.end('hello');
      }, 2);
    });
    const r = await runLoad({ url, concurrency: 5, requests: 200 });
    assert.equal(seen, 200);
    assert.equal(r.complete, 200);
    assert.equal(r.failed, 0);
    assert.equal(r.non2xx, 0);
    assert.ok(maxInFlight <= 5 && maxInFlight >= 2, `max in flight ${maxInFlight}`);
    assert.equal(r.serverSoftware, 'test-server/1');
    assert.equal(r.documentLength, 5);
    assert.equal(r.bodyBytes, 1000);
    assert.ok(r.totalBytes > r.bodyBytes, 'headers count in total bytes');
    assert.equal(r.stoppedBy, 'count');
    assert.ok(r.latency && r.latency.min > 0 && r.latency.max >= r.latency.min);
    assert.ok(r.latency && r.latency.percentiles['100'] === r.latency.max);
    assert.ok(r.requestsPerSecond > 0);
    assert.equal(r.timePerRequestMs, r.timePerRequestAcrossMs * 5);
    assert.deepEqual(r.pods, {}, 'no pod name in "hello"');
  });

  test('sends method, headers and body, reusing connections with keep-alive', async () => {
    const bodies: string[] = [];
    const sockets = new Set<unknown>();
    let header: string | undefined;
    let method: string | undefined;
    const url = await serve((req, res) => {
      sockets.add(req.socket);
      method = req.method;
      header = req.headers['x-test'] as string | undefined;
      let b = '';
      req.on('data', (c: Buffer) => {
        b += c.toString();
      });
      req.on('end', () => {
        bodies.push(b);
        res.end('ok');
      });
    });
    const r = await runLoad({
      url,
      concurrency: 2,
      requests: 20,
      keepAlive: true,
      method: 'POST',
      headers: { 'X-Test': 'yes', 'Content-Type': 'text/plain' },
      body: Buffer.from('payload'),
    });
    assert.equal(r.complete, 20);
    assert.equal(method, 'POST');
    assert.equal(header, 'yes');
    assert.ok(bodies.every((b) => b === 'payload'));
    assert.ok(sockets.size <= 2, `keep-alive used ${sockets.size} connections`);
  });

  test('counts non-2xx answers apart from failures, by status code', async () => {
    let i = 0;
    const url = await serve((_req, res) => {
      res.statusCode = i++ % 4 === 0 ? 503 : 200;
      res.end('x');
    });
    const r = await runLoad({ url, concurrency: 1, requests: 40 });
    assert.equal(r.complete, 40);
    assert.equal(r.failed, 0);
    assert.equal(r.non2xx, 10);
    assert.deepEqual(r.statusCodes, { '200': 30, '503': 10 });
  });

  test('without keep-alive, opens one connection per request (as ab without -k)', async () => {
    let connections = 0;
    const url = await serve((_req, res) => res.end('hi'));
    servers.at(-1)?.on('connection', () => connections++);
    const r = await runLoad({ url, concurrency: 4, requests: 40 });
    assert.equal(r.complete, 40);
    assert.equal(connections, 40);
  });

  test('counts connections the server resets as reset failures', async () => {
    let i = 0;
    const url = await serve((req, res) => {
      if (i++ % 2 === 1) req.socket.destroy();
      else res.end('ok');
    });
    const r = await runLoad({ url, concurrency: 4, requests: 100 });
    assert.equal(r.complete, 100);
    assert.equal(r.failed, 50);
    assert.equal(r.failures.reset, 50);
    assert.equal(r.latency?.percentiles['50'] !== undefined, true);
    assert.ok(Object.keys(r.errorSamples).includes('ECONNRESET'));
  });

  test('counts a refused connection as a connect failure', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, concurrency: 3, requests: 9 });
    assert.equal(r.complete, 9);
    assert.equal(r.failed, 9);
    assert.equal(r.failures.connect, 9);
    assert.equal(r.latency, undefined);
  });

  test('counts a request with no answer within the timeout as a timeout failure', async () => {
    const url = await serve(() => {
      // Never answers.
    });
    const r = await runLoad({ url, concurrency: 2, requests: 2, timeoutMs: 30 });
    assert.equal(r.failed, 2);
    assert.equal(r.failures.timeout, 2);
  });

  test('stops issuing at the time limit (-t) and drops what is in flight', async () => {
    let seen = 0;
    const { promise: twenty, resolve: reached } = withResolvers();
    const url = await serve((_req, res) => {
      if (++seen === 20) reached();
      res.end('ok');
    });
    const clock = new FakeClock();
    const run = runLoad({ url, concurrency: 2, requests: 50_000, timeLimitMs: 5000, clock });
    await twenty;
    clock.advance(5000);
    const r = await run;
    assert.equal(r.stoppedBy, 'time');
    assert.ok(r.complete >= 18 && r.complete < 50_000, `complete ${r.complete}`);
    assert.equal(r.failed, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  test('an aborted signal stops the run and reports what completed', async () => {
    const url = await serve((_req, res) => res.end('ok'));
    const ac = new AbortController();
    let n = 0;
    const r = await runLoad({
      url,
      concurrency: 1,
      requests: 1000,
      signal: ac.signal,
      progressIntervalMs: 1,
      onProgress: (p) => {
        n = p.done;
        if (p.done >= 5) ac.abort();
      },
    });
    assert.equal(r.stoppedBy, 'signal');
    assert.ok(r.complete >= 5 && r.complete < 1000, `complete ${r.complete}, progress ${n}`);
  });

  test('counts answers per pod from the name the body ends with', async () => {
    const names = ['hello-world-flask-56fbff68c8-2xz7w', 'hello-world-flask-56fbff68c8-4f9qz'];
    let i = 0;
    const url = await serve((_req, res) => {
      res.end(`Hello, my first docker images! ${names[i++ % 2]}`);
    });
    const r = await runLoad({ url, concurrency: 3, requests: 30 });
    assert.deepEqual(r.pods, { [names[0] as string]: 15, [names[1] as string]: 15 });
  });
});

describe('classifyError', () => {
  const cases: [string, unknown, string][] = [
    ['refused', { code: 'ECONNREFUSED' }, 'connect'],
    ['unresolvable host', { code: 'ENOTFOUND' }, 'connect'],
    ['reset', { code: 'ECONNRESET' }, 'reset'],
    ['broken pipe', { code: 'EPIPE' }, 'reset'],
    ['parse error', { code: 'HPE_INVALID_CONSTANT' }, 'other'],
    ['no code', new Error('boom'), 'other'],
  ];
  for (const [name, err, kind] of cases) {
    test(`${name} → ${kind}`, () => assert.equal(classifyError(err), kind));
  }
});
