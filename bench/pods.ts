// Pod benchmark (issue #4): the real node agent against the test API server, in this process.
// Prints pod create → Ready and kill → Ready again (p50/p99), kill → NotReady, control-plane RSS
// with many pods, the plain-spawn baseline of the same app, and a per-step start-up profile.
// Usage (root): node --import tsx bench/pods.ts [--pods 50] [--kills 20] [--rss-pods 100] [--json]
// Numbers depend heavily on other load: the baseline (plain spawn of the same app) is measured in
// the same run so the ratios stay meaningful on a busy machine.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestApiServer } from '../src/apiserver/testing.js';
import { R } from '../src/client/resources.js';
import { realClock } from '../src/lib/clock.js';
import { configureLogging } from '../src/lib/log.js';
import { createNodeAgent } from '../src/node/agent.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { freePort, readRssBytes } from './lib/proc.js';
import { type Summary, summarize } from './lib/stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const image = 'lyzhang1999/hello-world-flask:latest';
const opts = new Command('bench/pods.ts')
  .option('--pods <n>', 'pods created one after another for create → Ready', Number, 50)
  .option('--kills <n>', 'app kills for kill → Ready again', Number, 20)
  .option('--rss-pods <n>', 'pods running when control-plane RSS is read', Number, 100)
  .option('--baseline <n>', 'plain spawns of the app', Number, 20)
  .option('--reduced', 'force reduced mode (no namespaces or cgroups)', false)
  .option('--json', 'print the figures as JSON', false)
  .parse()
  .opts<{
    pods: number;
    kills: number;
    rssPods: number;
    baseline: number;
    reduced: boolean;
    json: boolean;
  }>();

// Per-step start-up profile from the agent's debug records ("pod start step").
const steps = new Map<string, number[]>();
configureLogging({
  level: 'debug',
  sink: (line) => {
    if (!line.includes('"pod start step"')) {
      if (line.includes('"level":"warn"') || line.includes('"level":"error"'))
        process.stderr.write(`${line}\n`);
      return;
    }
    const rec = JSON.parse(line) as { step: string; ms: number };
    const step = rec.step;
    steps.set(step, [...(steps.get(step) ?? []), rec.ms]);
  },
});

const isReady = (p: Pod) =>
  p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const restarts = (p: Pod) => p.status?.containerStatuses?.[0]?.restartCount ?? 0;

/** Latest pod objects by name, and waiters for a condition on one pod. */
class PodTracker {
  pods = new Map<string, Pod>();
  #waiters: Array<{ name: string; fn: (p: Pod) => boolean; done: (t: number) => void }> = [];

  seen(p: Pod): void {
    const name = p.metadata?.name ?? '';
    this.pods.set(name, p);
    const t = performance.now();
    this.#waiters = this.#waiters.filter((w) => {
      if (w.name !== name || !w.fn(p)) return true;
      w.done(t);
      return false;
    });
  }

  until(name: string, fn: (p: Pod) => boolean, timeoutMs = 30_000): Promise<number> {
    const cur = this.pods.get(name);
    if (cur && fn(cur)) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const t = realClock.setTimeout(
        () => reject(new Error(`timed out waiting for ${name}`)),
        timeoutMs,
      );
      this.#waiters.push({
        name,
        fn,
        done: (at) => {
          t.cancel();
          resolve(at);
        },
      });
    });
  }
}

