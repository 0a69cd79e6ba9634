// One request/answer of `skiff load`, two ways: ab without -k (HTTP/1.0 on a fresh socket, parsed
// just enough for the report: node's http client costs several times ab's CPU per connection, which
// on a small machine starves the server under test) and ab -k (node's keep-alive http.Agent).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

/** What one exchange produced: an answer, or the error that ended it. */
export type Outcome =
  | { error: Error; bytesRead: number }
  | {
      error?: undefined;
      status: number;
      server?: string;
      bodyLength: number;
      /** The last bytes of the body (at most the tail size asked for). */
      tail?: Buffer;
      /** Bytes read from the network, headers included (0 when the caller tracks sockets). */
      bytesRead: number;
    };

/** Starts one exchange and calls done exactly once, unless cancelled first; returns the cancel. */
export type Exchange = (done: (o: Outcome) => void) => () => void;

/** Error used when a request outlives its timeout. */
export class RequestTimeoutError extends Error {
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** Where and what to send. */
export interface ExchangeTarget {
  url: URL;
  port: number;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
  tailBytes: number;
}

const hangUp = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

/** Keeps the last `size` bytes of a stream of chunks without concatenating them all. */
class Tail {
  #last: Buffer | undefined;
  #prev: Buffer | undefined;
  constructor(readonly size: number) {}
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#prev = this.#last;
    this.#last = chunk;
  }
  get(): Buffer | undefined {
    const last = this.#last;
    if (!last) return undefined;
    const t = this.#prev && last.length < this.size ? Buffer.concat([this.#prev, last]) : last;
    return t.length > this.size ? t.subarray(t.length - this.size) : t;
  }
}

/** The request bytes ab sends without -k: HTTP/1.0, so the server closes after its answer. */
export function oneShotRequest(t: ExchangeTarget): Buffer {
  const host = t.url.host;
  let head = `${t.method} ${t.url.pathname}${t.url.search} HTTP/1.0\r\nHost: ${host}\r\n`;
  for (const [k, v] of Object.entries(t.headers)) head += `${k}: ${v}\r\n`;
  head += '\r\n';
  return t.body
    ? Buffer.concat([Buffer.from(head, 'latin1'), t.body])
    : Buffer.from(head, 'latin1');
}

/**
 * ab without -k: each exchange opens its own connection, writes the prepared request and reads the
 * answer up to its Content-Length (or to the server's close when there is none).
 */
export function oneShotExchange(t: ExchangeTarget): Exchange {
  const request = oneShotRequest(t);
  const isTls = t.url.protocol === 'https:';
  const host = t.url.hostname.replace(/^\[|\]$/g, '');
  const headOnly = t.method === 'HEAD';
  return (done) => {
    const socket = isTls
      ? tls.connect({
          host,
          port: t.port,
          servername: net.isIP(host) ? undefined : host,
          rejectUnauthorized: false,
        })
      : net.connect({ host, port: t.port });
    let settled = false;
    let head: Buffer | undefined = Buffer.alloc(0);
    let status = 0;
    let server: string | undefined;
    let expected = -1;
    let bodyLength = 0;
    const tail = new Tail(t.tailBytes);
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      const bytesRead = socket.bytesRead;
      socket.destroy();
      done(
        error ? { error, bytesRead } : { status, server, bodyLength, tail: tail.get(), bytesRead },
      );
    };
    const body = (chunk: Buffer) => {
      bodyLength += chunk.length;
      tail.push(chunk);
      if (expected >= 0 && bodyLength >= expected) finish();
    };
    socket.setTimeout(t.timeoutMs, () => finish(new RequestTimeoutError(t.timeoutMs)));
    socket.on('error', (err) => finish(err));
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (!head) return body(chunk);
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
      if (!m) return finish(Object.assign(new Error('malformed status line'), { code: 'HPE' }));
      status = Number(m[1]);
      for (const line of lines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        if (name === 'content-length') expected = Number(line.slice(colon + 1).trim());
        else if (name === 'server') server = line.slice(colon + 1).trim();
      }
      // No body for HEAD, 1xx, 204 and 304 whatever the headers say (RFC 9112 §6.3).
      if (headOnly || status < 200 || status === 204 || status === 304) expected = 0;
      const rest = head.subarray(end + 4);
      head = undefined;
      body(rest);
    });
    // Without Content-Length the server's close ends the body; with it, an early close is a reset.
    socket.on('end', () => finish(head || expected >= 0 ? hangUp() : undefined));
    socket.on('close', () => finish(hangUp()));
    // Written, not ended: like ab, the client does not half-close (some servers treat it as abort).
    socket.write(request);
    return () => {
      settled = true;
      socket.destroy();
    };
  };
}

/** ab -k: requests through a keep-alive agent holding at most `sockets` connections. */
export function keepAliveExchange(
  t: ExchangeTarget,
  sockets: number,
): { exchange: Exchange; agent: http.Agent } {
  const isTls = t.url.protocol === 'https:';
  const agent = isTls
    ? new https.Agent({ keepAlive: true, maxSockets: sockets, rejectUnauthorized: false })
    : new http.Agent({ keepAlive: true, maxSockets: sockets });
  const mod = isTls ? https : http;
  const options: http.RequestOptions = {
    agent,
    hostname: t.url.hostname,
    port: t.port,
    path: `${t.url.pathname}${t.url.search}`,
    method: t.method,
    headers: t.headers,
  };
  const exchange: Exchange = (done) => {
    let settled = false;
    const req = mod.request(options);
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      req.destroy();
      done({ error, bytesRead: 0 });
    };
    req.on('error', fail);
    req.setTimeout(t.timeoutMs, () => fail(new RequestTimeoutError(t.timeoutMs)));
    req.on('response', (res) => {
      let bodyLength = 0;
      const tail = new Tail(t.tailBytes);
      res.on('data', (chunk: Buffer) => {
        bodyLength += chunk.length;
        tail.push(chunk);
      });
      res.on('error', fail);
      res.on('aborted', () => fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        const s = res.headers.server;
        done({
          status: res.statusCode ?? 0,
          server: Array.isArray(s) ? s.join(', ') : s,
          bodyLength,
          tail: tail.get(),
          bytesRead: 0,
        });
      });
    });
    req.end(t.body);
    return () => {
      settled = true;
      req.destroy();
    };
  };
  return { exchange, agent };
}
