// A pod sandbox: the shim process (PID 1 of the pod's PID namespace), which makes its own
// mount/UTS/IPC/PID namespaces and joins the pod's network namespace. Survives Skiff's death;
// `attachSandbox` re-connects to it at the next start (the containerd-shim model).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Clock } from '../../lib/clock.js';
import { ShimClient } from '../runtime/shim-client.js';
import { isProcessAlive } from './proc.js';
import type { ShimReaper } from './reaper.js';

/** One mount inside the sandbox. */
export interface SandboxMount {
  source?: string;
  target: string;
  readOnly?: boolean;
  type?: 'bind' | 'tmpfs';
}

/** What a sandbox is made of. */
export interface SandboxSpec {
  /** Per-pod state directory (logs, state.json, volumes). */
  podDir: string;
  hostname: string;
  /** False in reduced mode: no namespaces, the shim runs as a plain detached process. */
  isolated: boolean;
  /** Network namespace file; undefined = host network. */
  netnsPath?: string;
  /** A spare namespace the shim first renames to netnsPath (see PodNetwork.adoptSpare). */
  netnsFrom?: string;
  /** Share the host's UTS namespace (hostNetwork pods keep the node's hostname). */
  shareHostUTS?: boolean;
  /** Address, prefix and gateway the shim gives eth0 from inside the namespace. */
  network?: { ip: string; prefixLength: number; gateway: string };
  mounts: SandboxMount[];
}

interface ShimInfo {
  pid: number;
  startTicks: number;
}

/** A running pod sandbox and the connection to its shim. */
export class Sandbox {
  readonly podDir: string;
  readonly client: ShimClient;
  readonly shimPid: number;
  readonly isolated: boolean;
  #startTicks: number;

  /** Use createSandbox or attachSandbox. */
  constructor(opts: {
    podDir: string;
    client: ShimClient;
    info: ShimInfo;
    isolated: boolean;
  }) {
    this.podDir = opts.podDir;
    this.client = opts.client;
    this.shimPid = opts.info.pid;
    this.#startTicks = opts.info.startTicks;
    this.isolated = opts.isolated;
  }