function podManifest(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { bench: 'pods' } },
    spec: {
      nodeName: 'skiff',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image }],
    },
  };
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Plain spawn of the app to serving (no sandbox, no API): the floor Skiff is compared to. */
async function baseline(n: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn(
      existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3',
      ['app.py'],
      {
        cwd: path.join(root, 'images/hello-world-flask'),
        env: { ...process.env, SKIFF_APP_PORT: String(port) },
        stdio: 'ignore',
      },
    );
    while (!(await tcpOpen('127.0.0.1', port))) await realClock.sleep(1);
    samples.push(performance.now() - t0);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  return summarize(samples);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 && !opts.reduced) {
    process.stderr.write('bench/pods.ts needs root (or --reduced)\n');
    process.exit(2);
  }
  const api = await startTestApiServer();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'skiff-bench-pods-'));
  const tag = Math.random().toString(16).slice(2, 7);
  const agent = createNodeAgent({
    client: api.client,
    nodeName: 'skiff',
    dataDir,
    podCIDR: `10.${200 + Math.floor(Math.random() * 40)}.0.0/16`,
    bridgeName: `skb${tag}`,
    netnsPrefix: `skiffb${tag}`,
    cgroupName: `skiff-bench-${tag}`,
    reducedMode: opts.reduced,
    kubelet: { port: 0, token: 'bench', tls: undefined as never },
  });
  const ac = new AbortController();
  const tracker = new PodTracker();
  const figures: Figure[] = [];
  try {
    await agent.start(ac.signal);
    const watch = api.client
      .watch<Pod>(R.pods, { namespace: 'default', signal: ac.signal }, (ev) => {
        if (ev.type !== 'ERROR') tracker.seen(ev.object);
      })
      .catch(() => undefined);

    const load = os.loadavg()[0] ?? Number.NaN;
    const base = await baseline(opts.baseline);

    // create → Ready, one pod at a time (latency, not throughput).
    const create: number[] = [];
    for (let i = 0; i < opts.pods; i++) {
      const name = `bench-${i}`;
      const t0 = performance.now();
      await api.client.create(R.pods, podManifest(name));
      create.push((await tracker.until(name, isReady)) - t0);
    }
    const c = summarize(create);

    // kill → NotReady → Ready again: SIGKILL of the app through its shim, as `killall python3`.
    const down: number[] = [];
    const heal: number[] = [];
    for (let i = 0; i < opts.kills; i++) {
      const name = `bench-${i % opts.pods}`;
      const w = [...agent.workers.values()].find((x) => x.pod.metadata?.name === name);
      const before = restarts(tracker.pods.get(name) ?? {});
      const t0 = performance.now();
      await w?.sandbox?.client.signal('app', 9);
      down.push((await tracker.until(name, (p) => !isReady(p))) - t0);
      heal.push((await tracker.until(name, (p) => restarts(p) > before && isReady(p))) - t0);
    }
    const h = summarize(heal);
    const d = summarize(down);
    // The step profile covers the measured pods only, not the RSS fill below.
    const profile = new Map(steps);

    // Control-plane RSS (API server + node agent in this process) with rssPods pods running.
    const more: Promise<number>[] = [];
    for (let i = opts.pods; i < opts.rssPods; i++) {
      const name = `bench-${i}`;
      await api.client.create(R.pods, podManifest(name));
      more.push(tracker.until(name, isReady, 120_000));
    }
    await Promise.all(more);
    await realClock.sleep(1000);
    const rss = (readRssBytes(process.pid) ?? Number.NaN) / 1024 / 1024;

    figures.push(
      { figure: 'create → Ready p50', value: c.p50, unit: 'ms', decimals: 0 },
      {
        figure: 'create → Ready p99',
        value: c.p99,
        unit: 'ms',
        decimals: 0,
        target: { op: '<', value: 300 },
        note: `${c.n} pods, one at a time`,
      },
      { figure: 'kill → NotReady p50', value: d.p50, unit: 'ms', decimals: 0 },
      { figure: 'kill → NotReady p99', value: d.p99, unit: 'ms', decimals: 0 },
      { figure: 'kill → Ready again p50', value: h.p50, unit: 'ms', decimals: 0 },
      {
        figure: 'kill → Ready again p99',
        value: h.p99,
        unit: 'ms',
        decimals: 0,
        target: { op: '<', value: 500 },
        note: `${h.n} SIGKILLs of the app`,
      },
      {
        figure: 'control-plane RSS',
        value: rss,
        unit: 'MB',
        decimals: 0,
        note: `${opts.rssPods} pods; API server + node agent in one process`,
      },
      {
        figure: 'load average (1 min) at start',
        value: load,
        unit: '',
        decimals: 1,
        note: `${os.cpus().length} CPUs; other work slows every figure alike`,
      },
      { figure: 'baseline spawn → serving p50', value: base.p50, unit: 'ms', decimals: 0 },
      { figure: 'baseline spawn → serving p99', value: base.p99, unit: 'ms', decimals: 0 },
      {
        figure: 'create → Ready / baseline (p50)',
        value: c.p50 / base.p50,
        unit: 'x',
        decimals: 1,
      },
      { figure: 'self-heal / baseline (p50)', value: h.p50 / base.p50, unit: 'x', decimals: 1 },
    );
    for (const [step, ms] of profile) {
      const s = summarize(ms);
      figures.push({ figure: `  step ${step} p50`, value: s.p50, unit: 'ms', decimals: 1 });
    }
    ac.abort();
    await watch;
  } finally {
    ac.abort();
    await agent.stopAllPods();
    await agent.stopped?.();
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(opts.json ? figuresToJson('pods', figures) : formatFigureTable(figures));
}

await main();
