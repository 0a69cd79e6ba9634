import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { SpdySession, type SpdyStream } from '../lib/spdy/session.js';
import type { PodWorker } from './pod-worker.js';
import { servePortForward } from './port-forward.js';

function readAll(s: SpdyStream): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
    });
    s.on('end', () => resolve(text));
  });
}

async function session(worker: Partial<PodWorker>) {
  const srv = net.createServer((sock) =>
    servePortForward(sock, { namespace: 'default', name: 'p', worker: worker as PodWorker }),
  );
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await once(c, 'connect');
  const client = new SpdySession(c, { server: false });
  return {
    client,
    done: () => {
      client.close();
      srv.close();
    },
  };
}

test('a pod without a running sandbox: the error stream says so, the host is never dialled', async () => {
  const { client, done } = await session({ uid: 'u1', sandbox: undefined });
  const error = client.openStream({ streamType: 'error', port: '22', requestID: '0' });
  error.end();
  const data = client.openStream({ streamType: 'data', port: '22', requestID: '0' });
  const [msg, rest] = await Promise.all([readAll(error), readAll(data)]);
  assert.match(msg, /error forwarding port 22 to pod u1.*the pod sandbox is not running/);
  assert.equal(rest, '');
  done();
});

test('an invalid port is refused on the error stream', async () => {
  const { client, done } = await session({ uid: 'u1', sandbox: undefined });
  const error = client.openStream({ streamType: 'error', port: '99999', requestID: '7' });
  const data = client.openStream({ streamType: 'data', port: '99999', requestID: '7' });
  data.resume();
  assert.match(await readAll(error), /invalid port: 99999/);
  done();
});
