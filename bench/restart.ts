// Restart bench (issues 12 and 18): N pods with probes behind the ingress, then `skiff down` and
// `skiff up` on the same data dir, a few times. Prints the down time (target ≤ 2 s with 10 pods),
// the up time to the ready banner, and from there to every pod Ready and the ingress serving.
// Usage (root): node --import tsx bench/restart.ts [--pods 10] [--cycles 3] [--json]
import { Command } from 'commander';
import { bootCluster } from '../test/chaos/lib/cluster.js';
import { skiffDown, skiffUp, untilServing, webManifest } from '../test/chaos/lib/restart.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { summarize } from './lib/stats.js';

const opts = new Command('bench/restart.ts')
  .option('--pods <n>', 'replicas of the web deployment', Number, 10)
  .option('--cycles <n>', 'down/up cycles', Number, 3)
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{ pods: number; cycles: number; json: boolean }>();

const log = (l: string) => process.stderr.write(`${l}\n`);
const c = await bootCluster();
try {
  await c.skiff.kubectlOk(['apply', '-f', '-'], { input: webManifest(opts.pods) });
  await untilServing(c, opts.pods, 180_000);
  const down: number[] = [];
  const up: number[] = [];
  const ready: number[] = [];
  const serving: number[] = [];
  for (let i = 1; i <= opts.cycles; i++) {
    down.push(await skiffDown(c));
    up.push(await skiffUp(c));
    const s = await untilServing(c, opts.pods, 180_000);
    ready.push(s.readyMs);
    serving.push(s.servingMs);
    log(
      `cycle ${i}: down ${down.at(-1)} ms, up ${up.at(-1)} ms, ` +
        `all Ready +${s.readyMs} ms, serving +${s.servingMs} ms`,
    );
  }
  const note = `${opts.pods} pods, ${opts.cycles} cycles`;
  const fig = (figure: string, ms: number[], target?: number): Figure[] => {
    const sum = summarize(ms);
    return [
      {
        figure: `${figure} (median)`,
        value: sum.p50 / 1000,
        unit: 's',
        note,
        ...(target ? { target: { op: '<' as const, value: target } } : {}),
      },
      { figure: `${figure} (max)`, value: sum.max / 1000, unit: 's', note },
    ];
  };
  const figures = [
    ...fig('skiff down', down, 2),
    ...fig('skiff up to ready banner', up),
    ...fig('then every pod Ready', ready),
    ...fig('then serving through the ingress', serving),
  ];
  process.stdout.write(
    opts.json ? figuresToJson('restart', figures, { pods: opts.pods }) : formatFigureTable(figures),
  );
} finally {
  await c.skiff.stop();
}
