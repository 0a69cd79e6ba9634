// Process liveness from /proc/<pid>/stat: PID 1 here does not reap orphans, so kill(pid, 0) would
// call a zombie alive; the stat state and start time tell the truth (and defeat PID reuse).
import { readFileSync } from 'node:fs';

/** State letter and start time (clock ticks since boot) of a process, undefined when gone. */
export function readProcStat(pid: number): { state: string; startTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', startTicks: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** True when pid runs (not a zombie) and, if given, started at startTicks. */
export function isProcessAlive(pid: number, startTicks?: number): boolean {
  const st = readProcStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTicks === undefined || st.startTicks === startTicks;
}

/** CPU time (user+system, in ticks of 1/100 s) and RSS pages of one process. */
export function readProcUsage(pid: number): { cpuTicks: number; rssPages: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { cpuTicks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) };
  } catch {
    return undefined;
  }
}
