// Tests of the one-shot (ab without -k) exchange against raw TCP servers: the request it sends and
// how it frames answers (Content-Length, read-to-close, split headers, HEAD, early close).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { type Outcome, oneShotExchange } from './exchange.js';

const servers: net.Server[] = [];
after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
});

/** A server that answers every connection with `reply` (written in the given pieces). */
async function rawServer(
  reply: (request: string, socket: net.Socket) => void,
): Promise<{ url: URL; requests: string[] }> {
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      requests.push(buf);
      reply(buf, socket);
    });
    socket.on('error', () => socket.destroy());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/hello?x=1`), requests };
}

function once(url: URL, method = 'GET'): Promise<Outcome> {
  const exchange = oneShotExchange({
    url,
    port: Number(url.port),
    method,
    headers: { 'User-Agent': 'skiff-load/0.1', Accept: '*/*' },
    timeoutMs: 2000,
    tailBytes: 16,
  });
  return new Promise((resolve) => exchange(resolve));
}

describe('oneShotExchange', () => {
  test('sends an HTTP/1.0 request and reads the body up to Content-Length', async () => {
    const { url, requests } = await rawServer((_req, s) => {
      // The socket stays open: the answer is complete once Content-Length bytes came.
      s.write('HTTP/1.1 200 OK\r\nServer: raw/1\r\nContent-Len');
      s.write('gth: 40\r\n\r\nHello, my first docker images! ');
      s.write('pod-abcde');
    });
    const o = await once(url);
    assert.equal(o.error, undefined);
    if (o.error) return;
    assert.equal(o.status, 200);
    assert.equal(o.server, 'raw/1');
    assert.equal(o.bodyLength, 40);
    assert.equal(o.tail?.toString(), 'images! pod-abcde'.slice(-16));
    assert.ok(o.bytesRead > 40);
    assert.equal(
      requests[0],
      `GET /hello?x=1 HTTP/1.0\r\nHost: ${url.host}\r\nUser-Agent: skiff-load/0.1\r\nAccept: */*\r\n\r\n`,
    );
  });

  test('without Content-Length, the close ends the body', async () => {
    const { url } = await rawServer((_req, s) => s.end('HTTP/1.0 404 Not Found\r\n\r\nnope'));
    const o = await once(url);
    assert.ok(!o.error && o.status === 404 && o.bodyLength === 4, JSON.stringify(o));
  });

  test('HEAD has no body whatever Content-Length says', async () => {
    const { url } = await rawServer((_req, s) =>
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'),
    );
    const o = await once(url, 'HEAD');
    assert.ok(!o.error && o.status === 200 && o.bodyLength === 0, JSON.stringify(o));
  });

  test('a close before the whole body is a reset', async () => {
    const { url } = await rawServer((_req, s) =>
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc'),
    );
    const o = await once(url);
    assert.equal((o.error as { code?: string } | undefined)?.code, 'ECONNRESET');
  });

  test('a close before any answer is a reset; garbage is a protocol error', async () => {
    const closed = await rawServer((_req, s) => s.end());
    assert.equal(((await once(closed.url)).error as { code?: string }).code, 'ECONNRESET');
    const garbage = await rawServer((_req, s) => s.end('SSH-2.0-nope\r\n\r\n'));
    assert.match(String((await once(garbage.url)).error), /malformed status line/);
  });
});
