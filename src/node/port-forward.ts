// Port forwarding into a pod (kubelet pkg/kubelet/cri/streaming/portforward): the client opens a
// pair of SPDY streams per connection, `streamType: error` and `streamType: data`, tied by
// `requestID` and naming the `port`; once both are there the agent connects to localhost:port
// inside the pod's network namespace and copies bytes both ways. A failure is written as text on
// the error stream. The SPDY session arrives as a plain `Upgrade: SPDY/3.1` connection or
// tunnelled in a websocket (`SPDY/3.1+portforward.k8s.io`, kubectl 1.30+).

import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { type Duplex, PassThrough } from 'node:stream';
import { SpdySession, type SpdyStream } from '../lib/spdy/session.js';
import type { PodWorker } from './pod-worker.js';

export const portForwardProtocol = 'portforward.k8s.io';
export const portForwardTunnelProtocol = `SPDY/3.1+${portForwardProtocol}`;

// Relays stdin/stdout to localhost:PORT; runs in the pod's network namespace (nsenter -n only, so
// the host's python and filesystem are used and the pod's root needs nothing).
const relay = `
import os, socket, sys, threading
port = int(sys.argv[1])
try:
    s = socket.create_connection(("127.0.0.1", port))
except OSError as e:
    sys.stderr.write("dial tcp4 127.0.0.1:%d: connect: %s" % (port, e.strerror.lower() if e.strerror else e))
    sys.exit(1)
def up():
    while True:
        d = os.read(0, 65536)
        if not d:
            break
        s.sendall(d)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
threading.Thread(target=up, daemon=True).start()
while True:
    d = s.recv(65536)
    if not d:
        break
    os.write(1, d)
`;

/** Where and how to reach the pod's ports. */
export interface PortForwardTarget {
  namespace: string;
  name: string;
  worker: PodWorker;
}

/** How long the pod's side may still send after the client half-closed (containerd: 1 s). */
const clientCloseGraceMs = 1000;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
}

function connectInPod(
  target: PortForwardTarget,
  port: number,
): { sock: Duplex; failed: Promise<string> } | { child: ChildProcess; failed: Promise<string> } {
  const sandbox = target.worker.sandbox;
  if (!sandbox?.isAlive) {
    // No sandbox (yet, or any more): there is no pod network to enter, and the host's localhost
    // must never stand in for it.
    const sock = new PassThrough();
    return { sock, failed: Promise.resolve('the pod sandbox is not running') };
  }
  if (sandbox.isolated) {
    const python = '/usr/bin/python3';
    const child = spawn(
      'nsenter',
      ['-t', String(sandbox.shimPid), '-n', '--', python, '-c', relay, String(port)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const failed = new Promise<string>((resolve) => {
      child.on('error', (e) => resolve(e.message));
      child.on('close', (code) => resolve(code === 0 ? '' : err || `exit ${code}`));
    });
    return { child, failed };
  }
  // Reduced mode (no namespaces): pods share the host's network, so its localhost is theirs.
  const sock = net.connect(port, '127.0.0.1');
  const failed = new Promise<string>((resolve) => {
    sock.on('error', (e) => resolve(`dial tcp4 127.0.0.1:${port}: ${e.message}`));
    sock.on('close', () => resolve(''));
  });
  return { sock, failed };
}

function forward(target: PortForwardTarget, pair: Required<Pair>): void {
  const { error, data } = pair;
  const port = Number(data.headers['port']);
  const fail = (msg: string) => {
    error.end(
      `error forwarding port ${data.headers['port']} to pod ${target.worker.uid}, uid : ${msg}`,
    );
    data.end();
  };
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    fail(`invalid port: ${data.headers['port'] ?? ''}`);
    return;
  }
  const conn = connectInPod(target, port);
  const writable = 'child' in conn ? conn.child.stdin! : conn.sock;
  const readable = 'child' in conn ? conn.child.stdout! : conn.sock;
  writable.on('error', () => undefined);
  data.pipe(writable);
  readable.pipe(data);
  // Ending the relay on purpose: its exit is then no forwarding error (kubectl ≥1.29 resets the
  // data stream of a dropped connection, and treats any error text as fatal for the session).
  let isTornDown = false;
  const teardown = () => {
    isTornDown = true;
    // What the relay still has buffered must not be written after the FIN.
    readable.unpipe(data);
    if ('child' in conn) conn.child.kill('SIGKILL');
    else conn.sock.destroy();
    if (!data.destroyed && !data.writableEnded) data.end();
  };
  data.on('close', teardown);
  // Once the client half-closes the data stream, the pod's side gets a second to finish, then
  // both streams end (containerd's PortForward). A client that dropped a download stops reading
  // its stream: kubectl 1.28 waits for the error stream's end before it lets the stream go, and
  // until then its spdystream holds every frame of the streams that share that stream's worker.
  let grace: NodeJS.Timeout | undefined;
  data.on('end', () => {
    grace = setTimeout(teardown, clientCloseGraceMs);
    grace.unref();
  });
  readable.on('close', () => clearTimeout(grace));
  void conn.failed.then((msg) => {
    if (msg && !isTornDown) {
      fail(
        `failed to connect to localhost:${port} inside namespace of pod ${target.namespace}/${target.name}, IPv4: ${msg.trim()}`,
      );
    } else error.end();
  });
}

/** Serves one port-forward SPDY session on an upgraded connection (or a websocket tunnel). */
export function servePortForward(socket: Duplex, target: PortForwardTarget): SpdySession {
  const session = new SpdySession(socket, { server: true });
  const pairs = new Map<string, Pair>();
  session.on('stream', (s) => {
    const type = s.headers['streamtype'];
    // Clients before requestID (protocol v1 of port-forward) are not supported by kubectl ≥1.6.
    const id = s.headers['requestid'] ?? '';
    if ((type !== 'error' && type !== 'data') || !s.headers['port']) {
      s.reset();
      return;
    }
    const pair = pairs.get(id) ?? {};
    pair[type] = s;
    pairs.set(id, pair);
    s.on('close', () => {
      if (pairs.get(id) === pair) pairs.delete(id);
    });
    if (type === 'error') s.resume(); // the client only half-closes it
    if (pair.error && pair.data) {
      pairs.delete(id);
      forward(target, pair as Required<Pair>);
    }
  });
  return session;
}