  /** True while the shim process is alive. */
  get isAlive(): boolean {
    return isProcessAlive(this.shimPid, this.#startTicks);
  }

  /** Kills every container, stops the shim and waits until it is gone. */
  async stop(clock: Clock): Promise<void> {
    await this.client.shutdown();
    // The shim's socket closes as it exits: wait for that instead of polling the whole time.
    let timer: { cancel(): void } | undefined;
    await Promise.race([
      this.client.whenClosed(),
      new Promise<void>((resolve) => {
        timer = clock.setTimeout(resolve, 6000);
      }),
    ]);
    timer?.cancel();
    const deadline = clock.now() + 1000;
    while (this.isAlive && clock.now() < deadline) await clock.sleep(2);
    if (this.isAlive) process.kill(this.shimPid, 'SIGKILL');
    this.client.close();
    // The shim cannot always remove its socket (it may sit in /tmp, outside the pod's view).
    rmSync(shimSocketPath(this.podDir), { force: true });
  }

  /**
   * Runs a command in a container of the sandbox (the shim's exec) and collects its output, both
   * streams (probes, hooks); killed at timeoutMs (exit code 137). Rejects when the shim refuses.
   */
  async capture(
    req: { name: string; argv: string[] },
    clock: Clock,
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string }> {
    const chunks: Buffer[] = [];
    const add = (d: Buffer) => {
      chunks.push(d);
    };
    const exec = this.client.exec(req, { stdout: add, stderr: add });
    let isTimedOut = false;
    const t = clock.setTimeout(() => {
      isTimedOut = true;
      exec.kill();
    }, timeoutMs);
    try {
      const exitCode = await exec.exitCode.catch((err: unknown) => {
        if (isTimedOut) return 137;
        throw err;
      });
      return { exitCode, output: Buffer.concat(chunks).toString() };
    } finally {
      t.cancel();
    }
  }
}

/** Path of the shim's control socket: in the pod dir when short enough for sun_path. */
export function shimSocketPath(podDir: string): string {
  const p = path.join(podDir, 'shim.sock');
  if (p.length < 100) return p;
  const h = createHash('sha1').update(podDir).digest('hex').slice(0, 20);
  return path.join(tmpdir(), `skiff-shim-${h}.sock`);
}

/** A shim started ahead of its sandbox config, so its start-up is off the pod's critical path. */
export interface PendingSandbox {
  /** Sends the config (writes sandbox.json first) and resolves once the shim serves its socket. */
  configure(spec: SandboxSpec): Promise<Sandbox>;
  /** The pod will not start: the shim reads EOF and exits; resolves once it is gone. */
  abandon(): Promise<void>;
  /** False once the waiting shim died. */
  readonly isUsable: boolean;
}

/**
 * Starts a pod shim (through the reaper, which becomes its parent) that waits for its config on
 * the connection. The shim makes its PID namespace and double-forks at once: the process the
 * reaper spawned exits, the shim is re-parented to the reaper, and the reaper reaps it whenever
 * it exits, whether the Skiff that started it still runs or not. `isolated` must match the
 * config's (namespaces, or reduced mode).
 */
export function launchSandbox(reaper: ShimReaper, opts: { isolated: boolean }): PendingSandbox {
  const conn = reaper.launch();
  conn.on('error', () => conn.destroy());
  // Lets the shim make its PID namespace and fork its PID 1 before a pod needs it.
  conn.write(`${JSON.stringify({ isolated: opts.isolated })}\n`);
  let isUsable = true;
  const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
  const ready = new Promise<boolean>((resolve) => {
    let out = '';
    conn.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve(true);
    });
    // EOF without "ready": the shim (or the middle process before forking) died.
    conn.once('close', () => {
      isUsable = false;
      resolve(false);
    });
  });
  return {
    get isUsable() {
      return isUsable;
    },
    async configure(spec) {
      isUsable = false;
      mkdirSync(spec.podDir, { recursive: true });
      const socket = shimSocketPath(spec.podDir);
      const cfg = {
        podDir: spec.podDir,
        hostname: spec.hostname,
        isolated: spec.isolated,
        mounts: spec.mounts,
        socket,
        netnsPath: spec.netnsPath,
        netnsFrom: spec.netnsFrom,
        network: spec.network,
        shareHostUTS: spec.shareHostUTS === true,
      };
      writeFileSync(path.join(spec.podDir, 'sandbox.json'), JSON.stringify(cfg));
      conn.end(`${JSON.stringify(cfg)}\n`);
      const ok = await ready;
      conn.destroy();
      if (!ok) {
        const logFile = path.join(spec.podDir, 'shim.log');
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        const why = log.trim().split('\n').pop();
        throw new Error(why || 'skiff-shim: exited during sandbox setup');
      }
      const infoFile = path.join(spec.podDir, 'shim.json');
      const info = JSON.parse(readFileSync(infoFile, 'utf8')) as ShimInfo;
      const client = await ShimClient.connect(socket);
      return new Sandbox({ podDir: spec.podDir, client, info, isolated: spec.isolated });
    },
    abandon() {
      isUsable = false;
      // EOF on its stdin: the waiting shim exits (the reaper reaps it) and closes its end.
      conn.end();
      return closed;
    },
  };
}

/** Re-connects to the sandbox left by a previous run; undefined when its shim is gone. */
export async function attachSandbox(podDir: string): Promise<Sandbox | undefined> {
  const infoFile = path.join(podDir, 'shim.json');
  if (!existsSync(infoFile)) return undefined;
  const info = JSON.parse(readFileSync(infoFile, 'utf8')) as ShimInfo;
  if (!isProcessAlive(info.pid, info.startTicks)) return undefined;
  const cfg = JSON.parse(readFileSync(path.join(podDir, 'sandbox.json'), 'utf8')) as {
    isolated: boolean;
    socket: string;
  };
  try {
    const client = await ShimClient.connect(cfg.socket);
    return new Sandbox({ podDir, client, info, isolated: cfg.isolated });
  } catch {
    return undefined;
  }
}
