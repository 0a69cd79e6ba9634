// The kubelet server (pkg/kubelet/server/server.go): container logs, exec and attach over WebSocket
// (v5/v4.channel.k8s.io) or SPDY, port-forward, and the Summary API (/stats/summary), behind a
// bearer token.

import { existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import { queryBool } from '../api/query.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { serveAttach } from './attach.js';
import type { CgroupManager } from './cgroups/cgroups.js';
import { upgradeSpdyExec } from './exec-spdy.js';
import { attemptState, LogTail } from './log-tail.js';
import type { PodWorker } from './pod-worker.js';
import {
  portForwardProtocol,
  portForwardTunnelProtocol,
  servePortForward,
} from './port-forward.js';
import { readProcUsage } from './sandbox/proc.js';

/** Options of startKubeletServer. */
export interface KubeletServerOptions {
  host: string;
  port: number;
  /** Bearer token callers must present; empty = no check (tests). */
  token: string;
  /** TLS key/cert (PEM); plain http when absent. */
  tls?: { key: string; cert: string };
  clock: Clock;
  log: Logger;
  nodeName: string;
  cgroups?: CgroupManager;
  findPod(namespace: string, name: string): PodWorker | undefined;
  workers(): PodWorker[];
}

interface CriLine {
  ts: string;
  stream: string;
  partial: boolean;
  text: string;
}

function parseCri(line: string): CriLine | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  return {
    ts: line.slice(0, a),
    stream: line.slice(a + 1, b),
    partial: line.slice(b + 1, c) === 'P',
    text: line.slice(c + 1),
  };
}

/** Renders CRI log lines as kubectl expects (optionally with timestamps, since, tail, limit). */
export function renderLogs(
  raw: string,
  q: { timestamps?: boolean; sinceMs?: number; tailLines?: number; limitBytes?: number },
): string {
  const out: string[] = [];
  let pending = '';
  let lastTs = '';
  for (const line of raw.split('\n')) {
    const l = parseCri(line);
    if (!l) continue;
    if (q.sinceMs !== undefined && Date.parse(l.ts) < q.sinceMs) continue;
    pending += l.text;
    lastTs = l.ts;
    if (l.partial) continue;
    out.push(q.timestamps ? `${l.ts} ${pending}\n` : `${pending}\n`);
    pending = '';
  }
  // A last partial line (the container exited mid-line) is shown as is, without a newline, like
  // the kubelet shows a partial CRI record.
  if (pending) out.push(q.timestamps ? `${lastTs} ${pending}` : pending);
  let lines = q.tailLines !== undefined ? out.slice(Math.max(0, out.length - q.tailLines)) : out;
  if (q.tailLines === 0) lines = [];
  let text = lines.join('');
  if (q.limitBytes !== undefined) text = Buffer.from(text).subarray(0, q.limitBytes).toString();
  return text;
}

function readLog(file: string): string {
  let text = '';
  if (existsSync(`${file}.1`)) text += readFileSync(`${file}.1`, 'utf8');
  if (existsSync(file)) text += readFileSync(file, 'utf8');
  return text;
}

