// `skiff demo`: replays the seed walkthrough (SEED.md) on the running cluster of the data dir,
// printing a live timeline and a one-screen summary, or one JSON object with --json.
import pc from 'picocolors';
import { ensureCluster } from '../demo/cluster.js';
import { formatSummary } from '../demo/figures.js';
import { runDemo } from '../demo/run.js';
import { runScaleToZeroDemo } from '../demo/scale-to-zero.js';
import { formatEntry } from '../demo/timeline.js';
import { runVPADemo } from '../demo/vpa.js';
import { errorMessage } from '../lib/errors.js';

/** Options of `skiff demo` as commander parses them. */
export interface DemoOptions {
  dataDir?: string;
  json: boolean;
  ingressPort?: number;
  keepGoing?: boolean;
  /** Show scale to zero and back (issue #19) instead of the seed walkthrough. */
  scaleToZero?: boolean;
  /** Show the VPA's recommendation and in-place resize (issue #19) instead. */
  vpa?: boolean;
}

/** Runs `skiff demo`; returns 0 only when the walkthrough succeeded. */
export async function demoCommand(opts: DemoOptions): Promise<number> {
  const color = !opts.json && process.stdout.isTTY === true;
  const out = (line: string) => {
    if (!opts.json) process.stdout.write(line + '\n');
  };
  let cluster: Awaited<ReturnType<typeof ensureCluster>>;
  try {
    out(
      pc.bold(
        opts.scaleToZero
          ? 'Skiff demo: scale to zero, and back on the first request'
          : opts.vpa
            ? 'Skiff demo: right-size with the VPA, resized in place'
            : 'Skiff demo: the self-healing and autoscaling walkthrough (SEED.md)',
      ),
    );
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
  if (opts.scaleToZero) {
    const r = await runScaleToZeroDemo({
      cluster,
      statsUrl: cluster.ingressStatsUrl,
      out: (line) => out(line),
    });
    if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
    else {
      const ms = r.coldStartMs;
      const pct = (p: number) => ms[Math.max(0, Math.ceil((p / 100) * ms.length) - 1)] ?? '-';
      out('');
      out(
        `${r.ok ? pc.green('✓') : pc.red('✗')} cold start (sent → first byte): p50 ${pct(50)} ms, max ${ms.at(-1) ?? '-'} ms over ${ms.length} concurrent requests; failed requests ${r.failedRequests}`,
      );
      for (const p of r.problems) out(pc.red(`  problem: ${p}`));
    }
    return r.ok ? 0 : 1;
  }
  if (opts.vpa) {
    const r = await runVPADemo({ cluster, out: (line) => out(line) });
    if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
    else {
      out('');
      out(
        `${r.ok ? pc.green('✓') : pc.red('✗')} recommendation ${JSON.stringify(r.target ?? {})} after ${r.secondsToRecommendation?.toFixed(1) ?? '-'} s; resized in place ${r.secondsToResize?.toFixed(1) ?? '-'} s later (restarts ${r.restarts ?? '-'}); resize by hand applied in ${r.manualResizeMs?.toFixed(0) ?? '-'} ms (kubectl included)`,
      );
      for (const p of r.problems) out(pc.red(`  problem: ${p}`));
    }
    return r.ok ? 0 : 1;
  }
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
