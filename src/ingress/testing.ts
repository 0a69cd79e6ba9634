// Test helpers of the ingress: a route table to named Services, and for WebSockets through either
// data plane a WebSocket echo app, a client that sends messages and collects their echoes
// (bounded), and a raw Upgrade request.
import http from 'node:http';
import type net from 'node:net';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import WebSocket, { WebSocketServer } from 'ws';
import type { Target } from '../api/endpoint-picker.js';
import type { Clock } from '../lib/clock.js';
import { RouteTable } from './routes.js';

/** Routes `/<svc>` (Prefix) to port 80 of each Service. */
export function routeTo(...services: string[]): RouteTable {
  const ing: Ingress = {
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      rules: [
        {
          http: {
            paths: services.map((svc) => ({
              path: `/${svc}`,
              pathType: 'Prefix',
              backend: { service: { name: svc, port: { number: 80 } } },
            })),
          },
        },
      ],
    },
  };
  return new RouteTable([ing]);
}

/**
 * An IngressProxyOptions.endpointsChanged that resolves after `ms` on `clock`, or once the test
 * calls the waker it adds to `waiting` (an endpoint change).
 */
export function wakeable(waiting: Set<() => void>, clock: Clock) {
  return (_b: unknown, ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const wake = () => {
        waiting.delete(wake);
        t.cancel();
        resolve();
      };
      const t = clock.setTimeout(wake, ms);
      waiting.add(wake);
    });
}

/** A WebSocket echo app on loopback. */
export interface WsEchoApp {
  target: Target;
  /** The headers of the last Upgrade request it accepted. */
  lastHeaders: http.IncomingHttpHeaders | undefined;
  /** TCP connections it accepted (ordinary and upgraded). */
  connections: number;
  close(): void;
}

/**
 * Answers each message with `${name}:${message}` and greets with `${name}:hello` on open; plain
 * requests get 200 `${name}` (or `plainStatus`) so ordinary traffic and refused upgrades can be
 * tested on the same app.
 */
export async function wsEchoApp(name: string, plainStatus = 200): Promise<WsEchoApp> {
  const server = http.createServer((_req, res) => {
    // A declared length: the nginx plane reads such an answer whole on a kept-alive connection.
    res.writeHead(plainStatus, { 'Content-Type': 'text/plain', 'Content-Length': name.length });
    res.end(name);
  });
  const app: WsEchoApp = {
    target: { ip: '127.0.0.1', port: 0 },
    lastHeaders: undefined,
    connections: 0,
    close: () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      server.close();
    },
  };
  const wss = new WebSocketServer({ noServer: true });
  server.on('connection', () => app.connections++);
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (plainStatus !== 200) {
      // Refuses the upgrade with an ordinary answer.
      socket.end(
        `HTTP/1.1 ${plainStatus} Nope\r\nContent-Type: text/plain\r\nContent-Length: ${name.length}\r\nConnection: close\r\n\r\n${name}`,
      );
      return;
    }
    app.lastHeaders = req.headers;
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(`${name}:hello`);
      ws.on('message', (m: Buffer) => ws.send(`${name}:${m.toString()}`));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.target.port = (server.address() as net.AddressInfo).port;
  return app;
}

/**
 * Opens a WebSocket to `url`, sends `messages` one at a time (each after the previous echo) and
 * returns everything received, the greeting first; rejects after `timeoutMs` with what it got.
 */
export function wsEcho(url: string, messages: string[], timeoutMs = 10_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no full echo within ${timeoutMs} ms; got ${JSON.stringify(got)}`));
    }, timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${why}; got ${JSON.stringify(got)}`));
    };
    ws.on('error', (err) => fail(err.message));
    // A close before the last echo fails at once (no-op once resolved).
    ws.on('close', (code) => fail(`closed with ${code}`));
    ws.on('message', (m: Buffer) => {
      got.push(m.toString());
      const next = messages[got.length - 1];
      if (next !== undefined) ws.send(next);
      else {
        clearTimeout(timer);
        ws.close();
        resolve(got);
      }
    });
  });
}

/** An Upgrade request answered other than by a 101: its status and body (101: the status only). */
export function upgradeRequest(
  port: number,
  path: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
      timeout: timeoutMs,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('upgrade', (res: http.IncomingMessage, socket: net.Socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '', headers: res.headers });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.end();
  });
}
