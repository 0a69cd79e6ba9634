// Client of a pod shim's control socket: newline-delimited JSON requests with ids, plus the
// `exit` events the shim pushes when a container dies. The protocol is runtime/shim-protocol.json
// (shim.py enforces it; protocol.test.ts keeps these types equal to it).
import net from 'node:net';
import type { ContainerRootfs } from '../sandbox/rootfs.js';
import { ShimExec, type ShimExecOutput, type ShimExecRequest } from './shim-exec.js';

/** A container as the shim records it (mirrors shim.py's state dict). */
export interface ShimContainer {
  name: string;
  attempt: number;
  pid: number;
  startedAt: string;
  startError?: string;
  exit: { exitCode: number; signal: number; finishedAt: string } | null;
}

/** What the shim needs to start one container process. */
export interface ShimStartRequest {
  name: string;
  attempt: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  cgroupProcs: string[];
  /** Log file, relative to the pod directory. */
  logFile: string;
  maxLogBytes?: number;
  /** The container's own root from image layers; absent: the pod's root. */
  rootfs?: ContainerRootfs;
  /**
   * A FIFO (relative to the pod directory) the shim makes as the container's stdin (spec.stdin);
   * attach writes to it. Absent: stdin is /dev/null.
   */
  stdinFile?: string;
  /** Runs the container on a pseudo-terminal (spec.tty): one output stream, resizable. */
  tty?: boolean;
}

type Pending = { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void };

/** One connection to a shim. */
export class ShimClient {
  /** The shim's socket (an exec opens a connection of its own). */
  readonly socketPath: string;
  #sock: net.Socket;
  #seq = 0;
  #pending = new Map<number, Pending>();
  #buf = '';
  #onExit: (c: ShimContainer) => void = () => undefined;
  #onClose: () => void = () => undefined;
  #closed = false;
  #closedWaiters: Array<() => void> = [];

  private constructor(sock: net.Socket, socketPath: string) {
    this.socketPath = socketPath;
    this.#sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.#onData(d));
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      this.#closed = true;
      for (const w of this.#closedWaiters.splice(0)) w();
      for (const p of this.#pending.values()) p.reject(new Error('shim connection closed'));
      this.#pending.clear();
      this.#onClose();
    });
  }

  /** Connects to the shim's socket. */
  static connect(socketPath: string): Promise<ShimClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath);
      sock.once('connect', () => {
        sock.removeListener('error', reject);
        resolve(new ShimClient(sock, socketPath));
      });
      sock.once('error', reject);
    });
  }

  /** True once the connection is gone (the shim exited or was killed). */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection is gone (the shim closes it only by exiting, or close()). */
  whenClosed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#closedWaiters.push(resolve));
  }

  /** Sets the handler for container exits. */
  onExit(fn: (c: ShimContainer) => void): void {
    this.#onExit = fn;
  }

  /** Sets the handler for the connection closing. */
  onClose(fn: () => void): void {
    this.#onClose = fn;
  }

  /** Starts a container process. */
  async start(req: ShimStartRequest): Promise<ShimContainer> {
    const res = await this.#call({ op: 'start', ...req });
    return res['container'] as ShimContainer;
  }

  /** Sends a signal to a container's main process (group: to its whole process group). */
  async signal(name: string, signal: number, group = false): Promise<void> {
    await this.#call({ op: 'signal', name, signal, group });
  }

  /** Closes the shim's own end of a container's stdin: EOF once attached writers leave. */
  async closeStdin(name: string): Promise<void> {
    await this.#call({ op: 'closeStdin', name });
  }

  /** Sets the terminal size of a TTY container. */
  async resize(name: string, width: number, height: number): Promise<void> {
    await this.#call({ op: 'resize', name, width, height });
  }

  /** Runs a command in a container (kubectl exec, probes, hooks) on a connection of its own. */
  exec(req: ShimExecRequest, out: ShimExecOutput): ShimExec {
    return new ShimExec(this.socketPath, req, out);
  }

  /** The shim's record of every container. */
  async state(): Promise<Record<string, ShimContainer>> {
    const res = await this.#call({ op: 'state' });
    return res['containers'] as Record<string, ShimContainer>;
  }

  /** Asks the shim to kill everything and exit. */
  async shutdown(): Promise<void> {
    await this.#call({ op: 'shutdown' }).catch(() => undefined);
  }

  /** Closes this connection (the shim keeps running). */
  close(): void {
    this.#sock.destroy();
  }

  #call(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new Error('shim connection closed'));
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#sock.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  #onData(d: string): void {
    this.#buf += d;
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl < 0) return;
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg['event'] === 'exit') {
        this.#onExit(msg['container'] as ShimContainer);
        continue;
      }
      const p = this.#pending.get(msg['id'] as number);
      if (!p) continue;
      this.#pending.delete(msg['id'] as number);
      if (msg['ok']) p.resolve(msg);
      else p.reject(new Error(String(msg['error'])));
    }
  }
}
