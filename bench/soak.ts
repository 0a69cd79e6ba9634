// Soak (issue #8): minutes of churn (scale up/down, rollouts via `kubectl set env`, app kills)
// while Skiff's RSS and open fds are sampled every 10 s; prints the slopes and what the cluster
// left on the host beyond its live pods (netns, links, cgroups, processes).
// Usage (root): node --import tsx bench/soak.ts [--minutes 30] [--json]   (quick: --minutes 2)
import { Command } from 'commander';
import { bootCluster, deploySeedApp } from '../test/chaos/lib/cluster.js';
import { runSoak, soakFigures } from '../test/chaos/lib/soak.js';
import { figuresToJson, formatFigureTable } from './lib/figures.js';

const opts = new Command('bench/soak.ts')
  .option('--minutes <n>', 'minutes of churn', Number, 30)
  .option('--sample <s>', 'seconds between RSS/fd samples', Number, 10)
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{ minutes: number; sample: number; json: boolean }>();

const log = (l: string) => process.stderr.write(`${l}\n`);
const c = await bootCluster();
try {
  await deploySeedApp(c, { replicas: 2 });
  const r = await runSoak(c, {
    durationMs: opts.minutes * 60_000,
    sampleEveryMs: opts.sample * 1000,
    log,
  });
  const figures = soakFigures(r);
  process.stdout.write(
    opts.json
      ? figuresToJson('soak', figures, { minutes: opts.minutes, samples: r.samples })
      : formatFigureTable(figures),
  );
} finally {
  await c.skiff.stop();
}
