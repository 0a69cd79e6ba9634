// Process and network helpers for bench scripts: RSS from /proc, process state (PID 1 does not
// reap, so a zombie counts as gone), free ports and readiness polls. Generic: no Skiff knowledge.
import { readdirSync, readFileSync } from 'node:fs';
import { realClock } from '../../src/lib/clock.js';
import { freePort } from '../../src/lib/testing-ports.js';

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status); undefined when gone. */
export function readRssBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Whether a process exists and is not a zombie (state from /proc/<pid>/stat). */
export function isProcessRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may contain spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** CPU time of a process so far, in clock ticks (utime + stime; 100 per second on Linux). */
export function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(f[11]) + Number(f[12]);
}

/** Number of open file descriptors of a process (entries of /proc/<pid>/fd). */
export function countFds(pid: number = process.pid): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Samples a process's RSS until it settles: the spread of the last `window` samples (one every
 * `intervalMs`) is under `tolerance` of their mean, or `maxMs` passes. Returns the last sample.
 */
export async function settledRss(
  pid: number,
  opts: { intervalMs?: number; window?: number; tolerance?: number; maxMs?: number } = {},
): Promise<{ bytes: number; ms: number; settled: boolean } | undefined> {
  const intervalMs = opts.intervalMs ?? 250;
  const window = opts.window ?? 8;
  const tolerance = opts.tolerance ?? 0.02;
  const maxMs = opts.maxMs ?? 15_000;
  const t0 = performance.now();
  const samples: number[] = [];
  for (;;) {
    const rss = readRssBytes(pid);
    if (rss === undefined) return undefined;
    samples.push(rss);
    const last = samples.slice(-window);
    const mean = last.reduce((a, b) => a + b, 0) / last.length;
    const spread = Math.max(...last) - Math.min(...last);
    const ms = performance.now() - t0;
    if (last.length === window && spread <= tolerance * mean)
      return { bytes: rss, ms, settled: true };
    if (ms >= maxMs) return { bytes: rss, ms, settled: false };
    await realClock.sleep(intervalMs);
  }
}

/** A free TCP port (src/lib/testing-ports.ts says why not port 0). */
export { freePort };

/**
 * Polls `probe` every `intervalMs` until it resolves true or `timeoutMs` passes; returns the
 * elapsed milliseconds, or undefined on timeout. A probe that throws counts as "not yet".
 */
export async function pollUntil(
  probe: () => Promise<boolean>,
  opts: { intervalMs?: number; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<number | undefined> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let lastError: unknown;
  for (;;) {
    let ok = false;
    try {
      ok = await probe();
    } catch (err) {
      // Not up yet (connection refused, TLS not ready): keep polling until the deadline.
      lastError = err;
    }
    const ms = performance.now() - t0;
    if (ok) return ms;
    if (ms >= timeoutMs || opts.signal?.aborted) {
      if (lastError !== undefined)
        process.stderr.write(`pollUntil: last error: ${String(lastError)}\n`);
      return undefined;
    }
    await realClock.sleep(opts.intervalMs ?? 10, opts.signal);
  }
}

/** Memory figures of a process from /proc/<pid>/smaps_rollup, in kB. */
export interface SmapsRollup {
  pss: number;
  /** The PSS in file-backed pages (the node binary, libraries): shared with every process on the
   * host mapping the same files, so it shrinks as other Node processes run beside the cluster. */
  file: number;
  /** Anonymous (private) memory: heaps, independent of other processes. */
  anon: number;
  rss: number;
}

/** smaps_rollup figures of a process; undefined when it is gone. */
export function readSmapsRollup(pid: number): SmapsRollup | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch (err) {
    // Exited between a listing and the read.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  const pss = field('Pss');
  if (Number.isNaN(pss)) return undefined;
  return {
    pss,
    file: field('Pss_File') || 0,
    anon: field('Anonymous') || 0,
    rss: field('Rss') || 0,
  };
}
