// Finds the running cluster of a data dir (its pid file names the API, kubeconfig and ingress), or
// starts one with `skiff up --detach` when none runs.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDirLayout, waitUntilReady } from '../lib/data-dir.js';
import { packageRoot } from '../lib/paths.js';

/** Where the demo's cluster is. */
export interface ClusterInfo {
  dataDir: string;
  kubeconfig: string;
  ingressUrl: string;
  dashboardUrl?: string;
  /** The ingress controller's /stats (absent from a cluster started by an older Skiff). */
  ingressStatsUrl?: string;
  pid: number;
  /** True when the demo started it. */
  started: boolean;
  /** What `skiff up --detach` printed, when the demo started it. */
  startOutput?: string;
}

const repo = packageRoot(import.meta.url);

function readInfo(pidFile: string): Record<string, unknown> {
  return JSON.parse(readFileSync(pidFile, 'utf8')) as Record<string, unknown>;
}

/** The dashboard URL `skiff up` printed in its log (the pid file may not carry it). */
function dashboardFromLog(logFile: string): string | undefined {
  try {
    const text = readFileSync(logFile, 'utf8');
    return [...text.matchAll(/^\s+dashboard\s+(http:\/\/\S+)/gm)].at(-1)?.[1];
  } catch {
    // No log (e.g. a foreground `skiff up`): the summary just omits the dashboard.
    return undefined;
  }
}

function infoFrom(
  root: string,
  info: Record<string, unknown>,
  opts: { ingressPort?: number },
): Omit<ClusterInfo, 'started' | 'startOutput'> {
  const str = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : undefined);
  const ingressUrl =
    opts.ingressPort !== undefined
      ? `http://127.0.0.1:${opts.ingressPort}/`
      : (str('ingressUrl') ?? 'http://127.0.0.1/');
  return {
    dataDir: root,
    kubeconfig: str('kubeconfig') ?? join(root, 'kubeconfig'),
    ingressUrl,
    dashboardUrl: str('dashboardUrl') ?? dashboardFromLog(join(root, 'skiff.log')),
    ingressStatsUrl: str('ingressStatsUrl'),
    pid: Number(info['pid']),
  };
}

/** Returns the running, ready cluster of dataDir, starting one in the background if none runs. */
export async function ensureCluster(opts: {
  dataDir?: string;
  ingressPort?: number;
  /** Told once when the running cluster is still starting. */
  onWait?: (pid: number) => void;
}): Promise<ClusterInfo> {
  const layout = dataDirLayout(opts.dataDir);
  // A cluster still starting is waited for (issue 18), not refused.
  const running = await waitUntilReady(layout, { onWait: opts.onWait });
  if (running) return { ...infoFrom(layout.root, running, opts), started: false };
  const args = [join(repo, 'bin', 'skiff.js'), 'up', '--detach', '--data-dir', layout.root];
  if (opts.ingressPort !== undefined) args.push('--ingress-port', String(opts.ingressPort));
  const output = await new Promise<string>((resolveRun, reject) => {
    execFile(process.execPath, args, { cwd: repo, timeout: 90_000 }, (err, stdout, stderr) => {
      const text = `${String(stdout)}${String(stderr)}`;
      if (err) reject(new Error(`"skiff up --detach" failed:\n${text.trim()}`));
      else resolveRun(text);
    });
  });
  return {
    ...infoFrom(layout.root, readInfo(layout.pidFile), opts),
    started: true,
    startOutput: output,
  };
}
