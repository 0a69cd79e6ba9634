// The nginx data plane with real nginx (installed by .ci/run): routing and X-Forwarded-* headers,
// endpoint changes without a reload, retries on another endpoint, the holder for what nginx cannot
// serve (no endpoint yet, every endpoint failed), and a killed worker replaced by the master.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { EndpointPicker, type Target } from '../api/endpoint-picker.js';
import { realClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { freePort } from '../lib/testing-ports.js';
import { findNginx, NginxDataPlane, parseNginxActivity } from './nginx.js';
import { renderLuaConfig, upstreamName } from './nginx-conf.js';
import { IngressProxy } from './proxy.js';
import { RouteTable } from './routes.js';
import { upgradeRequest, type WsEchoApp, wsEcho, wsEchoApp } from './testing.js';

const ing: Ingress = {
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    rules: [
      {
        http: {
          paths: [
            {
              path: '/app',
              pathType: 'Prefix',
              backend: { service: { name: 'app', port: { number: 80 } } },
            },
          ],
        },
      },
    ],
  },
};
const table = new RouteTable([ing]);
const backend = table.backends()[0]!;
/** What the holder balances over (the controller's picker); nginx gets `pushed`. */
const picker = new EndpointPicker();
let plane: NginxDataPlane;
let holderRequests = 0;
let port = 0;
const apps: (http.Server | net.Server)[] = [];
const wsApps: WsEchoApp[] = [];
/** Requests held in the holder, woken by wake() (the controller wakes them on slice changes). */
const changed = new Set<() => void>();

function wake(): void {
  for (const w of changed) w();
  changed.clear();
}

/** An app answering its name and the forwarded headers it got. */
async function app(name: string): Promise<Target> {
  const s = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(
      JSON.stringify({
        name,
        xff: req.headers['x-forwarded-for'],
        id: req.headers['x-request-id'],
        host: req.headers['x-forwarded-host'],
      }),
    );
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  apps.push(s);
  return { ip: '127.0.0.1', port: (s.address() as net.AddressInfo).port };
}

/** A port nothing listens on (a killed app). */
async function deadTarget(): Promise<Target> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return { ip: '127.0.0.1', port: p };
}

function setEndpoints(holderSees: Target[], nginxSees = holderSees): Promise<void> {
  picker.setEndpoints(
    holderSees.map((t) => ({ ...t, ready: true, serving: true, terminating: false })),
  );
  return plane.push(
    renderLuaConfig({
      ...table.servers(),
      backends: new Map([[upstreamName(backend), nginxSees]]),
    }),
  );
}

function get(
  path: string,
  agent: http.Agent | false = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', () => resolve({ status: -1, body: '' }));
  });
}

before(async () => {
  const found = findNginx();
  assert.ok(found.path, `nginx data plane: ${found.missing}`);
  port = await freePort();
  plane = new NginxDataPlane({
    nginx: found.path,
    listen: [`127.0.0.1:${port}`],
    log: createLogger({ component: 'nginx-test' }),
    accessLog: false,
  });
  const holder = http.createServer();
  holder.on('request', () => holderRequests++);
  new IngressProxy({
    routes: () => table,
    pickerFor: () => picker,
    trustForwarded: true,
    endpointWaitMs: 3000,
    mayWait: () => true,
    endpointsChanged: (_b, ms) =>
      new Promise((resolve) => {
        const t = realClock.setTimeout(resolve, ms);
        changed.add(() => {
          t.cancel();
          resolve();
        });
      }),
  }).attach(holder);
  apps.push(holder);
  await new Promise<void>((r) => holder.listen(plane.holderSocket, r));
  await plane.start(renderLuaConfig({ ...table.servers(), backends: new Map() }));
});

after(async () => {
  await plane.stop();
  for (const s of apps) s.close();
  for (const a of wsApps) a.close();
});

test('routes by path, sets X-Forwarded-* and a request ID; no route goes to the holder', async () => {
  await setEndpoints([await app('a')]);
  const r = await get('/app/x');
  assert.equal(r.status, 200);
  const body = JSON.parse(r.body) as Record<string, string>;
  assert.equal(body['name'], 'a');
  assert.equal(body['xff'], '127.0.0.1');
  assert.equal(body['host'], `127.0.0.1:${port}`);
  assert.match(body['id'] ?? '', /^[0-9a-f]{32}$/);
  const before = holderRequests;
  assert.equal((await get('/other')).status, 404, 'no route: the holder answers 404');
  assert.equal(holderRequests, before + 1);
});

