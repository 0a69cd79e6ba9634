// Scale-to-zero benchmark (issue #19) against a running `skiff up`: the seed app (image present)
// behind the ingress with a short idle window; each round waits until the Deployment is at zero
// with no pod left, then sends C concurrent requests on fresh connections and times each one from
// sent to its first response byte. Prints the cold start p50/p99 over every request, the first
// answer of each round, and the failed requests. Each round's line also gives, from watches this
// script holds, when the Deployment was scaled and its pod seen created, Running and Ready (ms
// after the requests were sent), so a slow round shows which step it waited on.
// Usage: node --import tsx bench/scale-to-zero.ts <kubeconfig> [--url http://127.0.0.1/]
//        [--cold-starts 100] [-c 20] [--idle-window 1s] [--keep] [--json]
// A round takes the idle window + the ingress's renewal lag + pod shutdown + the cold start: 2–5 s
// here, so 100 cold starts took 202 s and 471 s (2 cores shared by five agents, load 5–17).
import http from 'node:http';
import { Command } from 'commander';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { R } from '../src/client/resources.js';
import { isAlreadyExists, isNotFound, type KObject, KubeClient } from '../src/client/rest.js';
import { scaleToZeroManifests } from '../src/demo/scale-to-zero.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { percentile } from './lib/stats.js';

const program = new Command('bench/scale-to-zero.ts')
  .argument('<kubeconfig>', 'kubeconfig of the running skiff up')
  .option('--namespace <ns>', 'namespace of the app', 'default')
  .option('--name <name>', 'Deployment / Service / Ingress name', 's2z-bench')
  .option('--url <url>', 'the ingress', 'http://127.0.0.1/')
  .option('--cold-starts <n>', 'rounds (each a cold start)', Number, 100)
  .option('-c <n>', 'concurrent requests per cold start', Number, 20)
  .option('--idle-window <d>', 'idle window before the scale to zero', '1s')
  .option('--keep', 'keep the objects afterwards', false)
  .option('--json', 'print figures as JSON', false)
  .parse();
