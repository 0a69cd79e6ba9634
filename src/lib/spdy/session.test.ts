import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { spdyDictionary } from './dictionary.js';
import {
  controlFrame,
  encodeHeaderBlock,
  frameType,
  parseFrames,
  type SpdyHeaders,
  SpdySession,
  type SpdyStream,
} from './session.js';

async function pair(): Promise<{ client: SpdySession; server: SpdySession; done(): void }> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  const accepted = once(srv, 'connection');
  const c = net.connect(port, '127.0.0.1');
  const [s] = (await accepted) as [net.Socket];
  await once(c, 'connect');
  const client = new SpdySession(c, { server: false });
  const server = new SpdySession(s, { server: true });
  return {
    client,
    server,
    done: () => {
      client.close();
      server.close();
      srv.close();
    },
  };
}

/** A server session whose peer is a raw socket, for writing hand-made frames at it. */
async function rawClient(): Promise<{ c: net.Socket; server: SpdySession; done(): void }> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const [sock] = (await once(srv, 'connection')) as [net.Socket];
  const server = new SpdySession(sock, { server: true });
  return {
    c,
    server,
    done: () => {
      server.close();
      c.destroy();
      srv.close();
    },
  };
}

function collect(s: SpdyStream): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
    });
    s.on('end', () => resolve(text));
  });
}

test('streams carry headers (one shared zlib context) and data both ways with half-close', async () => {
  const { client, server, done } = await pair();
  const seen: SpdyHeaders[] = [];
  server.on('stream', (s) => {
    seen.push(s.headers);
    // Echo upper-cased once the client half-closes.
    void collect(s).then((t) => s.end(t.toUpperCase()));
  });
  const results = [];
  for (let i = 0; i < 3; i++) {
    const s = client.openStream({ streamType: 'data', port: '80', requestID: String(i) });
    await once(s, 'reply');
    const got = collect(s);
    s.write('hello ');
    s.end(`stream ${i} ${'x'.repeat(100_000)}`);
    results.push(await got);
  }
  assert.deepEqual(
    seen.map((h) => h['requestid']),
    ['0', '1', '2'],
  );
  assert.equal(seen[0]!['streamtype'], 'data');
  assert.equal(results[2], `HELLO STREAM 2 ${'X'.repeat(100_000)}`);
  done();
});

test('a reset on one side destroys the stream on the other; the session lives on', async () => {
  const { client, server, done } = await pair();
  const incoming = once(server, 'stream');
  const s = client.openStream({ streamtype: 'error' });
  const [peer] = (await incoming) as [SpdyStream];
  const closed = once(peer, 'close');
  s.reset();
  await closed;
  assert.equal(server.streamCount, 0);
  const again = once(server, 'stream');
  client.openStream({ streamtype: 'data' });
  await again;
  done();
});

test('frames split across reads are reassembled; a peer ping is echoed', async () => {
  const { c, done } = await rawClient();
  const ping = Buffer.alloc(4);
  ping.writeUInt32BE(7);
  const frame = controlFrame(frameType.ping, 0, ping);
  c.write(frame.subarray(0, 5));
  await new Promise((r) => setTimeout(r, 20));
  c.write(frame.subarray(5));
  const [echo] = (await once(c, 'data')) as [Buffer];
  const { frames } = parseFrames(echo);
  assert.equal(frames[0]?.type, frameType.ping);
  assert.equal(frames[0]?.payload.readUInt32BE(0), 7);
  done();
});

test('garbage (a wrong version) ends the session instead of throwing', async () => {
  const { c, server, done } = await rawClient();
  const closed = once(server, 'close');
  c.write(Buffer.from([0x80, 0x02, 0, 1, 0, 0, 0, 0]));
  await closed;
  done();
});

test('a SYN_STREAM whose headers zlib compressed with the SPDY dictionary is decoded', async () => {
  const { c, server, done } = await rawClient();
  const block = zlib.deflateSync(
    encodeHeaderBlock({ streamtype: 'data', port: '5000', requestid: '0' }),
    { dictionary: spdyDictionary, finishFlush: zlib.constants.Z_SYNC_FLUSH },
  );
  const ids = Buffer.alloc(10);
  ids.writeUInt32BE(1, 0);
  const incoming = once(server, 'stream');
  c.write(controlFrame(frameType.synStream, 0, Buffer.concat([ids, block])));
  const [s] = (await incoming) as [SpdyStream];
  assert.deepEqual(s.headers, { streamtype: 'data', port: '5000', requestid: '0' });
  done();
});
