// The benchmark report (issue #8): runs every bench script under bench/ that exists, each with
// --json (load.ts through an adapter of its text output), and prints one Markdown table: figure,
// value, target, baseline (measured in the same run where the script has one), ratio, result.
// Usage (root): node --import tsx bench/report.ts [--quick] [--only chaos,crash] [--out FILE]
//               [--kubeconfig K --url U  (autoscaling.ts; without them the report boots a cluster)]
// Needs ab (apache2-utils) and nginx (`apt-get install -y nginx-light`) for the baselines.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { realClock } from '../src/lib/clock.js';
import { bootCluster, type ChaosCluster } from '../test/chaos/lib/cluster.js';
import type { Figure, Verdict } from './lib/figures.js';
import { verdict } from './lib/figures.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const opts = new Command('bench/report.ts')
  .option('--quick', 'short versions of each script (minutes in total)', false)
  .option('--only <names>', 'comma-separated scripts to run, e.g. chaos,crash')
  .option('--out <file>', 'write the Markdown here instead of stdout')
  .option('--timeout <s>', 'per-script time limit in seconds', Number, 1800)
  .option('--kubeconfig <file>', 'a running skiff up for autoscaling.ts (else one is booted)')
  .option('--url <url>', 'the ingress URL of that skiff up (autoscaling.ts)')
  .option(
    '--reuse <name=file...>',
    "take a script's run from a file instead of running it: a .run.json of --save, or its --json output (soak=s.json)",
  )
  .option('--save <dir>', 'also save each run as <dir>/<name>.run.json (for --reuse)')
  .parse()
  .opts<{
    quick: boolean;
    only?: string;
    out?: string;
    timeout: number;
    kubeconfig?: string;
    url?: string;
    reuse?: string[];
    save?: string;
  }>();
const reused = new Map(
  (opts.reuse ?? []).map((r) => [r.slice(0, r.indexOf('=')), r.slice(r.indexOf('=') + 1)]),
);

/** A figure as the report reads it (figuresToJson gives null for a missing value). */
type ReportFigure = Omit<Figure, 'value'> & { value: number | null | undefined };

/** How one bench script is run and read. */
interface BenchScript {
  name: string;
  args: string[];
  quickArgs: string[];
  /** 'json': the script prints figuresToJson with --json; 'load': adapter of bench/load.ts. */
  reader: 'json' | 'load';
  /** Baselines: figure name → the same run's figure it is compared with. */
  baselines?: Record<string, string>;
  needsCluster?: boolean;
}

const scripts: BenchScript[] = [
  {
    name: 'api',
    args: [],
    quickArgs: ['--objects', '200', '--lists', '5', '--watchers', '20', '--events', '50'],
    reader: 'json',
  },
  {
    name: 'load',
    args: [],
    quickArgs: ['--rounds', '1', '-n', '2000'],
    reader: 'load',
    baselines: { 'skiff load req/s': 'ab req/s' },
  },
  {
    name: 'ingress',
    args: [],
    quickArgs: ['-n', '2000', '--rounds', '1', '--node-target'],
    reader: 'json',
    baselines: {
      'skiff-ingress req/s': 'nginx req/s',
      'skiff-ingress p50': 'nginx p50',
      'skiff-ingress p99': 'nginx p99',
      'skiff-ingress CPU per 1k req': 'nginx CPU per 1k req',
    },
  },
  { name: 'footprint', args: [], quickArgs: ['--settle', '5', '--samples', '1'], reader: 'json' },
  {
    name: 'pods',
    args: [],
    quickArgs: ['--pods', '10', '--kills', '5', '--rss-pods', '20', '--baseline', '5'],
    reader: 'json',
    baselines: {
      'create → Ready p50': 'baseline spawn → serving p50',
      'create → Ready p99': 'baseline spawn → serving p99',
    },
  },
  {
    name: 'controllers',
    args: [],
    quickArgs: ['--pods', '30', '--idle-pods', '100', '--idle-seconds', '3'],
    reader: 'json',
  },
  { name: 'autoscaling', args: [], quickArgs: ['-n', '3000'], reader: 'json', needsCluster: true },
  {
    name: 'chaos',
    args: [],
    quickArgs: ['--duration', '15', '--rate', '50', '--replicas', '3', '--kill-ingress-at', '5'],
    reader: 'json',
  },
  {
    name: 'crash',
    args: [],
    quickArgs: ['--rate', '50', '--before', '3', '--outage', '3', '--after', '5'],
    reader: 'json',
  },
  { name: 'soak', args: [], quickArgs: ['--minutes', '2'], reader: 'json' },
];

