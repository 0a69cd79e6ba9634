// Tests of the ingress data path with real HTTP servers on loopback: routing answers, headers,
// client errors, timeouts, and zero failed requests while a backend is killed under load.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, describe, test } from 'node:test';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { EndpointPicker } from '../api/endpoint-picker.js';
import { IngressProxy } from './proxy.js';
import { RouteTable } from './routes.js';

interface Backend {
  server: http.Server;
  port: number;
  sockets: Set<net.Socket>;
  /** Simulates the process dying: listener closed, live connections reset. */
  kill(): void;
}

async function backend(name: string, delayMs = 0): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const reply = () => {
      res.setHeader('X-Seen-Forwarded-For', String(req.headers['x-forwarded-for']));
      res.setHeader('X-Seen-Request-Id', String(req.headers['x-request-id']));
      res.end(`Hello from ${name}`);
    };
    if (delayMs) setTimeout(reply, delayMs);
    else reply();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    sockets,
    kill() {
      server.close();
      for (const s of sockets) s.resetAndDestroy();
    },
  };
}

function routes(): RouteTable {
  const ing: Ingress = {
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      rules: [
        {
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'web', port: { number: 80 } } },
              },
              {
                path: '/empty',
                pathType: 'Prefix',
                backend: { service: { name: 'empty', port: { number: 80 } } },
              },
              {
                path: '/slow',
                pathType: 'Prefix',
                backend: { service: { name: 'slow', port: { number: 80 } } },
              },
            ],
          },
          host: 'app.test',
        },
      ],
    },
  };
  return new RouteTable([ing]);
}

const ep = (port: number) => ({
  ip: '127.0.0.1',
  port,
  ready: true,
  serving: true,
  terminating: false,
});

function get(
  port: number,
  path: string,
  agent: http.Agent,
  headers: http.OutgoingHttpHeaders = {},
) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port, path, agent, headers: { host: 'app.test', ...headers } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    },
  );
}

describe('IngressProxy', async () => {
  const a = await backend('a');
  const b = await backend('b');
  const slow = await backend('slow', 2000);
  const web = new EndpointPicker();
  web.setEndpoints([ep(a.port), ep(b.port)]);
  const slowPicker = new EndpointPicker();
  slowPicker.setEndpoints([ep(slow.port)]);
  const pickers: Record<string, EndpointPicker> = {
    web,
    empty: new EndpointPicker(),
    slow: slowPicker,
  };
  const logs: string[] = [];
  const proxy = new IngressProxy({
    routes,
    pickerFor: (bk) => pickers[bk.service],
    onRefused: (bk, t) => pickers[bk.service]?.remove(t),
    accessLog: (l) => logs.push(l),
    readTimeoutMs: 300,
  });
  const server = http.createServer({ maxHeaderSize: 8192 });
  proxy.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  after(() => {
    agent.destroy();
    proxy.close();
    server.closeAllConnections();
    server.close();
    for (const x of [a, b, slow]) x.kill();
  });

  test('alternates between endpoints and sets forwarding headers', async () => {
    const r1 = await get(port, '/', agent);
    const r2 = await get(port, '/', agent);
    assert.deepEqual(new Set([r1.body, r2.body]), new Set(['Hello from a', 'Hello from b']));
    assert.equal(r1.headers['x-seen-forwarded-for'], '127.0.0.1');
    assert.match(String(r1.headers['x-seen-request-id']), /^[0-9a-f]{32}$/);
    assert.match(logs.at(-1) ?? '', /"GET \/ HTTP\/1.1" 200 .*\[default-web-80\]/);
  });

  test('404 without a matching rule, 503 without endpoints, 504 on upstream timeout', async () => {
    const nohost = await get(port, '/', agent, { host: 'unknown.test' });
    assert.equal(nohost.status, 404);
    assert.equal(nohost.body, 'default backend - 404');
    assert.equal((await get(port, '/empty', agent)).status, 503);
    assert.equal((await get(port, '/slow', agent)).status, 504);
  });

  test('400 for malformed HTTP and 431 for oversized headers, and the server keeps serving', async () => {
    const { connect } = await import('node:net');
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const c = connect(port, '127.0.0.1', () => c.write(text));
        let out = '';
        c.on('data', (d) => {
          out += d;
        });
        c.on('close', () => resolve(out));
        c.on('error', () => resolve(out));
      });
    assert.match(await raw('NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1.1 400/);
    assert.match(
      await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`),
      /^HTTP\/1.1 431/,
    );
    assert.equal((await get(port, '/', agent)).status, 200);
  });

  test('a backend killed under load costs no failed request', async () => {
    const c = await backend('c');
    const d = await backend('d');
    web.setEndpoints([ep(c.port), ep(d.port)]);
    let ok = 0;
    let failed = 0;
    let killed = false;
    const seenAfterKill = new Set<string>();
    const worker = async () => {
      for (let i = 0; i < 150; i++) {
        try {
          const r = await get(port, '/', agent);
          if (r.status === 200) ok++;
          else failed++;
          if (killed) seenAfterKill.add(r.body);
        } catch {
          failed++;
        }
        if (ok === 300 && !killed) {
          killed = true;
          c.kill();
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    d.kill();
    assert.equal(failed, 0);
    assert.equal(ok, 1200);
    assert.ok(killed);
    assert.deepEqual([...seenAfterKill].filter((x) => x === 'Hello from c').length <= 1, true);
  });
});
