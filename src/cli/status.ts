// `skiff status`: whether the cluster of a data dir runs, and where its endpoints are.
import { existsSync, readFileSync } from 'node:fs';
import { actedOn, storedOnly } from '../api/support.js';
import { dataDirLayout, runningPid } from '../lib/data-dir.js';

/** Prints the state of the cluster of opts.dataDir; exit code 0 when running, 3 when stopped. */
export async function statusCommand(opts: { dataDir?: string }): Promise<number> {
  const layout = dataDirLayout(opts.dataDir);
  const pid = runningPid(layout);
  if (pid === undefined) {
    process.stdout.write(`Skiff is not running (data dir ${layout.root}).\n`);
    return 3;
  }
  const info = existsSync(layout.pidFile)
    ? (JSON.parse(readFileSync(layout.pidFile, 'utf8')) as Record<string, unknown>)
    : {};
  const lines = [`Skiff is running (pid ${pid}, data dir ${layout.root}).`];
  if (info['ready'] !== true) lines.push('  state:      starting');
  for (const [label, key] of [
    ['API server', 'apiUrl'],
    ['kubeconfig', 'kubeconfig'],
    ['ingress', 'ingressUrl'],
    ['dashboard', 'dashboardUrl'],
  ] as const) {
    if (typeof info[key] === 'string')
      lines.push(`  ${(label + ':').padEnd(12)}${info[key] as string}`);
  }
  // Say plainly which kinds run and which are only kept, so an applied manifest never fails silently.
  lines.push('  acted on:');
  for (const a of actedOn) lines.push(`    ${a.kind.padEnd(28)}${a.by}`);
  lines.push(`  stored only: ${storedOnly.join('; ')}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
