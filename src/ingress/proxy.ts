// The ingress HTTP data path: route → endpoint → keep-alive upstream request, retrying another
// endpoint on a connect error or a reset before any response byte (ingress-nginx defaults:
// proxy-next-upstream "error timeout", 3 tries, non-idempotent requests only on connect errors),
// and holding requests while their backend has no ready endpoint (bounded; see IngressProxy).
// An HTTP/1.1 Upgrade (WebSocket) takes the same way to its endpoint, then both sockets are piped.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import type { EndpointPicker, Target } from '../api/endpoint-picker.js';
import { type Clock, realClock } from '../lib/clock.js';
import type { RouteBackend, RouteTable } from './routes.js';
import type { TrafficStats, UpstreamEvent } from './stats.js';

/** Methods nginx may pass to the next upstream after the request was sent. */
const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Errors that mean the upstream never got the request (safe to retry for any method). */
const connectErrors = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT_CONNECT']);
/** Hop-by-hop headers never forwarded (RFC 9110 §7.6.1). */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
]);

/** Options of IngressProxy. */
export interface IngressProxyOptions {
  /** The current route table. */
  routes: () => RouteTable;
  /** The balancer of a backend; undefined when its Service or port does not exist. */
  pickerFor: (b: RouteBackend) => EndpointPicker | undefined;
  /** Called when an endpoint refused a connection (passive health check). */
  onRefused?: (b: RouteBackend, t: Target) => void;
  /** Receives one nginx-style access log line per request; omit to disable. */
  accessLog?: (line: string) => void;
  /** Counts every request for /stats. */
  stats?: TrafficStats;
  clock?: Clock;
  /** proxy-next-upstream-tries; default 3. */
  tries?: number;
  /** proxy-connect-timeout; default 5 s. */
  connectTimeoutMs?: number;
  /** proxy-read-timeout; default 60 s. */
  readTimeoutMs?: number;
  /** client_max_body_size; default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * How long a request may wait for a ready endpoint, and keep retrying, before it gets its 503
   * or 502; default 10 s (defaultEndpointWaitMs). 0 answers at once, as ingress-nginx does.
   */
  endpointWaitMs?: number;
  /** Resolves when the backend's endpoints (or Service) change, or after `ms`. */
  endpointsChanged?: (b: RouteBackend, ms: number) => Promise<void>;
  /**
   * Whether requests for a backend without a ready endpoint should wait: its Service lists some
   * endpoint (starting, unready or terminating) or did within the wait budget.
   */
  mayWait?: (b: RouteBackend) => boolean;
  /** Called for each request with a route (activity of its Service, for scale to zero). */
  onRequest?: (b: RouteBackend) => void;
  /** Called when a request starts waiting for a ready endpoint of its backend. */
  onHeld?: (b: RouteBackend) => void;
  /** Called when a request that was held (onHeld) is over, answered or not. */
  onHeldDone?: (b: RouteBackend) => void;
  /**
   * Called when an upgraded (WebSocket) connection of a backend is joined (+1) and when it closes
   * (-1): activity of its Service while open (scale to zero).
   */
  onTunnel?: (b: RouteBackend, delta: 1 | -1) => void;
  /** The wait budget of a backend's requests when not endpointWaitMs (a cold start's is longer). */
  holdBudgetMs?: (b: RouteBackend) => number | undefined;
  /** Resolves once routes and endpoints are synced; requests arriving earlier wait for it. */
  synced?: Promise<void>;
  /**
   * The clients are a proxy in front (the nginx data plane, over a unix socket): keep the
   * X-Forwarded-*, X-Real-IP and X-Request-ID headers it set, and take the client from X-Real-IP.
   */
  trustForwarded?: boolean;
}

/** Default of IngressProxyOptions.endpointWaitMs (the --endpoint-wait-timeout flag). */
export const defaultEndpointWaitMs = 10_000;
/** Upstream answers up to this size (declared Content-Length) are read whole before relaying. */
const bufferedResponseBytes = 64 * 1024;
/** Pause between rounds when every endpoint tried failed but the API still lists them ready. */
const retryPauseMs = 100;

