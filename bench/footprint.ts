// Idle footprint (issue #17): boots `skiff up` with only its add-ons, lets it settle, and sums the
// proportional set size (PSS, /proc/<pid>/smaps_rollup) over every process of the cluster: the
// `skiff up` process and its descendants plus everything in the cluster's cgroups (add-on pods,
// pod shims, the shim reaper). Prints it by role against the 80 MB target.
// With --compare, a second cluster whose ingress runs the Node data path (the layout before the
// nginx data plane: a supervisor and two workers) is measured in the same run.
// Usage (root): node --import tsx bench/footprint.ts [--settle 60] [--samples 3] [--compare] [--json]
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { realClock } from '../src/lib/clock.js';
import {
  bootCluster,
  type ChaosCluster,
  type ControlPlaneHeap,
  controlPlaneHeap,
  hostProcesses,
} from '../test/chaos/lib/cluster.js';
import { skiffPid } from '../test/chaos/lib/soak.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { cpuTicks, readSmapsRollup } from './lib/proc.js';

const opts = new Command('bench/footprint.ts')
  // A minute: V8's memory reducer shrinks skiff up's start-up heap only after tens of seconds of
  // low allocation (measured: 52–64 MB of PSS after 20 s, 41 MB after 60 s).
  .option('--settle <s>', 'seconds to wait after the add-ons serve', Number, 60)
  .option('--samples <n>', 'samples, 5 s apart (the smallest total is reported)', Number, 3)
  .option(
    '--cpu-window <s>',
    "the settle's last seconds over which skiff up's CPU is measured",
    Number,
    30,
  )
  .option('--ingress-data-plane <mode>', 'auto, nginx or node (skiff up flag)', 'auto')
  .option('--compare', 'also measure a cluster with the Node ingress data path', false)
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{
    settle: number;
    samples: number;
    cpuWindow: number;
    ingressDataPlane: string;
    compare: boolean;
    json: boolean;
  }>();

/** Processes on the whole host running the node binary (they share its pages with the cluster). */
function hostNodeProcesses(): number {
  return hostProcesses().filter((p) => (p.argv[0] ?? '').split('/').pop() === 'node').length;
}

const upRole = 'skiff up (API, controllers, node agent, proxy, DNS)';