test('an endpoint change serves at once with no reload (keep-alive connections stay)', async () => {
  const a = await app('a');
  const b = await app('b');
  await setEndpoints([a]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal(JSON.parse((await get('/app', agent)).body).name, 'a');
  const pid = plane.pid;
  const t = realClock.now();
  await setEndpoints([b]);
  let name = '';
  while (name !== 'b' && realClock.now() - t < 2000)
    name = JSON.parse((await get('/app', agent)).body).name;
  const ms = realClock.now() - t;
  assert.equal(name, 'b');
  // Generous on a loaded machine; bench/ingress.ts measures it.
  assert.ok(ms < 500, `change served after ${ms} ms`);
  assert.equal(plane.pid, pid, 'same nginx master');
  const sockets = Object.values(agent.freeSockets).flat().length;
  assert.equal(sockets, 1, 'the keep-alive connection survived');
  agent.destroy();
});

test('a refused endpoint is retried on another; all refused: the holder waits for a live one', async () => {
  const live = await app('live');
  const dead = await deadTarget();
  await setEndpoints([dead, live]);
  for (let i = 0; i < 4; i++) assert.equal(JSON.parse((await get('/app')).body).name, 'live');
  // Every endpoint nginx knows is dead: its last try goes to the holder, which waits for the
  // endpoints to change and serves.
  const dead2 = await deadTarget();
  await setEndpoints([dead2], [dead, dead2]);
  const pending = get('/app');
  await realClock.sleep(200);
  const later = await app('later');
  picker.setEndpoints([{ ...later, ready: true, serving: true, terminating: false }]);
  wake();
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).name, 'later');
});

test('no ready endpoint: the request waits in the holder instead of a 503', async () => {
  await setEndpoints([]);
  const pending = get('/app/held');
  await realClock.sleep(200);
  const fresh = await app('fresh');
  await setEndpoints([fresh]);
  wake();
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).name, 'fresh');
});

test('a killed worker is replaced by the master and the port keeps answering', async () => {
  await setEndpoints([await app('a')]);
  const master = plane.pid!;
  const workers = () =>
    readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).map(Number);
  const [victim] = workers();
  process.kill(victim!, 'SIGKILL');
  let ok = 0;
  for (let i = 0; i < 20; i++) if ((await get('/app')).status === 200) ok++;
  assert.equal(ok, 20);
  assert.ok(!workers().includes(victim!), 'the killed worker is gone');
  assert.equal(workers().length, 2, 'and replaced');
});

test('findNginx names what is missing, so the add-on can say why it serves with Node', () => {
  const saved = process.env['INGRESS_NGINX'];
  process.env['INGRESS_NGINX'] = '/nonexistent/nginx';
  try {
    const r = findNginx();
    assert.equal(r.path, undefined);
    assert.match(r.missing ?? '', /\/nonexistent\/nginx not found/);
  } finally {
    if (saved === undefined) delete process.env['INGRESS_NGINX'];
    else process.env['INGRESS_NGINX'] = saved;
  }
});

test('activity: each backend that had a request reports its last second (for scale to zero)', async () => {
  await setEndpoints([await app('a')]);
  const before = Date.now();
  assert.equal((await get('/app/busy')).status, 200);
  // Each worker adds its own within a second (its flush timer); the control request flushes its own.
  let seen: Map<string, number> = new Map();
  for (let i = 0; i < 40 && !((seen.get(upstreamName(backend)) ?? 0) >= before - 1000); i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await plane.activity();
  }
  const at = seen.get(upstreamName(backend));
  assert.ok(at !== undefined && at >= before - 1000 && at <= Date.now() + 1000, `at=${at}`);
  assert.deepEqual(
    parseNginxActivity('r 3\na:default-app-80 1700000000.5\ns:200 3\n'),
    new Map([['default-app-80', 1_700_000_000_500]]),
  );
});