const reasons: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Request Entity Too Large',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

/** nginx's error page for a status. */
export function errorPage(status: number): string {
  const title = `${status} ${reasons[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function timeLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Random bytes for request IDs, drawn 4 KiB at a time (one crypto call per 256 requests). */
const idPool = { buf: Buffer.alloc(0), at: 0 };

/** A random 32-hex-digit request ID, as nginx's $request_id. */
function requestId(): string {
  if (idPool.at + 16 > idPool.buf.length) {
    idPool.buf = randomBytes(4096);
    idPool.at = 0;
  }
  idPool.at += 16;
  return idPool.buf.toString('hex', idPool.at - 16, idPool.at);
}

interface Attempt {
  addr: string;
  status: string;
}

/** How one try ended: an answer (read whole when small), a 101, or why there is none. */
type Outcome =
  | { kind: 'response'; res: http.IncomingMessage; body?: Buffer }
  | { kind: 'upgrade'; res: http.IncomingMessage; socket: net.Socket; head: Buffer }
  | { kind: 'connect' | 'reset' | 'timeout'; refused: boolean };

const emptyBody = Buffer.alloc(0);

/**
 * Serves HTTP requests for the route table. Guarantees:
 * 1. No route → 404 "default backend - 404"; a route whose backend has no ready endpoint → 503.
 * 2. A connect error is retried on another endpoint for every method; a reset or close before any
 *    response byte only for idempotent methods; at most `tries` endpoints per request.
 * 3. No response within the read timeout → 504; all tries failed → 502.
 * 4. Malformed requests get 400 and oversized headers 431 (see attach); nothing here throws.
 * 5. An Upgrade request is routed, held and retried as a GET (no body); a 101 from the endpoint
 *    joins the two connections until either closes or both stay idle for the read timeout; any
 *    other answer is passed on and the connection closed.
 */
export class IngressProxy {
  #opts: IngressProxyOptions;
  #clock: Clock;
  #agent = new http.Agent({ keepAlive: true, maxFreeSockets: 320, scheduling: 'lifo' });
  #timeCache = { sec: -1, text: '' };

  #synced: boolean;
  #holdsEnded = false;
  /** Closes of the joined (upgraded) connections open now: they outlive their servers' close. */
  #tunnels = new Set<() => void>();

  constructor(opts: IngressProxyOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#synced = !opts.synced;
    void opts.synced?.then(() => {
      this.#synced = true;
    });
  }

  /** Wires the proxy and client-error handling into an HTTP server. */
  attach(server: http.Server): void {
    server.on('request', (req, res) => this.handle(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
    server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const body = errorPage(status);
      socket.end(
        `HTTP/1.1 ${status} ${reasons[status]}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  }

  /** Closes idle upstream connections and the upgraded ones. */
  close(): void {
    this.#agent.destroy();
    for (const close of [...this.#tunnels]) close();
  }

  /**
   * Held requests get their answer (503/502) at their next wake instead of another round: the
   * servers are closed, nothing can serve them any more.
   */
  endHolds(): void {
    this.#holdsEnded = true;
  }

  /** Handles one request. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Nothing in #serve is expected to throw; if it does, this request fails, not the process.
    this.#serve(req, res).catch(() => res.destroy());
  }

  /**
   * Handles one Upgrade request (the server's 'upgrade' event: the socket is no longer the HTTP
   * server's). A response object on the socket serves its error or refused-upgrade answer, which
   * closes the connection.
   */
  handleUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => socket.end());
    this.#serve(req, res, { socket, head }).catch(() => socket.destroy());
  }

  /** One request, from its route to its answer: rounds of tries, holds in between. */
  async #serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    upgrade?: { socket: net.Socket; head: Buffer },
  ): Promise<void> {
    const start = this.#clock.now();
    // Serving starts before the caches are synced (a restarted controller takes connections at
    // once); the first requests wait for the route table instead of getting a 404.
    if (!this.#synced) await this.#opts.synced;
    const reqId = requestId();
    const attempts: Attempt[] = [];
    let backendName = '';
    /** Body bytes sent, for the access log: the upstream's Content-Length when known. */
    let sent = '-';
    const finish = (status: number, body?: string) => {
      if (!res.headersSent) {
        const text = body ?? errorPage(status);
        sent = String(Buffer.byteLength(text));
        res.writeHead(status, {
          'Content-Type': body ? 'text/plain; charset=utf-8' : 'text/html',
          'Content-Length': sent,
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      } else if (!res.writableEnded) {
        res.destroy();
      }
    };
    let cutOff = false;
    /** Bytes of the 101 head sent, once the connection is joined to its endpoint's. */
    let tunnelHead = -1;
    /** The backend of a joined connection (onTunnel -1 is owed at its end). */
    let tunnelFor: RouteBackend | undefined;
    /** The backend of a request that was held (onHeldDone is owed at its end). */
    let heldFor: RouteBackend | undefined;
    /** The client connection closed (res.destroyed may not say so yet). */
    let closed = false;
    res.once('close', () => {
      closed = true;
      if (heldFor) this.#opts.onHeldDone?.(heldFor);
      if (tunnelFor) this.#opts.onTunnel?.(tunnelFor, -1);
      if (tunnelHead >= 0)
        sent = String(Math.max(0, (upgrade?.socket.bytesWritten ?? 0) - tunnelHead));
      const finished = res.writableFinished || tunnelHead >= 0;
      this.#opts.stats?.record(finished ? res.statusCode : 0, this.#clock.now() - start);
      if (!finished && !cutOff) this.#opts.stats?.count('clientClosed');
      // nginx logs 499 for a client that went away before its answer was complete.
      const logged = finished || cutOff ? res.statusCode : 499;
      this.#log(req, logged, start, backendName, attempts, reqId, finished ? sent : '-');
    });
    req.on('error', () => res.destroy());

    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const backend = this.#opts.routes().match(req.headers.host, path);
    if (!backend) {
      finish(404, 'default backend - 404');
      return;
    }
    backendName = `${backend.namespace}-${backend.service}-${backend.port.number ?? backend.port.name}`;
    this.#opts.onRequest?.(backend);
    const waitMs =
      this.#opts.holdBudgetMs?.(backend) ?? this.#opts.endpointWaitMs ?? defaultEndpointWaitMs;
    const deadline = start + waitMs;
    const count = (e: UpstreamEvent) => this.#opts.stats?.count(e);
    const method = req.method ?? 'GET';
    let isHeld = false;
    /**
     * Waits for the backend's endpoints to change (at most `ms`): 'again' for another round,
     * 'expired' when the wait budget is spent (answer `status`), 'gone' when the client left.
     */
    const hold = async (ms: number): Promise<'again' | 'expired' | 'gone'> => {
      const left = deadline - this.#clock.now();
      if (left <= 0 || res.destroyed || closed) {
        if (isHeld) count('holdExpired');
        return 'expired';
      }
      if (!isHeld) {
        count('held');
        heldFor = backend;
        this.#opts.onHeld?.(backend);
      }
      isHeld = true;
      const changed = this.#opts.endpointsChanged?.(backend, Math.min(ms, left));
      if (!changed) return 'expired';
      await changed;
      if (res.destroyed || closed) return 'gone';
      // Stopped: no new round (it would wait again, for up to the whole budget).
      return this.#holdsEnded ? 'expired' : 'again';
    };
    // An Upgrade has no body: what follows its head belongs to the upgraded protocol.
    const body = upgrade ? emptyBody : await this.#readBody(req);
    if (body === undefined) {
      finish(413);
      return;
    }
    const headers = this.#upstreamHeaders(req, reqId);
    if (upgrade) {
      headers['Connection'] = 'upgrade';
      headers['Upgrade'] = req.headers.upgrade;
    }
    // Rounds: the current ready endpoints, in balancer order, `tries` of them at most.
    for (;;) {
      const picker = this.#opts.pickerFor(backend);
      if (!picker) {
        finish(503);
        return;
      }
      const order = picker.candidates(this.#client(req));
      if (order.length === 0) {
        // Nothing was sent yet, so waiting is safe for every method.
        const next = this.#opts.mayWait?.(backend) ? await hold(waitMs) : 'expired';
        if (next === 'expired') finish(503);
        if (next !== 'again') return;
        continue;
      }
      const tries = Math.min(order.length, this.#opts.tries ?? 3);
      for (let i = 0; i < tries; i++) {
        const target = order[i]!;
        const rec: Attempt = { addr: `${target.ip}:${target.port}`, status: '-' };
        attempts.push(rec);
        const outcome = await this.#send(target, method, url, headers, body);
        if (outcome.kind === 'upgrade') {
          picker.served(this.#client(req), target);
          rec.status = '101';
          res.statusCode = 101;
          if (!upgrade || closed) {
            // A 101 nobody asked for is a broken answer; a client gone has nothing to join.
            outcome.socket.destroy();
            finish(502);
            return;
          }
          tunnelHead = this.#tunnel(upgrade.socket, upgrade.head, outcome);
          tunnelFor = backend;
          this.#opts.onTunnel?.(backend, 1);
          return;
        }
        if (outcome.kind === 'response') {
          picker.served(this.#client(req), target);
          rec.status = String(outcome.res.statusCode ?? 502);
          sent = outcome.res.headers['content-length'] ?? '-';
          this.#relay(outcome.res, outcome.body, res, () => {
            cutOff = true;
            count('cutOff');
          });
          return;
        }
        count(outcome.kind === 'connect' ? 'connectError' : outcome.kind);
        rec.status = outcome.kind === 'timeout' ? '504' : '502';
        if (outcome.refused) this.#opts.onRefused?.(backend, target);
        // A connect error never reached the upstream; a reset before any answer byte may have,
        // so only idempotent methods go to the next endpoint after one.
        const isRetryable =
          outcome.kind === 'connect' || (outcome.kind === 'reset' && idempotent.has(method));
        if (!isRetryable || res.destroyed) {
          finish(outcome.kind === 'timeout' ? 504 : 502);
          return;
        }
        if (i + 1 < tries) count('retry');
      }
      // Every endpoint tried failed (the API has not caught up with dying pods yet): wait for
      // the endpoints to change, or a short pause, and start a new round.
      const next = await hold(retryPauseMs);
      if (next === 'expired') finish(502);
      if (next !== 'again') return;
      count('retry');
    }
  }

  /** The request body, buffered (undefined: over client_max_body_size). */
  #readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
    const len = Number(req.headers['content-length'] ?? 0);
    const max = this.#opts.maxBodyBytes ?? 1 << 20;
    if (len > max) {
      req.resume();
      return Promise.resolve(undefined);
    }
    if (len === 0 && !req.headers['transfer-encoding']) {
      // The common GET: no body to buffer; drain so 'end' fires and keep-alive works.
      req.resume();
      return Promise.resolve(emptyBody);
    }
    // Buffering the body makes every request retryable against another endpoint.
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let isTooBig = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) isTooBig = true;
        else chunks.push(c);
      });
      req.on('end', () => resolve(isTooBig ? undefined : Buffer.concat(chunks)));
    });
  }

  /** The client's address: the socket's peer, or the front proxy's X-Real-IP. */
  #client(req: http.IncomingMessage): string | undefined {
    const real = this.#opts.trustForwarded ? req.headers['x-real-ip'] : undefined;
    return typeof real === 'string' ? real : req.socket.remoteAddress;
  }

  #upstreamHeaders(req: http.IncomingMessage, reqId: string): http.OutgoingHttpHeaders {
    const out: http.OutgoingHttpHeaders = {};
    if (this.#opts.trustForwarded) {
      for (const [k, v] of Object.entries(req.headers)) {
        if (!hopByHop.has(k) && v !== undefined) out[k] = v;
      }
      return out;
    }
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      const lk = k.toLowerCase();
      if (hopByHop.has(lk) || lk.startsWith('x-forwarded-') || lk === 'x-real-ip') continue;
      const prev = out[k];
      out[k] = prev === undefined ? raw[i + 1]! : `${prev}, ${raw[i + 1]}`;
    }
    const remote = req.socket.remoteAddress ?? '';
    const host = req.headers.host ?? '';
    out['X-Request-ID'] = (req.headers['x-request-id'] as string | undefined) ?? reqId;
    out['X-Real-IP'] = remote;
    out['X-Forwarded-For'] = remote;
    out['X-Forwarded-Host'] = host;
    out['X-Forwarded-Port'] = String(req.socket.localPort ?? 80);
    out['X-Forwarded-Proto'] = 'http';
    out['X-Forwarded-Scheme'] = 'http';
    out['X-Scheme'] = 'http';
    return out;
  }

  /** One try against one endpoint. */
  #send(
    target: Target,
    method: string,
    path: string,
    headers: http.OutgoingHttpHeaders,
    body: Buffer,
  ): Promise<Outcome> {
    return new Promise((done) => {
      let settled = false;
      const settle = (o: Outcome) => {
        if (settled) return;
        settled = true;
        connectTimer?.cancel();
        readTimer?.cancel();
        done(o);
      };
      let connectTimer: ReturnType<Clock['setTimeout']> | undefined;
      let readTimer: ReturnType<Clock['setTimeout']> | undefined;
      const h = body.length ? { ...headers, 'Content-Length': body.length } : headers;
      const up = http.request({
        host: target.ip,
        port: target.port,
        method,
        path,
        headers: h,
        agent: this.#agent,
        setHost: false,
      });
      up.on('socket', (s: net.Socket) => {
        if (s.connecting) {
          connectTimer = this.#clock.setTimeout(() => {
            up.destroy();
            settle({ kind: 'connect', refused: false });
          }, this.#opts.connectTimeoutMs ?? 5000);
          s.once('connect', () => connectTimer?.cancel());
        }
        readTimer = this.#clock.setTimeout(() => {
          up.destroy();
          settle({ kind: 'timeout', refused: false });
        }, this.#opts.readTimeoutMs ?? 60_000);
      });
      up.on('upgrade', (res: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        socket.on('error', () => socket.destroy());
        if (settled) socket.destroy();
        else settle({ kind: 'upgrade', res, socket, head });
      });
      up.on('response', (res) => {
        const len = Number(res.headers['content-length'] ?? Number.NaN);
        if (!(len <= bufferedResponseBytes)) {
          // Unknown length (a stream, chunked) or large: relay as it comes.
          settle({ kind: 'response', res });
          return;
        }
        // A small answer is read whole before the client sees a byte of it, so an upstream that
        // dies between its headers and its body (a killed app) is a retryable reset, not a
        // truncated answer to the client.
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.complete) settle({ kind: 'response', res, body: Buffer.concat(chunks) });
          else settle({ kind: 'reset', refused: false });
        });
        res.on('error', () => settle({ kind: 'reset', refused: false }));
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? '';
        const refused = code === 'ECONNREFUSED';
        // A kept-alive socket the upstream had already closed never carried this request.
        const isConnect = connectErrors.has(code) || (up.reusedSocket && code === 'ECONNRESET');
        settle({ kind: isConnect ? 'connect' : 'reset', refused });
      });
      up.end(body.length ? body : undefined);
    });
  }

  /**
   * Joins a client's upgraded connection to its endpoint's after passing on the 101 (all its
   * headers: Connection and Upgrade belong to it); returns the 101 head's size. Either side
   * ending ends the other once its writes are out; an error or `readTimeoutMs` without a byte
   * either way (proxy_read_timeout) destroys both.
   */
  #tunnel(
    client: net.Socket,
    clientHead: Buffer,
    up: { res: http.IncomingMessage; socket: net.Socket; head: Buffer },
  ): number {
    const raw = up.res.rawHeaders;
    let head = `HTTP/1.1 101 ${up.res.statusMessage || 'Switching Protocols'}\r\n`;
    for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    head += '\r\n';
    const upSocket = up.socket;
    const destroy = () => {
      client.destroy();
      upSocket.destroy();
    };
    this.#tunnels.add(destroy);
    const ended = (hadError: boolean) => {
      if (hadError) destroy();
      client.end();
      upSocket.end();
      if (client.destroyed && upSocket.destroyed) this.#tunnels.delete(destroy);
    };
    client.on('close', ended);
    upSocket.on('close', ended);
    const idleMs = this.#opts.readTimeoutMs ?? 60_000;
    client.setTimeout(idleMs, destroy);
    upSocket.setTimeout(idleMs, destroy);
    client.write(head);
    if (up.head.length) client.write(up.head);
    if (clientHead.length) upSocket.write(clientHead);
    upSocket.pipe(client);
    client.pipe(upSocket);
    return Buffer.byteLength(head);
  }

  /** Relays an upstream answer: `body` when it was read whole, else streamed from `up`. */
  #relay(
    up: http.IncomingMessage,
    body: Buffer | undefined,
    res: http.ServerResponse,
    onCutOff: () => void,
  ): void {
    // A flat [name, value, ...] list: no header object to build, repeated headers kept as sent.
    const raw = up.rawHeaders;
    let headers: string[] = raw;
    for (let i = 0; i < raw.length; i += 2) {
      if (hopByHop.has(raw[i]!.toLowerCase())) {
        headers = [];
        for (let j = 0; j < raw.length; j += 2) {
          if (!hopByHop.has(raw[j]!.toLowerCase())) headers.push(raw[j]!, raw[j + 1]!);
        }
        break;
      }
    }
    res.writeHead(up.statusCode ?? 502, headers);
    if (body) {
      res.end(body.length ? body : undefined);
      return;
    }
    up.on('error', () => {
      onCutOff();
      res.destroy();
    });
    res.on('close', () => {
      if (!up.complete) up.destroy();
    });
    // Plain data/end instead of pipe(): no per-request pipe state; backpressure by pause/drain.
    up.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        up.pause();
        res.once('drain', () => up.resume());
      }
    });
    up.on('end', () => res.end());
  }

  #log(
    req: http.IncomingMessage,
    status: number,
    start: number,
    backend: string,
    attempts: Attempt[],
    reqId: string,
    sent: string,
  ): void {
    const sink = this.#opts.accessLog;
    if (!sink) return;
    const now = this.#clock.now();
    const sec = Math.floor(now / 1000);
    if (sec !== this.#timeCache.sec) this.#timeCache = { sec, text: timeLocal(now) };
    const q = (s: string | undefined) => (!s ? '-' : s.includes('"') ? s.replace(/"/g, '\\"') : s);
    const addrs = attempts.length ? attempts.map((a) => a.addr).join(', ') : '-';
    const statuses = attempts.length ? attempts.map((a) => a.status).join(', ') : '-';
    sink(
      `${req.socket.remoteAddress ?? '-'} - - [${this.#timeCache.text}] "${req.method} ${q(req.url)} HTTP/${req.httpVersion}" ${status} ${sent} "${q(req.headers.referer)}" "${q(req.headers['user-agent'])}" ${((now - start) / 1000).toFixed(3)} [${backend || '-'}] [] ${addrs} ${statuses} ${reqId}`,
    );
  }
}
