// The benchmark report (issue #8): runs every bench script under bench/ that exists, each with
// --json (load.ts through an adapter of its text output), and prints one Markdown table: figure,
// value, target, baseline (measured in the same run where the script has one), ratio, result.
// Usage (root): node --import tsx bench/report.ts [--quick] [--only chaos,crash] [--out FILE]
//               [--kubeconfig K --url U  (for autoscaling.ts, which needs a running skiff up)]
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { realClock } from '../src/lib/clock.js';
import type { Figure, Verdict } from './lib/figures.js';
import { verdict } from './lib/figures.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const opts = new Command('bench/report.ts')
  .option('--quick', 'short versions of each script (minutes in total)', false)
  .option('--only <names>', 'comma-separated scripts to run, e.g. chaos,crash')
  .option('--out <file>', 'write the Markdown here instead of stdout')
  .option('--timeout <s>', 'per-script time limit in seconds', Number, 1800)
  .option('--kubeconfig <file>', 'a running skiff up for autoscaling.ts (skipped without it)')
  .option('--url <url>', 'the ingress URL of that skiff up (autoscaling.ts)')
  .parse()
  .opts<{
    quick: boolean;
    only?: string;
    out?: string;
    timeout: number;
    kubeconfig?: string;
    url?: string;
  }>();

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
    quickArgs: ['-n', '1000', '--rounds', '1'],
    reader: 'json',
    baselines: {
      'skiff-ingress req/s': 'nginx req/s',
      'skiff-ingress p50': 'nginx p50',
      'skiff-ingress p99': 'nginx p99',
    },
  },
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

/** bench/load.ts prints "median: ab X req/s, skiff load Y req/s, ratio Zx": two figures. */
export function parseLoadOutput(out: string): ReportFigure[] {
  const m = /median: ab ([\d.]+) req\/s, skiff load ([\d.]+) req\/s/.exec(out);
  if (!m) throw new SyntaxError('No "median:" line in the output of bench/load.ts');
  const ab = Number(m[1]);
  return [
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
}

const fmt = (v: number | null | undefined, f: ReportFigure): string =>
  v === null || v === undefined || Number.isNaN(v)
    ? '-'
    : `${v.toFixed(f.decimals ?? 2)} ${f.unit}`.trim();

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
      target: f.target ? `${f.target.op} ${f.target.value} ${f.unit}`.trim() : '',
      baseline: base ? `${fmt(base.value, base)} (${base.figure})` : '',
      ratio,
      result: verdict({ ...f, value }),
    };
  });
}

const only = opts.only?.split(',').map((x) => x.trim());
const rows: Row[] = [];
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
  });
  if (!existsSync(file)) continue;
  let extra: string[] = [];
  if (s.needsCluster) {
    if (!opts.kubeconfig) {
      rows.push(note('needs a running skiff up (--kubeconfig, --url)', 'skipped'));
      continue;
    }
    extra = [opts.kubeconfig, ...(opts.url ? ['--url', opts.url] : [])];
  }
  const args = ['--import', 'tsx', file, ...extra, ...(opts.quick ? s.quickArgs : s.args)];
  if (s.reader === 'json') args.push('--json');
  process.stderr.write(`== bench/${s.name}.ts ${args.slice(3).join(' ')}\n`);
  const r = await runScript(args, opts.timeout * 1000);
  try {
    const figures = s.reader === 'load' ? parseLoadOutput(r.out) : parseFigures(r.out);
    rows.push(...rowsOf(s, figures));
    if (r.code !== 0 && s.reader !== 'load') rows.push(note(`exited with ${r.code}`, 'error'));
  } catch (err) {
    const last = r.err.trim().split('\n').at(-1) ?? '';
    rows.push(
      note(`no figures (exit ${r.code}): ${String(err)}; ${last}`.replaceAll('|', '/'), 'error'),
    );
  }
}

const header = ['bench', 'figure', 'value', 'target', 'baseline', 'ratio', 'result'];
const md = [
  `# Skiff benchmark report${opts.quick ? ' (quick)' : ''}`,
  '',
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map(
    (r) =>
      `| ${[r.bench, r.figure, r.value, r.target, r.baseline, r.ratio, r.result].join(' | ')} |`,
  ),
  '',
  `${rows.filter((r) => r.result === 'pass').length} passed, ${rows.filter((r) => r.result === 'fail').length} failed, ${rows.filter((r) => r.result === 'error' || r.result === 'skipped').length} not measured`,
  '',
].join('\n');
if (opts.out) writeFileSync(opts.out, md);
else process.stdout.write(md);