/** An endpoint that sends an answer's header and the start of its body, then dies (issue #17). */
async function cutter(): Promise<{ target: Target; hits: () => number }> {
  let hits = 0;
  const s = net.createServer((sock) => {
    sock.on('error', () => undefined);
    sock.once('data', () => {
      hits++;
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\ncut');
      realClock.setTimeout(() => sock.destroy(), 10);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  apps.push(s);
  return {
    target: { ip: '127.0.0.1', port: (s.address() as net.AddressInfo).port },
    hits: () => hits,
  };
}

/** An endpoint answering whatever `answer` writes, after reading the request whole. */
async function rawApp(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  apps.push(s);
  return { ip: '127.0.0.1', port: (s.address() as net.AddressInfo).port };
}

function request(
  path: string,
  opts: { method?: string; body?: string; onFirstData?: () => void } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => {
          if (chunks.length === 0) opts.onFirstData?.();
          chunks.push(d);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('an answer cut off after its header is retried on another endpoint: the client never sees it', async () => {
  const cut = await cutter();
  const live = await app('live');
  await setEndpoints([cut.target, live]);
  for (let i = 0; i < 6; i++) {
    const r = await request(`/app/${i}`);
    assert.equal(r.status, 200, `request ${i}: ${r.body}`);
    assert.equal(JSON.parse(r.body.toString()).name, 'live');
  }
  assert.ok(cut.hits() >= 1, 'the cutting endpoint got a request');
  // The only endpoint cuts: the holder (which has a live one) serves the retry.
  const alone = await cutter();
  await setEndpoints([live], [alone.target]);
  const r = await request('/app/alone');
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body.toString()).name, 'live');
  assert.equal(alone.hits(), 1);
});

test('an answer larger than the whole-answer bound streams whole; HEAD gives its length', async () => {
  const big = Buffer.alloc(200 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
  // Node sends no Content-Length on a HEAD unless told.
  await setEndpoints([
    await rawApp((req, res) => {
      res.setHeader('Content-Length', big.length);
      res.end(req.method === 'HEAD' ? undefined : big);
    }),
  ]);
  for (let i = 0; i < 2; i++) {
    const r = await request('/app/big');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, big.length);
    assert.ok(r.body.equals(big), 'the same bytes');
  }
  const h = await request('/app/big', { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], String(big.length));
  assert.equal(h.body.length, 0);
});

test('status, repeated Set-Cookie and other headers pass through a whole answer; no hop-by-hop', async () => {
  await setEndpoints([
    await rawApp((_q, res) => {
      res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2']);
      res.setHeader('ETag', '"v1"');
      res.setHeader('Keep-Alive', 'timeout=5');
      res.setHeader('Content-Type', 'text/plain');
      // Status and body without writeHead: Node sends a Content-Length (not chunked).
      res.statusCode = 201;
      res.end('made');
    }),
  ]);
  const r = await request('/app/cookies');
  assert.equal(r.status, 201);
  assert.equal(r.body.toString(), 'made');
  assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2']);
  assert.equal(r.headers['etag'], '"v1"');
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.headers['content-length'], '4');
  assert.equal(r.headers['keep-alive'], undefined);
  // An answer without a Content-Type gets none (nginx would add its default text/plain).
  await setEndpoints([await rawApp((_q, res) => res.end('bare'))]);
  const bare = await request('/app/bare');
  assert.equal(bare.body.toString(), 'bare');
  assert.equal(bare.headers['content-type'], undefined);
});

test('a POST and an answer without a length stream: the client reads the start before the end', async () => {
  // The app sends the rest only once the client got the start: an answer held whole would hang.
  let release: (() => void) | undefined;
  const target = await rawApp((req, res) => {
    const chunked = req.url?.endsWith('chunked');
    res.writeHead(200, chunked ? {} : { 'Content-Length': '11' });
    res.write('first;');
    release = () => res.end('rest!');
  });
  await setEndpoints([target]);
  for (const [method, path] of [
    ['POST', '/app/post'],
    ['GET', '/app/chunked'],
  ] as const) {
    const r = await request(path, {
      method,
      body: method === 'POST' ? 'x=1' : undefined,
      onFirstData: () => release?.(),
    });
    assert.equal(r.status, 200, `${method} ${path}`);
    assert.equal(r.body.toString(), 'first;rest!', `${method} ${path}`);
    release = undefined;
  }
  // The whole-answer try gives up at such an answer's header and asks again; then the path streams
  // at once for a minute. Each of nginx's 2 workers keeps its own memo, so a worker asks twice
  // the first time only: 6 requests cost at most 6 + 2 asks (12 without the memo).
  let asked = 0;
  const counted = await rawApp((_req, res) => {
    asked++;
    res.writeHead(200, {});
    res.end('streamed');
  });
  await setEndpoints([counted]);
  for (let i = 0; i < 6; i++) {
    const again = await request('/app/chunked');
    assert.equal(again.body.toString(), 'streamed');
  }
  assert.ok(asked <= 8, `a path whose answer had no length streams at once: asked ${asked} for 6`);
});

/** A WebSocket echo app, closed after the tests. */
async function wsApp(name: string, plainStatus?: number): Promise<WsEchoApp> {
  const a = await wsEchoApp(name, plainStatus);
  wsApps.push(a);
  return a;
}

test('a WebSocket echoes both ways through nginx; ordinary requests keep their upstream keep-alive', async () => {
  const a = await wsApp('ws');
  await setEndpoints([a.target]);
  const got = await wsEcho(`ws://127.0.0.1:${port}/app/chat`, ['one', 'two', 'three']);
  assert.deepEqual(got, ['ws:hello', 'ws:one', 'ws:two', 'ws:three']);
  assert.equal(a.lastHeaders?.['x-forwarded-for'], '127.0.0.1');
  assert.equal(a.lastHeaders?.['upgrade'], 'websocket');
  // Plain requests send no Connection header upstream: nginx keeps its connections (one per
  // worker at most) instead of opening one per request.
  const before = a.connections;
  for (let i = 0; i < 6; i++) assert.equal((await get('/app/plain')).body, 'ws');
  const opened = a.connections - before;
  assert.ok(opened <= 2, `${opened} upstream connections for 6 requests`);
});

test('a refused upgrade (non-101) passes through nginx with its body', async () => {
  const no = await wsApp('no', 403);
  await setEndpoints([no.target]);
  const r = await upgradeRequest(port, '/app/ws');
  assert.equal(r.status, 403);
  assert.equal(r.body, 'no');
});

test('a WebSocket to a backend with no ready endpoint waits in the holder, then echoes', async () => {
  await setEndpoints([]);
  const pending = wsEcho(`ws://127.0.0.1:${port}/app/held`, ['late']);
  await realClock.sleep(200);
  const fresh = await wsApp('fresh');
  // The holder sees the endpoint first (nginx's table is pushed after the slice's change).
  picker.setEndpoints([{ ...fresh.target, ready: true, serving: true, terminating: false }]);
  wake();
  assert.deepEqual(await pending, ['fresh:hello', 'fresh:late']);
});

/** Opens a WebSocket through `on` and checks that it alone keeps its backend's second moving. */
async function assertOpenWebSocketActive(on: NginxDataPlane, onPort: number): Promise<void> {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${onPort}/app/idle`);
  ws.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
      realClock.setTimeout(() => reject(new Error('no WebSocket greeting within 10 s')), 10_000);
    });
    const opened = Date.now();
    // No request after the upgrade: only the open connection can move the backend's second on.
    let at = 0;
    for (let i = 0; i < 100 && at < opened + 1500; i++) {
      await realClock.sleep(100);
      at = (await on.activity()).get(upstreamName(backend)) ?? 0;
    }
    assert.ok(at >= opened + 1500, `last activity ${at - opened} ms after the upgrade`);
  } finally {
    ws.terminate();
  }
}

test('an open WebSocket keeps its backend active (scale to zero) until it closes', async () => {
  const a = await wsApp('live');
  await setEndpoints([a.target]);
  await assertOpenWebSocketActive(plane, port);
});

test('with whole answers off (no access phase in Lua) an open WebSocket still counts', async () => {
  const a = await wsApp('streamed');
  const streamedPort = await freePort();
  const streamed = new NginxDataPlane({
    nginx: findNginx().path ?? 'nginx',
    listen: [`127.0.0.1:${streamedPort}`],
    log: createLogger({ component: 'nginx-test' }),
    accessLog: false,
    wholeAnswerBytes: 0,
  });
  try {
    await streamed.start(
      renderLuaConfig({
        ...table.servers(),
        backends: new Map([[upstreamName(backend), [a.target]]]),
      }),
    );
    await assertOpenWebSocketActive(streamed, streamedPort);
  } finally {
    await streamed.stop();
  }
});