const opts = program.opts<{
  namespace: string;
  name: string;
  url: string;
  coldStarts: number;
  c: number;
  idleWindow: string;
  keep: boolean;
  json: boolean;
}>();
const kubeconfig = program.args[0] ?? '';
const { namespace: ns, name } = opts;
const client = new KubeClient({ config: loadKubeconfig(kubeconfig) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const host = `${name}.local`;
const log = (line: string) => {
  if (!opts.json) process.stderr.write(`${line}\n`);
};

async function setup(): Promise<void> {
  for (const obj of scaleToZeroManifests({
    name,
    namespace: ns,
    idleWindow: opts.idleWindow,
    host,
  })) {
    const r =
      obj.kind === 'Deployment' ? R.deployments : obj.kind === 'Service' ? R.services : R.ingresses;
    try {
      await client.create(r, obj, { namespace: ns });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

async function cleanup(): Promise<void> {
  for (const r of [R.ingresses, R.services, R.deployments]) {
    try {
      await client.delete(r, ns, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Waits (≤ 60 s) until the Deployment is at zero and no pod of it is left. */
async function waitAtZero(): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const d = await client.get<Deployment & KObject>(R.deployments, ns, name);
    if (d.spec?.replicas === 0) {
      const pods = await client.list<Pod>(R.pods, { namespace: ns, labelSelector: `app=${name}` });
      if (pods.items.length === 0) return true;
    }
    await sleep(100);
  }
  return false;
}

/** When (ms after the round's requests were sent) each step of a cold start was seen. */
interface Steps {
  scaled?: number;
  created?: number;
  running?: number;
  ready?: number;
}

/**
 * Watches the Deployment and its pods during one round and notes when each step is first seen.
 * Resolves once both watches are open (the Deployment's current state has arrived), so nothing
 * of the round is missed; stop() ends them.
 */
async function watchSteps(t0: () => number): Promise<{ steps: Steps; stop: () => void }> {
  const steps: Steps = {};
  const ac = new AbortController();
  const at = () => Math.round(performance.now() - t0());
  let opened: () => void = () => undefined;
  const open = new Promise<void>((r) => {
    opened = r;
  });
  const ignore = () => undefined;
  client
    .watch<Deployment>(
      R.deployments,
      { namespace: ns, fieldSelector: `metadata.name=${name}`, signal: ac.signal },
      (ev) => {
        opened();
        if ((ev.object.spec?.replicas ?? 0) > 0) steps.scaled ??= at();
      },
    )
    .catch(ignore);
  client
    .watch<Pod>(
      R.pods,
      { namespace: ns, labelSelector: `app=${name}`, signal: ac.signal },
      (ev) => {
        const p = ev.object;
        if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') return;
        steps.created ??= at();
        if (p.status?.phase === 'Running') steps.running ??= at();
        if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          steps.ready ??= at();
      },
    )
    .catch(ignore);
  // The pod watch has no current state to wait for: a short pause lets it open too.
  await Promise.race([open.then(() => sleep(50)), sleep(5000)]);
  return { steps, stop: () => ac.abort() };
}

/** One GET on a fresh connection: status (-1 when it failed) and ms to the first byte. */
function get(): Promise<{ status: number; ms: number }> {
  const u = new URL(opts.url);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get(
      {
        host: u.hostname,
        port: u.port || 80,
        path: u.pathname,
        headers: { host },
        agent: false,
        timeout: 60_000,
      },
      (res) => {
        res.once('data', () => {
          const ms = performance.now() - t0;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ms }));
        });
        res.on('error', () => resolve({ status: -1, ms: performance.now() - t0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: -1, ms: performance.now() - t0 }));
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  await setup();
  const all: number[] = [];
  const firsts: number[] = [];
  let failed = 0;
  let rounds = 0;
  for (let i = 0; i < opts.coldStarts; i++) {
    if (!(await waitAtZero())) {
      log(`round ${i + 1}: the Deployment did not reach zero within 60 s; stopping`);
      break;
    }
    let sentAt = performance.now();
    const watch = await watchSteps(() => sentAt);
    sentAt = performance.now();
    const answers = await Promise.all(Array.from({ length: opts.c }, () => get()));
    watch.stop();
    const st = watch.steps;
    const step = (v: number | undefined) => (v === undefined ? '?' : String(v));
    rounds++;
    const ok = answers.filter((a) => a.status === 200).map((a) => a.ms);
    failed += answers.length - ok.length;
    all.push(...ok);
    firsts.push(Math.min(...ok));
    log(
      `round ${i + 1}: ${ok.length}/${answers.length} ok, first ${Math.min(...ok).toFixed(0)} ms, last ${Math.max(...ok).toFixed(0)} ms` +
        ` (seen: scaled ${step(st.scaled)}, pod created ${step(st.created)}, running ${step(st.running)}, ready ${step(st.ready)} ms)`,
    );
  }
  const totalSeconds = (performance.now() - started) / 1000;
  if (!opts.keep) await cleanup();
  all.sort((a, b) => a - b);
  firsts.sort((a, b) => a - b);
  const figures: Figure[] = [
    {
      figure: 'cold starts',
      value: rounds,
      unit: '',
      decimals: 0,
      note: `${opts.c} concurrent requests each`,
    },
    {
      figure: 'cold start p50 (sent → first byte)',
      value: percentile(all, 50),
      unit: 'ms',
      target: { op: '<', value: 300 },
      decimals: 0,
    },
    {
      figure: 'cold start p99 (sent → first byte)',
      value: percentile(all, 99),
      unit: 'ms',
      target: { op: '<', value: 600 },
      decimals: 0,
    },
    {
      figure: 'first answer of a cold start p50',
      value: percentile(firsts, 50),
      unit: 'ms',
      decimals: 0,
    },
    {
      figure: 'failed requests',
      value: failed,
      unit: '',
      target: { op: '<', value: 1 },
      decimals: 0,
    },
    {
      figure: 'bench duration',
      value: totalSeconds,
      unit: 's',
      decimals: 0,
      note: `idle window ${opts.idleWindow}`,
    },
  ];
  process.stdout.write(
    opts.json ? figuresToJson('scale-to-zero', figures) : formatFigureTable(figures),
  );
  client.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  client.close();
  process.exit(1);
});