/** What a process of the cluster is, for the breakdown. */
function role(argv: string[]): string {
  const joined = argv.join(' ');
  if (argv.some((a) => a.endsWith('shim.py'))) return 'pod shims';
  if (argv.some((a) => a.endsWith('reaper.py'))) return 'shim reaper';
  if (joined.startsWith('nginx:')) return 'ingress nginx';
  if (argv.includes('ingress-controller')) return 'ingress controller (node)';
  if (argv.includes('metrics-server')) return 'metrics-server';
  if (argv.includes('up')) return upRole;
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

interface Sample {
  byRole: Map<string, number>;
  /** File-backed PSS of the whole cluster, kB. */
  fileKb: number;
  /**
   * Anonymous (private) memory of the `skiff up` process, kB: its heaps, which unlike PSS do not
   * depend on how many other processes map the node binary, so it compares across runs and hosts.
   */
  upAnonKb: number;
  /** Resident size of `skiff up`, kB: its PSS on a host where no other process runs node. */
  upRssKb: number;
  /** skiff up's V8 heap from its /metrics (bytes): used, committed, and V8's malloc'ed memory. */
  heap: ControlPlaneHeap;
  nodeProcesses: number;
  /** skiff up's CPU over the settle's last cpuWindow seconds, % of one core. */
  upCpuPct: number;
}

/** Boots a cluster with the given ingress data plane; the smallest sample of PSS by role. */
async function measure(plane: string): Promise<Sample> {
  const c = await bootCluster({ args: ['--ingress-data-plane', plane] });
  const samples: Sample[] = [];
  try {
    await waitAddons(c);
    const window = Math.min(opts.cpuWindow, opts.settle);
    await realClock.sleep((opts.settle - window) * 1000);
    const up = skiffPid(c);
    if (up === undefined) throw new Error('skiff up of the cluster not found');
    const ticks0 = cpuTicks(up);
    await realClock.sleep(window * 1000);
    const upCpuPct = window > 0 ? (cpuTicks(up) - ticks0) / window : 0;
    for (let i = 0; i < opts.samples; i++) {
      if (i > 0) await realClock.sleep(5000);
      const byRole = new Map<string, number>();
      let fileKb = 0;
      let upAnonKb = 0;
      let upRssKb = 0;
      for (const [pid, argv] of clusterPids(c)) {
        const kb = readSmapsRollup(pid);
        if (kb === undefined) continue;
        const r = role(argv);
        byRole.set(r, (byRole.get(r) ?? 0) + kb.pss);
        fileKb += kb.file;
        if (r === upRole) {
          upAnonKb += kb.anon;
          upRssKb += kb.rss;
        }
      }
      const heap = await controlPlaneHeap(c);
      samples.push({
        byRole,
        fileKb,
        upAnonKb,
        upRssKb,
        heap,
        nodeProcesses: hostNodeProcesses(),
        upCpuPct,
      });
    }
  } finally {
    await c.skiff.stop();
  }
  const empty = {
    byRole: new Map<string, number>(),
    fileKb: 0,
    upAnonKb: 0,
    upRssKb: 0,
    heap: { used: 0, total: 0, external: 0, malloced: 0 },
    nodeProcesses: 0,
    upCpuPct: 0,
  };
  return samples.sort((a, b) => total(a.byRole) - total(b.byRole))[0] ?? empty;
}

/** The file-backed share of a sample's total, with what it depends on. */
function fileFigure(label: string, s: Sample): Figure {
  return {
    figure: `${label}of which file-backed pages`,
    value: mb(s.fileKb),
    unit: 'MB',
    decimals: 1,
    note: `binaries and libraries, shared with the ${s.nodeProcesses} node processes on the host at the time: fewer of them (a quiet machine) make this larger`,
  };
}

/** skiff up's anonymous memory (the figure to compare across runs, issue #17) and what holds it. */
function anonFigures(label: string, s: Sample): Figure[] {
  const heapMb = (b: number) => (b / 2 ** 20).toFixed(1);
  return [
    {
      figure: `${label}skiff up anonymous (private) memory`,
      value: mb(s.upAnonKb),
      unit: 'MB',
      decimals: 1,
      note: `JS and native heaps: V8 heap ${heapMb(s.heap.used)} MB used of ${heapMb(s.heap.total)} MB, V8 malloc ${heapMb(s.heap.malloced)} MB, the rest native (TLS, SQLite, glibc arenas); varies by ~±4 MB run to run`,
    },
    {
      figure: `${label}skiff up resident (RSS)`,
      value: mb(s.upRssKb),
      unit: 'MB',
      decimals: 1,
      note: `its PSS where no other process runs node: anonymous + ${(mb(s.upRssKb - s.upAnonKb)).toFixed(1)} MB of the node binary and libraries it touches`,
    },
  ];
}

/** skiff up's CPU while idle (add-ons only, nobody on the dashboard). */
function cpuFigure(label: string, s: Sample): Figure {
  return {
    figure: `${label}skiff up idle CPU`,
    value: s.upCpuPct,
    unit: '% of a core',
    decimals: 2,
    // A reading is whole clock ticks (10 ms): each end rounds by up to one.
    note: `over the last ${Math.min(opts.cpuWindow, opts.settle)} s of the settle; ±${(2 / Math.max(1, Math.min(opts.cpuWindow, opts.settle))).toFixed(3)} from clock-tick rounding`,
  };
}

function mb(kb: number): number {
  return kb / 1024;
}
const sample = await measure(opts.ingressDataPlane);
const best = sample.byRole;
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
figures.push(fileFigure('', sample));
figures.push(...anonFigures('', sample));
figures.push(cpuFigure('', sample));
if (opts.compare) {
  const nodeSample = await measure('node');
  const node = nodeSample.byRole;
  for (const [r, kb] of [...node].sort((a, b) => b[1] - a[1]))
    figures.push({ figure: `Node ingress path: PSS ${r}`, value: mb(kb), unit: 'MB', decimals: 1 });
  figures.push({
    figure: 'Node ingress path: idle footprint (PSS, whole cluster)',
    value: mb(total(node)),
    unit: 'MB',
    decimals: 1,
    note: 'same run, the ingress on its Node data path (supervisor + 2 workers)',
  });
  figures.push(fileFigure('Node ingress path: ', nodeSample));
  figures.push(...anonFigures('Node ingress path: ', nodeSample));
  figures.push(cpuFigure('Node ingress path: ', nodeSample));
}
if (opts.json) process.stdout.write(figuresToJson('footprint', figures, {}));
else process.stdout.write(formatFigureTable(figures));
