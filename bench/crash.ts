// Control-plane crash (issue #8): kill -9 of `skiff up` while ConfigMaps are written and a paced
// load flows through the ingress; restart on the same data dir. Prints writes acknowledged/lost,
// pods kept, ReplicaSet counts, and the requests failed during the outage.
// Usage (root): node --import tsx bench/crash.ts [--rate 100] [--outage 10] [--replicas 3] [--json]
import { Command } from 'commander';
import { bootCluster, deploySeedApp } from '../test/chaos/lib/cluster.js';
import { crashFigures, runCrash } from '../test/chaos/lib/crash.js';
import { figuresToJson, formatFigureTable } from './lib/figures.js';

const opts = new Command('bench/crash.ts')
  .option('--rate <n>', 'requests per second through the ingress', Number, 100)
  .option('--before <s>', 'seconds of writes and load before the kill', Number, 10)
  .option('--outage <s>', 'seconds the control plane stays down', Number, 10)
  .option('--after <s>', 'seconds of writes and load after the restart', Number, 15)
  .option('--replicas <n>', 'replicas of the seed app', Number, 3)
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{
    rate: number;
    before: number;
    outage: number;
    after: number;
    replicas: number;
    json: boolean;
  }>();

const log = (l: string) => process.stderr.write(`${l}\n`);
const c = await bootCluster();
try {
  await deploySeedApp(c, { replicas: opts.replicas });
  const r = await runCrash(c, {
    rate: opts.rate,
    beforeMs: opts.before * 1000,
    outageMs: opts.outage * 1000,
    afterMs: opts.after * 1000,
    log,
  });
  if (r.missing.length) log(`missing: ${r.missing.slice(0, 20).join(', ')}`);
  for (const p of r.pods)
    log(
      `${p.name}: restarts ${p.restartsBefore} -> ${p.restartsAfter ?? 'gone'}, ready ${p.readyAfter}`,
    );
  const figures = crashFigures(r);
  process.stdout.write(
    opts.json ? figuresToJson('crash', figures, { rate: opts.rate }) : formatFigureTable(figures),
  );
} finally {
  await c.skiff.stop();
}
