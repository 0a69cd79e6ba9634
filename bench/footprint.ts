// Idle footprint (issue #17): boots `skiff up` with only its add-ons, lets it settle, and sums the
// proportional set size (PSS, /proc/<pid>/smaps_rollup) over every process of the cluster: the
// `skiff up` process and its descendants plus everything in the cluster's cgroups (add-on pods,
// pod shims, the shim reaper). Prints it by role against the 80 MB target.
// With --compare, a second cluster whose ingress runs the Node data path (the layout before the
// nginx data plane: a supervisor and two workers) is measured in the same run.
// Usage (root): node --import tsx bench/footprint.ts [--settle 20] [--samples 3] [--compare] [--json]
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { realClock } from '../src/lib/clock.js';
import { bootCluster, type ChaosCluster, hostProcesses } from '../test/chaos/lib/cluster.js';
import { skiffPid } from '../test/chaos/lib/soak.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';

const opts = new Command('bench/footprint.ts')
  .option('--settle <s>', 'seconds to wait after the add-ons serve', Number, 20)
  .option('--samples <n>', 'samples, 5 s apart (the smallest total is reported)', Number, 3)
  .option('--ingress-data-plane <mode>', 'auto, nginx or node (skiff up flag)', 'auto')
  .option('--compare', 'also measure a cluster with the Node ingress data path', false)
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{
    settle: number;
    samples: number;
    ingressDataPlane: string;
    compare: boolean;
    json: boolean;
  }>();

/** PSS of a process in kB; undefined when it is gone. */
function pssKb(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    // Exited between the listing and the read.
    return undefined;
  }
}

/** What a process of the cluster is, for the breakdown. */
function role(argv: string[]): string {
  const joined = argv.join(' ');
  if (argv.some((a) => a.endsWith('shim.py'))) return 'pod shims';
  if (argv.some((a) => a.endsWith('reaper.py'))) return 'shim reaper';
  if (joined.startsWith('nginx:')) return 'ingress nginx';
  if (argv.includes('ingress-controller')) return 'ingress controller (node)';
  if (argv.includes('metrics-server')) return 'metrics-server';
  if (argv.includes('up')) return 'skiff up (API, controllers, node agent, proxy, DNS)';
  return (argv[0] ?? '?').split('/').pop() ?? '?';
}

/** The cluster's processes: `skiff up`, its descendants, and whatever runs in its cgroups. */
function clusterPids(c: ChaosCluster): Map<number, string[]> {
  const procs = hostProcesses();
  const root = skiffPid(c);
  const out = new Map<number, string[]>();
  const byParent = new Map<number, typeof procs>();
  for (const p of procs) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const walk = (pid: number) => {
    for (const child of byParent.get(pid) ?? []) {
      out.set(child.pid, child.argv);
      walk(child.pid);
    }
  };
  const self = procs.find((p) => p.pid === root);
  if (self) {
    out.set(self.pid, self.argv);
    walk(self.pid);
  }
  for (const p of procs) {
    try {
      if (readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').includes(`/${c.cgroupName}/`))
        out.set(p.pid, p.argv);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

async function waitAddons(c: ChaosCluster): Promise<void> {
  const deadline = realClock.now() + 120_000;
  for (;;) {
    const r = await c.skiff.kubectl([
      'get',
      'pods',
      '-A',
      '-o',
      'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}',
    ]);
    const states = r.stdout.trim().split(/\s+/).filter(Boolean);
    if (states.length >= 2 && states.every((s) => s === 'True')) return;
    if (realClock.now() > deadline) throw new Error(`Add-ons not Ready: ${r.stdout} ${r.stderr}`);
    await realClock.sleep(1000);
  }
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** Boots a cluster with the given ingress data plane; the smallest sample of PSS by role. */
async function measure(plane: string): Promise<Map<string, number>> {
  const c = await bootCluster({ args: ['--ingress-data-plane', plane] });
  const samples: Map<string, number>[] = [];
  try {
    await waitAddons(c);
    await realClock.sleep(opts.settle * 1000);
    for (let i = 0; i < opts.samples; i++) {
      if (i > 0) await realClock.sleep(5000);
      const byRole = new Map<string, number>();
      for (const [pid, argv] of clusterPids(c)) {
        const kb = pssKb(pid);
        if (kb === undefined) continue;
        const r = role(argv);
        byRole.set(r, (byRole.get(r) ?? 0) + kb);
      }
      samples.push(byRole);
    }
  } finally {
    await c.skiff.stop();
  }
  return samples.sort((a, b) => total(a) - total(b))[0] ?? new Map<string, number>();
}

const mb = (kb: number) => kb / 1024;
const best = await measure(opts.ingressDataPlane);
const figures: Figure[] = [...best]
  .sort((a, b) => b[1] - a[1])
  .map(([r, kb]) => ({ figure: `PSS ${r}`, value: mb(kb), unit: 'MB', decimals: 1 }));
const tsx = best.has('esbuild') ? '; sources ran through tsx: npm run build first' : '';
figures.push({
  figure: 'idle footprint (PSS, whole cluster)',
  value: mb(total(best)),
  unit: 'MB',
  target: { op: '<', value: 80.001 },
  decimals: 1,
  note: `ingress data plane ${opts.ingressDataPlane}; smallest of ${opts.samples} samples after ${opts.settle} s idle; add-ons only${tsx}`,
});
if (opts.compare) {
  const node = await measure('node');
  for (const [r, kb] of [...node].sort((a, b) => b[1] - a[1]))
    figures.push({ figure: `Node ingress path: PSS ${r}`, value: mb(kb), unit: 'MB', decimals: 1 });
  figures.push({
    figure: 'Node ingress path: idle footprint (PSS, whole cluster)',
    value: mb(total(node)),
    unit: 'MB',
    decimals: 1,
    note: 'same run, the ingress on its Node data path (supervisor + 2 workers)',
  });
}
if (opts.json) process.stdout.write(figuresToJson('footprint', figures, {}));
else process.stdout.write(formatFigureTable(figures));