/** Runs a command, collecting stdout and the tail of stderr, within a time limit. */
function runScript(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
      process.stderr.write(d);
    });
    const timer = realClock.setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code, signal) => {
      timer.cancel();
      resolve({ code: code ?? (signal ? 128 : 1), out, err });
    });
  });
}

/** Figures of a script's --json output (the JSON document may follow other lines). */
export function parseFigures(out: string): ReportFigure[] {
  const start = out.indexOf('{\n');
  if (start < 0) throw new SyntaxError('No JSON document in the output');
  const doc = JSON.parse(out.slice(start)) as { figures?: ReportFigure[] };
  return doc.figures ?? [];
}

/**
 * bench/load.ts prints "median: ab X req/s, skiff load Y req/s, ratio Zx" on stdout and
 * "skiff load: N failed requests" on stderr per round with failures: three figures.
 */
export function parseLoadOutput(out: string, err = ''): ReportFigure[] {
  const m = /median: ab ([\d.]+) req\/s, skiff load ([\d.]+) req\/s/.exec(out);
  if (!m) throw new SyntaxError('No "median:" line in the output of bench/load.ts');
  const ab = Number(m[1]);
  const failed = [...err.matchAll(/skiff load: (\d+) failed requests/g)].reduce(
    (n, f) => n + Number(f[1]),
    0,
  );
  return [
    {
      figure: 'skiff load failed requests',
      value: failed,
      unit: '',
      decimals: 0,
      target: { op: '<', value: 1 },
      note: 'summed over the rounds (bench/load.ts prints them on stderr)',
    },
    { figure: 'ab req/s', value: ab, unit: 'req/s', decimals: 0 },
    // The script's own goal: skiff load within 10% of ab.
    {
      figure: 'skiff load req/s',
      value: Number(m[2]),
      unit: 'req/s',
      decimals: 0,
      target: { op: '>', value: 0.9 * ab },
    },
  ];
}

interface Row {
  bench: string;
  figure: string;
  value: string;
  target: string;
  baseline: string;
  ratio: string;
  result: Verdict | 'error' | 'skipped';
  note: string;
}

const fmt = (v: number | null | undefined, f: ReportFigure): string =>
  v === null || v === undefined || Number.isNaN(v)
    ? '-'
    : `${v.toFixed(f.decimals ?? 2)} ${f.unit}`.trim();

/** Text made safe for a Markdown table cell (no pipes or newlines, at most 160 characters). */
const cell = (t: string): string => {
  const one = t.replaceAll('|', '/').replaceAll('\n', ' ').trim();
  return one.length > 160 ? `${one.slice(0, 157)}...` : one;
};

function rowsOf(s: BenchScript, figures: ReportFigure[]): Row[] {
  const byName = new Map(figures.map((f) => [f.figure, f]));
  return figures.map((f) => {
    const base = s.baselines?.[f.figure] ? byName.get(s.baselines[f.figure]!) : undefined;
    const value = f.value ?? undefined;
    const ratio = base?.value && value !== undefined ? (value / base.value).toFixed(2) : '';
    return {
      bench: s.name,
      figure: f.figure.trim(),
      value: fmt(f.value, f),
      target: f.target ? `${f.target.op} ${fmt(f.target.value, f)}` : '',
      baseline: base ? `${fmt(base.value, base)} (${base.figure})` : '',
      ratio,
      result: verdict({ ...f, value }),
      note: cell(f.note ?? ''),
    };
  });
}

/** One script's run: its output, how long it took and the machine's load around it. */
interface Run {
  bench: string;
  seconds: number;
  loadStart: number[];
  loadEnd: number[];
  code: number;
  out: string;
  err: string;
  /** Set when the run was read from a file (--reuse) rather than made now. */
  reusedFrom?: string;
}

const notTimed = (bench: string): Run => ({
  bench,
  seconds: Number.NaN,
  loadStart: [],
  loadEnd: [],
  code: 0,
  out: '',
  err: '',
});