/** Starts the kubelet server; resolves once listening. */
export async function startKubeletServer(
  opts: KubeletServerOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) =>
      ['v5.channel.k8s.io', 'v4.channel.k8s.io'].find((p) => protocols.has(p)) ?? false,
  });
  wss.on('headers', (headers, req) => {
    if (tunnelRequests.delete(req))
      headers.push(`Sec-WebSocket-Protocol: ${portForwardTunnelProtocol}`);
  });
  const authorized = (req: http.IncomingMessage) =>
    !opts.token || req.headers.authorization === `Bearer ${opts.token}`;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!authorized(req)) {
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('Unauthorized');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'containerLogs' && parts.length === 4) {
      serveLogs(opts, parts, url.searchParams, req, res);
    } else if (url.pathname === '/stats/summary') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(summary(opts)));
    } else if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found');
    }
  };
  const server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
    : http.createServer(handler);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const parts = url.pathname.split('/').filter(Boolean);
    if (!authorized(req)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    if (parts[0] === 'portForward' && parts.length === 3) {
      upgradePortForward(opts, parts, req, socket, head, wss);
      return;
    }
    if ((parts[0] !== 'exec' && parts[0] !== 'attach') || parts.length !== 4) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    // Attach speaks exec's channel protocols, to the container's main process.
    const serve = parts[0] === 'exec' ? serveExec : serveAttach;
    if (String(req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1') {
      upgradeSpdyExec(req, socket, head, url.searchParams, (io) =>
        serve(opts, parts, url.searchParams, io),
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) =>
      serve(opts, parts, url.searchParams, websocketExecIO(ws)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : opts.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function serveLogs(
  opts: KubeletServerOptions,
  parts: string[],
  q: URLSearchParams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
) {
  const [, ns = '', podName = '', container = ''] = parts;
  const w = opts.findPod(ns, podName);
  const previous = queryBool(q, 'previous');
  const file = w?.logFile(container, previous);
  if (!w || !file) {
    const msg = !w
      ? `pod "${podName}" not found`
      : previous
        ? `previous terminated container "${container}" in pod "${podName}" not found`
        : `container "${container}" in pod "${podName}" is not available`;
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end(msg);
    return;
  }
  const sinceTime = q.get('sinceTime');
  const sinceSeconds = q.get('sinceSeconds');
  const sinceMs = sinceTime
    ? Date.parse(sinceTime)
    : sinceSeconds
      ? opts.clock.now() - Number(sinceSeconds) * 1000
      : undefined;
  const fmt = {
    timestamps: queryBool(q, 'timestamps'),
    sinceMs,
    tailLines: q.has('tailLines') ? Number(q.get('tailLines')) : undefined,
    limitBytes: q.has('limitBytes') ? Number(q.get('limitBytes')) : undefined,
  };
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  const initial = readLog(file);
  res.write(renderLogs(initial, fmt));
  if (!queryBool(q, 'follow') || previous) {
    res.end();
    return;
  }
  // Follow until the container is restarted, has stopped (after its last bytes), or the client
  // leaves.
  const attempt = w.container(container)?.attempt;
  const tail = new LogTail({
    file,
    offset: existsSync(file) ? statSync(file).size : 0,
    clock: opts.clock,
    log: opts.log,
    onLines: (text) => res.write(renderLogs(text, { timestamps: fmt.timestamps })),
    state: () => attemptState(opts.findPod, w, container, attempt),
    onEnd: () => res.end(),
  });
  req.on('close', () => tail.stop());
}

/** Port-forward websocket upgrades in flight, whose answer names the tunnel subprotocol. */
const tunnelRequests = new WeakSet<http.IncomingMessage>();

/** pods/portforward: a plain SPDY/3.1 upgrade, or SPDY tunnelled in a websocket. */
function upgradePortForward(
  opts: KubeletServerOptions,
  parts: string[],
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  wss: WebSocketServer,
) {
  const [, ns = '', podName = ''] = parts;
  const worker = opts.findPod(ns, podName);
  if (!worker) {
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\npod not found`);
    return;
  }
  const target = { namespace: ns, name: podName, worker };
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade === 'websocket') {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(/\s*,\s*/);
    if (!offered.includes(portForwardTunnelProtocol)) {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\nport-forward needs a SPDY tunnel subprotocol');
      return;
    }
    // `/` is no token character, so ws refuses the subprotocol: take it out of the request and
    // name it in the answer (the 'headers' hook below).
    delete req.headers['sec-websocket-protocol'];
    tunnelRequests.add(req);
    wss.handleUpgrade(req, socket, head, (ws) => {
      servePortForward(createWebSocketStream(ws), target);
    });
    return;
  }
  if (upgrade !== 'spdy/3.1') {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\nunsupported upgrade');
    return;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${portForwardProtocol}\r\n\r\n`,
  );
  if (head.length) socket.unshift(head);
  servePortForward(socket, target);
}

/** The streams of one exec, whatever carries them (websocket channels or SPDY streams). */
export interface ExecIO {
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  /** Sends the final metav1.Status and ends the session. */
  finish(status: object): void;
  onStdin(data: (d: Buffer) => void, end: () => void): void;
  /** Resize messages, one JSON object ({"Width":..,"Height":..}) per line. */
  onResize(cb: (line: string) => void): void;
  onClose(cb: () => void): void;
}

function websocketExecIO(ws: WebSocket): ExecIO {
  const isV5 = ws.protocol === 'v5.channel.k8s.io';
  const send = (ch: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), Buffer.from(data)]));
  };
  let stdin: ((d: Buffer) => void) | undefined;
  let stdinEnd: (() => void) | undefined;
  let resize: ((line: string) => void) | undefined;
  ws.on('message', (data: Buffer) => {
    const ch = data[0];
    const payload = data.subarray(1);
    if (ch === 0) stdin?.(payload);
    else if (ch === 4) resize?.(payload.toString().trim());
    else if (ch === 255 && isV5 && payload[0] === 0) stdinEnd?.();
  });
  return {
    stdout: (d) => send(1, d),
    stderr: (d) => send(2, d),
    finish: (status) => {
      send(3, JSON.stringify(status));
      ws.close(1000);
    },
    onStdin: (data, end) => {
      stdin = data;
      stdinEnd = end;
    },
    onResize: (cb) => {
      resize = cb;
    },
    onClose: (cb) => ws.on('close', cb),
  };
}

