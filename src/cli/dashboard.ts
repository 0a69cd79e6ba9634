// `skiff dashboard`: prints the URL of the running cluster's dashboard (from <data-dir>/skiff.pid)
// and, on a desktop session, opens it in the browser.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dataDirLayout, runningPid, waitUntilReady } from '../lib/data-dir.js';
import { errorMessage } from '../lib/errors.js';

/** The dashboard URL recorded by the running `skiff up` of dataDir, or an explanation. */
export function readDashboardUrl(dataDir?: string): { url: string } | { error: string } {
  const layout = dataDirLayout(dataDir);
  const start = `start one with "skiff up --data-dir ${layout.root}"`;
  if (!existsSync(layout.pidFile) || runningPid(layout) === undefined) {
    return { error: `no Skiff cluster is running for data directory "${layout.root}": ${start}` };
  }
  try {
    const info = JSON.parse(readFileSync(layout.pidFile, 'utf8')) as { dashboardUrl?: unknown };
    if (typeof info.dashboardUrl !== 'string' || info.dashboardUrl === '') {
      return { error: `the running cluster of "${layout.root}" serves no dashboard` };
    }
    return { url: info.dashboardUrl };
  } catch (err) {
    return { error: `cannot read "${layout.pidFile}": ${errorMessage(err)}` };
  }
}

function openInBrowser(url: string): void {
  const desktop = process.env['DISPLAY'] || process.env['WAYLAND_DISPLAY'];
  if (!desktop || !process.stdout.isTTY) return;
  const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
  // No xdg-open is fine: the URL is printed anyway.
  child.on('error', () => undefined);
  child.unref();
}

/** Runs `skiff dashboard`; resolves with the exit code. */
export async function dashboardCommand(opts: { dataDir?: string }): Promise<number> {
  try {
    // A cluster still starting has no dashboard URL yet: wait for it (issue 18).
    await waitUntilReady(dataDirLayout(opts.dataDir), {
      onWait: (pid) => process.stderr.write(`Waiting for Skiff (pid ${pid}) to be ready...\n`),
    });
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
  const found = readDashboardUrl(opts.dataDir);
  if ('error' in found) {
    process.stderr.write(`error: ${found.error}\n`);
    return 1;
  }
  process.stdout.write(`${found.url}\n`);
  openInBrowser(found.url);
  return 0;
}
