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
  .option(
    '--up-args <args>',
    'extra `skiff up` arguments, space-separated (e.g. "--event-ttl 15m")',
    '',
  )
  .parse()
  .opts<{ minutes: number; sample: number; json: boolean; upArgs: string }>();

const log = (l: string) => process.stderr.write(`${l}\n`);
const c = await bootCluster({ args: opts.upArgs.split(' ').filter(Boolean) });
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
/** A count of what stopping left behind; anything but zombies must be 0. */
const leftover = (what: string, value: number, mustBeZero: boolean, note?: string): Figure => ({
  figure: `after stop: ${what}`,
  value,
  unit: '',
  decimals: 0,
  ...(mustBeZero ? { target: { op: '<', value: 1 } as const } : {}),
  ...(note === undefined ? {} : { note }),
});
const after: Figure[] = [
  leftover('network namespaces', left.netns, true),
  leftover('spare network namespaces', left.spareNetns, true),
  leftover('bridge links', left.links, true),
  leftover('pod cgroups', left.cgroups, true),
  leftover(
    'live processes in cluster cgroups',
    total(left.processes),
    true,
    JSON.stringify(left.processes),
  ),
  leftover(
    'zombies in cluster cgroups',
    total(left.zombies),
    false,
    `${JSON.stringify(left.zombies)} (unreaped by PID 1; not live)`,
  ),
];
const figures = [...soakFigures(result), ...after];
process.stdout.write(
  opts.json
    ? figuresToJson('soak', figures, {
        minutes: opts.minutes,
        upArgs: opts.upArgs,
        samples: result.samples,
      })
    : formatFigureTable(figures),
);