/** Runs an exec in a container over the given streams. */
export function serveExec(
  opts: KubeletServerOptions,
  parts: string[],
  q: URLSearchParams,
  io: ExecIO,
): void {
  const [, ns = '', podName = '', container = ''] = parts;
  const finish = io.finish;
  const w = opts.findPod(ns, podName);
  const c = w?.container(container);
  const command = q.getAll('command');
  if (!w || !c || !w.sandbox || !command.length) {
    finish({
      metadata: {},
      status: 'Failure',
      message: `container ${container} not found in pod ${podName}`,
      reason: 'NotFound',
      code: 404,
    });
    return;
  }
  if (!c.canExec) {
    finish({
      metadata: {},
      status: 'Failure',
      message: `container ${container} is not running in pod ${podName}`,
      reason: 'BadRequest',
      code: 400,
    });
    return;
  }
  const tty = queryBool(q, 'tty');
  // The shim runs the command (runtime/shim-exec.ts); a pty joins stderr into stdout.
  const exec = c.startExec(
    { argv: command, tty, stdin: queryBool(q, 'stdin') },
    { stdout: (d) => io.stdout(d), stderr: (d) => io.stderr(d) },
  );
  io.onStdin(
    (d) => exec.write(d),
    () => exec.closeStdin(),
  );
  io.onResize((line) => exec.resize(line));
  let isDone = false;
  io.onClose(() => {
    if (!isDone) exec.kill();
  });
  exec.exitCode.then(
    (exitCode) => {
      isDone = true;
      if (exitCode === 0) finish({ metadata: {}, status: 'Success' });
      else {
        finish({
          metadata: {},
          status: 'Failure',
          message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
          reason: 'NonZeroExitCode',
          details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
        });
      }
    },
    (err: Error) => {
      isDone = true;
      finish({
        metadata: {},
        status: 'Failure',
        message: err.message,
        reason: 'InternalError',
        code: 500,
      });
    },
  );
}

let lastNodeCpu: { at: number; nanos: number } | undefined;

function nodeCpuNanos(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy * 1e7; // USER_HZ = 100
}

/** The Summary API answer (k8s.io/kubelet/pkg/apis/stats/v1alpha1). */
function summary(opts: KubeletServerOptions) {
  const now = opts.clock.now();
  const time = new Date(now).toISOString();
  const nanos = nodeCpuNanos();
  const rate =
    lastNodeCpu && now > lastNodeCpu.at
      ? ((nanos - lastNodeCpu.nanos) / (now - lastNodeCpu.at)) * 1e6
      : 0;
  lastNodeCpu = { at: now, nanos };
  const mem = readFileSync('/proc/meminfo', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(mem)?.[1] ?? 0) * 1024;
  const pods = opts.workers().map((w) => {
    const containers = (w.pod.spec?.containers ?? []).map((c) => {
      let cpu = 0;
      let ws = 0;
      const u = opts.cgroups?.usage(w.uid, c.name);
      if (u) {
        cpu = u.cpuUsageNanos;
        ws = u.memoryWorkingSetBytes;
      } else {
        const pid = w.containerPid(c.name);
        const p = pid ? readProcUsage(pid) : undefined;
        if (p) {
          cpu = p.cpuTicks * 1e7;
          ws = p.rssPages * 4096;
        }
      }
      return {
        name: c.name,
        startTime: w.pod.status?.startTime ?? time,
        cpu: { time, usageCoreNanoSeconds: cpu },
        memory: { time, workingSetBytes: ws, usageBytes: ws },
      };
    });
    return {
      podRef: { name: w.pod.metadata?.name, namespace: w.pod.metadata?.namespace, uid: w.uid },
      startTime: w.pod.status?.startTime ?? time,
      containers,
      cpu: {
        time,
        usageCoreNanoSeconds: containers.reduce((a, c) => a + c.cpu.usageCoreNanoSeconds, 0),
      },
      memory: {
        time,
        workingSetBytes: containers.reduce((a, c) => a + c.memory.workingSetBytes, 0),
      },
    };
  });
  return {
    node: {
      nodeName: opts.nodeName,
      startTime: new Date(now - os.uptime() * 1000).toISOString(),
      cpu: { time, usageNanoCores: Math.round(rate), usageCoreNanoSeconds: nanos },
      memory: {
        time,
        workingSetBytes: kb('MemTotal') - kb('MemAvailable'),
        availableBytes: kb('MemAvailable'),
        usageBytes: kb('MemTotal') - kb('MemFree'),
      },
    },
    pods,
  };
}
