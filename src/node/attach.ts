// Attach to a container's main process (kubelet pkg/kubelet/server/server.go getAttach, CRI
// streaming attach): its output as the shim records it, live; stdin into the FIFO the shim made as
// the process's stdin (spec.stdin), closed for good after the first session when spec.stdinOnce;
// resize to the pty of a spec.tty container. The channels are exec's (websocket or SPDY).
import { constants, existsSync, openSync, statSync } from 'node:fs';
import net from 'node:net';
import { queryBool } from '../api/query.js';
import { attemptState, LogTail } from './log-tail.js';
import type { ExecIO, KubeletServerOptions } from './server.js';

// Container attempts (by container id) whose stdin has had its one session (stdinOnce).
const attachedOnce = new Set<string>();

function notFound(io: ExecIO, container: string, pod: string): void {
  io.finish({
    metadata: {},
    status: 'Failure',
    message: `container ${container} not found in pod ${pod}`,
    reason: 'NotFound',
    code: 404,
  });
}

/** Streams one CRI record to the client: the record's stream, its text, a newline unless partial. */
function forward(io: ExecIO, lines: string, isTty: boolean): void {
  for (const line of lines.split('\n')) {
    const a = line.indexOf(' ');
    const b = line.indexOf(' ', a + 1);
    const c = line.indexOf(' ', b + 1);
    if (a < 0 || b < 0 || c < 0) continue;
    const text = line.slice(c + 1) + (line.slice(b + 1, c) === 'P' ? '' : '\n');
    if (line.slice(a + 1, b) === 'stderr' && !isTty) io.stderr(Buffer.from(text));
    else io.stdout(Buffer.from(text));
  }
}

/** Opens the write side of a container's stdin FIFO without ever blocking (no reader: error). */
function openStdin(file: string): net.Socket {
  const fd = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: false, writable: true });
}

/** Serves an attach session to a running container over the given streams. */
export function serveAttach(
  opts: KubeletServerOptions,
  parts: string[],
  q: URLSearchParams,
  io: ExecIO,
): void {
  const [, ns = '', podName = '', container = ''] = parts;
  const w = opts.findPod(ns, podName);
  const c = w?.container(container);
  const file = w?.logFile(container, false);
  if (!w || !c || !file || w.containerPid(container) === undefined) {
    notFound(io, container, podName);
    return;
  }
  const id = `${w.uid}/${container}/${c.attempt}`;
  // The first session of a stdinOnce container also gets what it printed before the session
  // began: `kubectl run -i` attaches only once the pod runs, and a short command has often
  // written everything by then (upstream loses that output; kubectl then falls back to logs).
  const isFirstOnce = !!c.spec.stdinOnce && !attachedOnce.has(id);
  const isTty = !!c.spec.tty;
  let stdin: net.Socket | undefined;
  let isClosed = false;
  // The client left (detached, interrupted): nothing more to send.
  let isGone = false;
  const endStdin = () => {
    if (isClosed) return;
    isClosed = true;
    const done = () => stdin?.end();
    // stdinOnce: the container's stdin reaches EOF once this session is over.
    if (c.spec.stdinOnce) c.closeStdin().then(done, done);
    else done();
  };
  const stdinFile = c.stdinPath();
  if (queryBool(q, 'stdin') && stdinFile && !(c.spec.stdinOnce && attachedOnce.has(id))) {
    try {
      stdin = openStdin(stdinFile);
      stdin.on('error', (err) => opts.log.debug('attach stdin', { err: String(err) }));
    } catch (err) {
      opts.log.debug('attach: no stdin reader', { err: String(err) });
    }
  }
  if (c.spec.stdinOnce) attachedOnce.add(id);
  io.onStdin((d) => stdin?.write(d), endStdin);
  io.onResize((line) => {
    try {
      const size = JSON.parse(line) as { Width?: number; Height?: number };
      if (size.Width && size.Height) void c.resize(size.Width, size.Height).catch(() => undefined);
    } catch (err) {
      opts.log.debug('attach: bad resize message', { err: String(err) });
    }
  });
  const tail = new LogTail({
    file,
    offset: isFirstOnce || !existsSync(file) ? 0 : statSync(file).size,
    clock: opts.clock,
    log: opts.log,
    onLines: (text) => forward(io, text, isTty),
    state: () => attemptState(opts.findPod, w, container, c.attempt),
    // The container ended: as the kubelet, the session ends with a Success status.
    onEnd: () => {
      endStdin();
      if (!isGone) io.finish({ metadata: {}, status: 'Success' });
    },
  });
  io.onClose(() => {
    isGone = true;
    tail.stop();
  });
}
