// The data directory: its layout, and the lock that keeps two `skiff up` off one directory.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Clock, realClock } from './clock.js';

/** Paths inside a data directory. */
export interface DataDirLayout {
  root: string;
  db: string;
  pki: string;
  kubeconfig: string;
  pidFile: string;
  logFile: string;
  state: string;
}

/** Resolves the data dir (default ~/.skiff) and its layout. */
export function dataDirLayout(dir?: string): DataDirLayout {
  const root = resolve(dir ?? process.env['SKIFF_DATA_DIR'] ?? join(homedir(), '.skiff'));
  return {
    root,
    db: join(root, 'state.db'),
    pki: join(root, 'pki'),
    kubeconfig: join(root, 'kubeconfig'),
    pidFile: join(root, 'skiff.pid'),
    logFile: join(root, 'skiff.log'),
    state: join(root, 'run'),
  };
}

/** Creates the data dir with mode 0700. */
export function ensureDataDir(layout: DataDirLayout): void {
  mkdirSync(layout.root, { recursive: true, mode: 0o700 });
  chmodSync(layout.root, 0o700);
}

/** True when pid names a live process (zombies count as dead: PID 1 here does not reap). */
export function isProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pid recorded in the lock file when that process still runs. */
export function runningPid(layout: DataDirLayout): number | undefined {
  if (!existsSync(layout.pidFile)) return undefined;
  const info = JSON.parse(readFileSync(layout.pidFile, 'utf8')) as { pid?: number };
  return info.pid !== undefined && isProcessAlive(info.pid) ? info.pid : undefined;
}

/** Error raised when the data dir is used by a running Skiff. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `Data directory "${dir}" is in use by skiff (pid ${pid}): stop it with "skiff down" or pick another --data-dir`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** Takes the lock (a pid file); throws DataDirLockedError when another live Skiff holds it. */
export function lockDataDir(layout: DataDirLayout, info: Record<string, unknown>): () => void {
  const holder = runningPid(layout);
  if (holder !== undefined && holder !== process.pid)
    throw new DataDirLockedError(layout.root, holder);
  writeFileSync(layout.pidFile, JSON.stringify({ pid: process.pid, ...info }), { mode: 0o600 });
  return () => {
    if (runningPid(layout) === process.pid) rmSync(layout.pidFile, { force: true });
  };
}

/** How long a subcommand waits for a cluster that is still starting. */
export const readyWaitMs = 90_000;

/**
 * The record of the running `skiff up` of a data dir once it is ready (it writes `ready: true`
 * when it would print its ready banner); undefined when no Skiff runs there. A Skiff still starting
 * is waited for (onWait is told once); one that exits meanwhile, or is not ready within timeoutMs,
 * is an error saying so and where its log is.
 */
export async function waitUntilReady(
  layout: DataDirLayout,
  opts: { timeoutMs?: number; clock?: Clock; onWait?: (pid: number) => void } = {},
): Promise<Record<string, unknown> | undefined> {
  const clock = opts.clock ?? realClock;
  const deadline = clock.now() + (opts.timeoutMs ?? readyWaitMs);
  let told = false;
  for (;;) {
    const pid = runningPid(layout);
    if (pid === undefined) {
      if (!told) return undefined;
      throw new Error(`Skiff of "${layout.root}" exited while starting; see ${layout.logFile}`);
    }
    const info = JSON.parse(readFileSync(layout.pidFile, 'utf8')) as Record<string, unknown>;
    if (info['ready'] === true) return info;
    if (!told) opts.onWait?.(pid);
    told = true;
    if (clock.now() >= deadline) {
      const secs = Math.round((opts.timeoutMs ?? readyWaitMs) / 1000);
      throw new Error(
        `Skiff (pid ${pid}) of "${layout.root}" is not ready after ${secs} s; see ${layout.logFile}`,
      );
    }
    await clock.sleep(100);
  }
}
