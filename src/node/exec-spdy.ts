// Exec over SPDY/3.1 (kubectl ≤1.29, and newer ones when the websocket upgrade is refused),
// protocol v4.channel.k8s.io (kubelet pkg/kubelet/cri/streaming/remotecommand): the client opens
// one SPDY stream per channel, named by its `streamType` header (error, stdin, stdout, stderr,
// resize); the exec starts once every stream the query asked for is there, and the final
// metav1.Status is written on the error stream.

import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { queryBool } from '../api/query.js';
import { SpdySession, type SpdyStream } from '../lib/spdy/session.js';
import type { ExecIO } from './server.js';

const execProtocol = 'v4.channel.k8s.io';
// The kubelet's streamCreationTimeout default.
const streamWaitMs = 30_000;

function offeredProtocols(req: http.IncomingMessage): string[] {
  const v = req.headers['x-stream-protocol-version'];
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).split(',').map((p) => p.trim());
}

function spdyExecIO(session: SpdySession, streams: Map<string, SpdyStream>): ExecIO {
  const stdout = streams.get('stdout');
  const stderr = streams.get('stderr');
  const error = streams.get('error');
  return {
    stdout: (d) => stdout?.write(d),
    stderr: (d) => stderr?.write(d),
    finish: (status) => {
      error?.end(JSON.stringify(status));
      stdout?.end();
      stderr?.end();
      // As the kubelet, end the connection after the status (the frames above drain first).
      session.close();
    },
    onStdin: (data, end) => {
      const stdin = streams.get('stdin');
      stdin?.on('data', data);
      stdin?.on('end', end);
    },
    onResize: (cb) => {
      // Concatenated JSON objects; the pty helper reads one per line.
      streams.get('resize')?.on('data', (d: Buffer) => {
        for (const line of d.toString().replace(/}\s*{/g, '}\n{').split('\n')) {
          if (line.trim()) cb(line.trim());
        }
      });
    },
    onClose: (cb) => session.on('close', cb),
  };
}

/** Answers a SPDY exec upgrade and calls start once the client's streams are all open. */
export function upgradeSpdyExec(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  q: URLSearchParams,
  start: (io: ExecIO) => void,
): void {
  if (!offeredProtocols(req).includes(execProtocol)) {
    const msg = `unable to upgrade: server supports [${execProtocol}], client offered [${offeredProtocols(req).join(' ')}]`;
    socket.end(
      `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`,
    );
    return;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${execProtocol}\r\n\r\n`,
  );
  if (head.length) socket.unshift(head);
  const tty = queryBool(q, 'tty');
  const expected = ['error'];
  if (queryBool(q, 'stdin')) expected.push('stdin');
  if (queryBool(q, 'stdout')) expected.push('stdout');
  if (queryBool(q, 'stderr') && !tty) expected.push('stderr');
  if (tty) expected.push('resize');
  const session = new SpdySession(socket, { server: true });
  const streams = new Map<string, SpdyStream>();
  const timer = setTimeout(() => session.close(), streamWaitMs);
  timer.unref();
  session.on('stream', (s) => {
    const type = s.headers['streamtype'] ?? '';
    if (!expected.includes(type) || streams.has(type)) {
      s.reset();
      return;
    }
    streams.set(type, s);
    if (type === 'error' || type === 'stdout' || type === 'stderr') s.resume();
    if (streams.size === expected.length) {
      clearTimeout(timer);
      start(spdyExecIO(session, streams));
    }
  });
}
