// scratch (not committed): chaos bench run that dumps the ingress pod's nginx error log at the end
import { chaosFigures, runChaos } from './test/chaos/lib/chaos.js';
import { bootCluster, deploySeedApp } from './test/chaos/lib/cluster.js';
import { formatFigureTable } from './bench/lib/figures.js';
const log = (l: string) => process.stderr.write(`${new Date().toISOString()} ${l}\n`);
const c = await bootCluster({ args: ['--ingress-data-plane', 'nginx'] });
try {
  await deploySeedApp(c, { replicas: 4 });
  const t0 = new Date().toISOString();
  log(`start ${t0}`);
  const r = await runChaos(c, { durationMs: Number(process.env.DUR ?? 60) * 1000, rate: 200, log });
  process.stdout.write(formatFigureTable(chaosFigures(r)));
  const pods = await c.skiff.kubectl(['get', 'pods', '-A', '-o', 'name', '--no-headers']);
  log(pods.stdout);
  for (const ns of ['ingress-nginx', 'kube-system']) {
    const p = await c.skiff.kubectl(['get', 'pods', '-n', ns, '-o', 'name']);
    for (const name of p.stdout.split('\n').filter((x) => x.includes('ingress'))) {
      const l = await c.skiff.kubectl(['logs', '-n', ns, name, '--all-containers', '--tail', '-1'], { timeoutMs: 30000 });
      process.stdout.write(`\n=== ${ns} ${name}\n` + l.stdout.split('\n').filter((x) => !x.includes('HTTP/1.1" 200')).join('\n') + l.stderr);
    }
  }
} finally {
  await c.skiff.stop();
}
