// `skiff demo`: replays the seed walkthrough (SEED.md) on the running cluster of the data dir,
// printing a live timeline and a one-screen summary, or one JSON object with --json.
import pc from 'picocolors';
import { ensureCluster } from '../demo/cluster.js';
import { formatSummary } from '../demo/figures.js';
import { runDemo } from '../demo/run.js';
import { formatEntry } from '../demo/timeline.js';
import { errorMessage } from '../lib/errors.js';

/** Options of `skiff demo` as commander parses them. */
export interface DemoOptions {
  dataDir?: string;
  json: boolean;
  ingressPort?: number;
  keepGoing?: boolean;
}

/** Runs `skiff demo`; returns 0 only when the walkthrough succeeded. */
export async function demoCommand(opts: DemoOptions): Promise<number> {
  const color = !opts.json && process.stdout.isTTY === true;
  const out = (line: string) => {
    if (!opts.json) process.stdout.write(line + '\n');
  };
  let cluster: Awaited<ReturnType<typeof ensureCluster>>;
  try {
    out(pc.bold('Skiff demo: the self-healing and autoscaling walkthrough (SEED.md)'));
    cluster = await ensureCluster({
      dataDir: opts.dataDir,
      ingressPort: opts.ingressPort,
      onWait: (pid) => out(`  waiting for Skiff (pid ${pid}) to be ready...`),
    });
  } catch (err) {
    if (opts.json)
      process.stdout.write(JSON.stringify({ ok: false, problems: [errorMessage(err)] }) + '\n');
    else process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
  if (cluster.started && cluster.startOutput) out(cluster.startOutput.trimEnd());
  out(`  kubeconfig ${cluster.kubeconfig}   ingress ${cluster.ingressUrl}`);
  out('');
  const report = await runDemo({
    cluster,
    keepGoing: opts.keepGoing,
    onEntry: (e) => out(formatEntry(e, color)),
  });
  if (opts.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    out(
      formatSummary(report.figures, report, {
        color,
        dataDirFlag: opts.dataDir,
        dashboardUrl: cluster.dashboardUrl,
      }),
    );
    if (opts.dataDir || cluster.started)
      out(
        `  (kubectl needs KUBECONFIG=${cluster.kubeconfig} unless the "skiff" context is merged)`,
      );
  }
  return report.ok ? 0 : 1;
}
