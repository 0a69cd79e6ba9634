// Soak (issue #8): minutes of churn (scale up/down, rollouts via `kubectl set env`, app kills)
// while Skiff's RSS and open fds are sampled every 10 s; prints the slopes and what the cluster
// left on the host beyond its live pods (netns, links, cgroups, processes).
// Usage (root): node --import tsx bench/soak.ts [--minutes 30] [--json]   (quick: --minutes 2)
import { Command } from 'commander';
import { bootCluster, deploySeedApp } from '../test/chaos/lib/cluster.js';
import { leftovers, runSoak, soakFigures, total } from '../test/chaos/lib/soak.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';

const opts = new Command('bench/soak.ts')
  .option('--minutes <n>', 'minutes of churn', Number, 30)
  .option('--sample <s>', 'seconds between RSS/fd samples', Number, 10)
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{ minutes: number; sample: number; json: boolean }>();

const log = (l: string) => process.stderr.write(`${l}\n`);
const c = await bootCluster();
let result: Awaited<ReturnType<typeof runSoak>> | undefined;
try {
  await deploySeedApp(c, { replicas: 2 });
  result = await runSoak(c, {
    durationMs: opts.minutes * 60_000,
    sampleEveryMs: opts.sample * 1000,
    log,
  });
} finally {
  await c.skiff.stop();
}
// What the stopped cluster left behind: everything but unreaped zombies should be gone.
const left = await leftovers(c);
const after: Figure[] = [
  {
    figure: 'after stop: network namespaces',
    value: left.netns,
    unit: '',
    decimals: 0,
    target: { op: '<', value: 1 },
  },
  {
    figure: 'after stop: spare network namespaces',
    value: left.spareNetns,
    unit: '',
    decimals: 0,
    target: { op: '<', value: 1 },
  },
  {
    figure: 'after stop: bridge links',
    value: left.links,
    unit: '',
    decimals: 0,
    target: { op: '<', value: 1 },
  },
  {
    figure: 'after stop: pod cgroups',
    value: left.cgroups,
    unit: '',
    decimals: 0,
    target: { op: '<', value: 1 },
  },
  {
    figure: 'after stop: live processes in cluster cgroups',
    value: total(left.processes),
    unit: '',
    decimals: 0,
    target: { op: '<', value: 1 },
    note: JSON.stringify(left.processes),
  },
  {
    figure: 'after stop: zombies in cluster cgroups',
    value: total(left.zombies),
    unit: '',
    decimals: 0,
    note: `${JSON.stringify(left.zombies)} (unreaped by PID 1; not live)`,
  },
];
const figures = [...soakFigures(result), ...after];
process.stdout.write(
  opts.json
    ? figuresToJson('soak', figures, { minutes: opts.minutes, samples: result.samples })
    : formatFigureTable(figures),
);
