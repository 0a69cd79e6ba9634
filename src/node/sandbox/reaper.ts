// Client of the shim reaper (runtime/reaper.py): a child subreaper that starts every pod shim and
// reaps it when it exits, so no stopped pod leaves a zombie even when PID 1 never reaps orphans.
// One per data dir; it outlives a killed Skiff and the next Skiff re-uses it (adoption).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../lib/clock.js';

const runtimeDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../runtime');
/** The interpreter of the shim and the reaper. */
export const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** argv of a pod shim (it waits for its config on stdin). */
export const shimArgv = [python, '-I', '-S', path.join(runtimeDir, 'shim.py')];

/** Path of a data dir's reaper socket: in the dir when short enough for sun_path. */
export function reaperSocketPath(dir: string): string {
  const p = path.join(dir, 'reaper.sock');
  if (p.length < 100) return p;
  const h = createHash('sha1').update(dir).digest('hex').slice(0, 20);
  return path.join(tmpdir(), `skiff-reaper-${h}.sock`);
}

/** Sends one line on a new connection and resolves with the first line of the answer. */
function ask(
  socketPath: string,
  line: string,
  timeoutMs: number,
): Promise<{ sock: net.Socket; reply: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    const fail = (err: Error) => {
      sock.destroy();
      reject(err);
    };
    sock.setTimeout(timeoutMs, () => fail(new Error(`shim reaper at ${socketPath}: no answer`)));
    sock.setEncoding('utf8');
    sock.on('error', fail);
    sock.on('close', () => reject(new Error(`shim reaper at ${socketPath} closed the connection`)));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.setTimeout(0);
      sock.removeAllListeners('data');
      resolve({ sock, reply: buf.slice(0, nl) });
    });
    sock.write(`${line}\n`);
  });
}

/** The reaper of one data dir, held (kept alive) by this process until release(). */
export class ShimReaper {
  readonly socketPath: string;
  readonly pid: number;
  #control: net.Socket;
  #child?: Started;

  private constructor(opts: {
    socketPath: string;
    pid: number;
    control: net.Socket;
    child?: Started;
  }) {
    this.socketPath = opts.socketPath;
    this.pid = opts.pid;
    this.#control = opts.control;
    this.#child = opts.child;
    // A reaper that dies under us is replaced at the next open(); nothing to do here. The
    // control connection must not keep this process alive.
    opts.control.on('error', () => opts.control.destroy());
    opts.control.unref();
  }

  /** Holds the reaper a previous run left on dir, or starts one (this process is its parent). */
  static async open(opts: { dir: string }): Promise<ShimReaper> {
    mkdirSync(opts.dir, { recursive: true });
    const socketPath = reaperSocketPath(opts.dir);
    let lastErr: unknown;
    for (let i = 0; i < 3; i++) {
      try {
        // A live reaper answers at once; a stale socket refuses (or the reaper is exiting).
        if (existsSync(socketPath)) {
          const held = await ask(socketPath, 'hold', 2000).catch(() => undefined);
          if (held) return ShimReaper.#held(socketPath, held);
        }
        const child = await startReaper(socketPath, opts.dir);
        const held = await ask(socketPath, 'hold', 2000);
        return ShimReaper.#held(socketPath, held, child);
      } catch (err) {
        lastErr = err;
      }
    }
    throw new Error(`cannot start the shim reaper: ${String(lastErr)}`);
  }

  static #held(
    socketPath: string,
    held: { sock: net.Socket; reply: string },
    child?: Started,
  ): ShimReaper {
    const [word, pid] = held.reply.split(' ');
    if (word !== 'held') throw new Error(`shim reaper: unexpected answer ${held.reply}`);
    held.sock.removeAllListeners('close');
    return new ShimReaper({ socketPath, pid: Number(pid), control: held.sock, child });
  }

  /**
   * A new connection that the reaper turns into a fresh shim's stdin and stdout (the shim reads
   * its config line, answers "ready", and exits at EOF when not needed).
   */
  launch(): net.Socket {
    const sock = net.connect(this.socketPath);
    sock.write('spawn\n');
    return sock;
  }

  /**
   * Lets go of the reaper. It exits once no shim is left; when this process started it, waits
   * for that exit so Node reaps it (an adopted reaper's parent is PID 1, out of our hands).
   */
  async release(clock: Clock): Promise<void> {
    const sock = this.#control;
    if (sock.destroyed) return;
    sock.ref(); // the answer must keep this process alive
    const reply = await new Promise<string>((resolve) => {
      let buf = '';
      sock.on('data', (d: string) => {
        buf += d;
        if (buf.includes('\n')) resolve(buf.trim());
      });
      sock.once('close', () => resolve(buf.trim()));
      sock.write('release\n');
    });
    sock.destroy();
    const child = this.#child;
    if (reply !== 'bye' || !child) return;
    // Our child: wait for its exit (Node reaps it then), but never more than 2 s.
    child.process.ref();
    let timer: { cancel(): void } | undefined;
    await Promise.race([
      child.exited,
      new Promise<void>((resolve) => {
        timer = clock.setTimeout(resolve, 2000);
      }),
    ]);
    timer?.cancel();
    child.process.unref();
  }
}

/** A reaper this process started. */
interface Started {
  process: ChildProcess;
  exited: Promise<void>;
}

/** Starts a reaper (detached: Skiff's terminal and death do not reach it). */
async function startReaper(socketPath: string, dir: string): Promise<Started> {
  // stderr (the reaper's, and a shim's before it knows its pod) goes to reaper.log.
  const logFd = openSync(path.join(dir, 'reaper.log'), 'a');
  const child = spawn(
    python,
    ['-I', '-S', path.join(runtimeDir, 'reaper.py'), socketPath, ...shimArgv],
    { detached: true, stdio: ['ignore', 'pipe', logFd] },
  );
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ok = await new Promise<boolean>((resolve) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.startsWith('ready '));
    });
    child.stdout?.once('close', () => resolve(false));
    child.once('error', () => resolve(false));
  });
  child.stdout?.destroy();
  child.unref();
  if (!ok) throw new Error(`shim reaper did not start (see ${path.join(dir, 'reaper.log')})`);
  return { process: child, exited };
}
