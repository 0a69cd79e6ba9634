// Chaos under load (issue #8): the seed app behind the ingress at a paced 200 req/s while the app
// in a random pod is killed every second, a random pod deleted every 2 s and the ingress
// controller SIGKILLed once. Prints requests sent/failed (by kind), p99, replicas restored.
// Usage (root): node --import tsx bench/chaos.ts [--duration 60] [--rate 200] [--replicas 4]
//   [--kill-ingress-target controller|main] [--data-plane auto|nginx|node] [--json]
import { Command } from 'commander';
import { chaosFigures, runChaos } from '../test/chaos/lib/chaos.js';
import { bootCluster, deploySeedApp } from '../test/chaos/lib/cluster.js';
import { figuresToJson, formatFigureTable } from './lib/figures.js';

const opts = new Command('bench/chaos.ts')
  .option('--duration <s>', 'seconds of chaos', Number, 60)
  .option('--rate <n>', 'requests per second through the ingress', Number, 200)
  .option('--replicas <n>', 'replicas of the seed app (2-10)', Number, 4)
  .option('--kill-ingress-at <s>', 'when to SIGKILL the ingress controller (<0: never)', Number)
  .option(
    '--kill-ingress-target <which>',
    'controller (a worker; the supervisor keeps the port) or main (the process holding the port)',
    'controller',
  )
  .option(
    '--data-plane <mode>',
    'the ingress data plane (skiff up --ingress-data-plane): auto, nginx or node',
    'auto',
  )
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{
    duration: number;
    rate: number;
    replicas: number;
    killIngressAt?: number;
    killIngressTarget: string;
    dataPlane: string;
    json: boolean;
  }>();

const log = (l: string) => process.stderr.write(`${l}\n`);
const c = await bootCluster({ args: ['--ingress-data-plane', opts.dataPlane] });
try {
  await deploySeedApp(c, { replicas: opts.replicas });
  log(
    `seed app ready (${opts.replicas} replicas); ${opts.duration} s of chaos at ${opts.rate} req/s`,
  );
  const r = await runChaos(c, {
    durationMs: opts.duration * 1000,
    rate: opts.rate,
    killIngressAtMs: opts.killIngressAt === undefined ? undefined : opts.killIngressAt * 1000,
    ingressKillTarget: opts.killIngressTarget === 'main' ? 'main' : 'controller',
    log,
  });
  const figures = chaosFigures(r);
  process.stdout.write(
    opts.json
      ? figuresToJson('chaos', figures, { durationS: opts.duration, rate: opts.rate })
      : formatFigureTable(figures),
  );
} finally {
  await c.skiff.stop();
}