/** Runs one bench script (booting a cluster for it when it needs one). */
async function runBench(s: BenchScript): Promise<Run> {
  const file = `${root}bench/${s.name}.ts`;
  let extra: string[] = [];
  let own: ChaosCluster | undefined;
  if (s.needsCluster) {
    if (opts.kubeconfig) {
      extra = [opts.kubeconfig, ...(opts.url ? ['--url', opts.url] : [])];
    } else {
      // A cluster of its own (free ports, private CIDRs); the script creates the seed objects.
      own = await bootCluster();
      extra = [own.skiff.kubeconfig, '--url', own.ingressUrl, '--setup'];
    }
  }
  const args = ['--import', 'tsx', file, ...extra, ...(opts.quick ? s.quickArgs : s.args)];
  if (s.reader === 'json') args.push('--json');
  process.stderr.write(`== bench/${s.name}.ts ${args.slice(3).join(' ')}\n`);
  const loadStart = loadavg();
  const t0 = realClock.now();
  try {
    const r = await runScript(args, opts.timeout * 1000);
    return {
      bench: s.name,
      seconds: (realClock.now() - t0) / 1000,
      loadStart,
      loadEnd: loadavg(),
      ...r,
    };
  } finally {
    await own?.skiff.stop();
  }
}

const only = opts.only?.split(',').map((x) => x.trim());
const rows: Row[] = [];
const runs: Run[] = [];
const started = new Date(realClock.now()).toISOString();
const reportT0 = realClock.now();
for (const s of scripts) {
  if (only && !only.includes(s.name)) continue;
  const file = `${root}bench/${s.name}.ts`;
  const note = (text: string, result: Row['result']): Row => ({
    bench: s.name,
    figure: text,
    value: '',
    target: '',
    baseline: '',
    ratio: '',
    result,
    note: '',
  });
  if (!existsSync(file)) continue;
  const saved = reused.get(s.name);
  let r: Run;
  if (saved) {
    // A .run.json from --save carries timing and load; anything else is a script's --json stdout.
    r = saved.endsWith('.run.json')
      ? (JSON.parse(readFileSync(saved, 'utf8')) as Run)
      : { ...notTimed(s.name), out: readFileSync(saved, 'utf8') };
    r.reusedFrom = saved;
  } else {
    r = await runBench(s);
    if (opts.save) writeFileSync(join(opts.save, `${s.name}.run.json`), JSON.stringify(r));
  }
  runs.push(r);
  try {
    const figures = s.reader === 'load' ? parseLoadOutput(r.out, r.err) : parseFigures(r.out);
    rows.push(...rowsOf(s, figures));
    if (r.code !== 0 && s.reader !== 'load') rows.push(note(`exited with ${r.code}`, 'error'));
    if (r.reusedFrom) rows.push(note(`figures of an earlier run: ${r.reusedFrom}`, 'n/a'));
  } catch (err) {
    // The last line naming an error says more than Node's trailing version banner.
    const lines = r.err.trim().split('\n');
    const last = lines.findLast((l) => /error/i.test(l)) ?? lines.at(-1) ?? '';
    rows.push(note(cell(`no figures (exit ${r.code}): ${String(err)}; ${last}`), 'error'));
  }
}

const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
const header = ['bench', 'figure', 'value', 'target', 'baseline', 'ratio', 'result', 'note'];
const md = [
  `# Skiff benchmark report${opts.quick ? ' (quick)' : ''}`,
  '',
  `Started ${started}, took ${((realClock.now() - reportT0) / 60_000).toFixed(1)} min on ${cpus().length} CPUs` +
    (runs.some((r) => r.reusedFrom)
      ? ` (${runs.filter((r) => r.reusedFrom).length} runs read from earlier files: see the exit column). `
      : '. ') +
    'Figures are **loaded** when the load average below exceeds the CPU count: other work ran ' +
    'on the machine at the same time, so latencies and rates are pessimistic.',
  '',
  '| bench | seconds | load avg at start (1/5/15 min) | load avg at end | exit |',
  '| --- | --- | --- | --- | --- |',
  ...runs.map(
    (r) =>
      `| ${r.bench} | ${Number.isNaN(r.seconds) ? '-' : r.seconds.toFixed(0)} | ${la(r.loadStart)} | ${la(r.loadEnd)} | ${r.code}${r.reusedFrom ? ` (earlier run: ${r.reusedFrom})` : ''} |`,
  ),
  '',
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map(
    (r) =>
      `| ${[r.bench, r.figure, r.value, r.target, r.baseline, r.ratio, r.result, r.note].join(' | ')} |`,
  ),
  '',
  `${rows.filter((r) => r.result === 'pass').length} passed, ${rows.filter((r) => r.result === 'fail').length} failed, ${rows.filter((r) => r.result === 'error' || r.result === 'skipped').length} not measured`,
  '',
].join('\n');
if (opts.out) writeFileSync(opts.out, md);
else process.stdout.write(md);
