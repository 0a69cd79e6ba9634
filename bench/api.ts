// API benchmark (issue #2): boots `skiff up` (or an API server alone, --target server) on a temp
// data dir and prints create/get/list latency at 1,000 ConfigMaps, watch delivery latency with 100
// watchers, idle RSS and up → /readyz time. Usage: node --import tsx bench/api.ts [--json]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { loadKubeconfig } from '../src/client/config.js';
import { R } from '../src/client/resources.js';
import { type ClientConfig, KubeClient, type WatchEvent } from '../src/client/rest.js';
import { realClock } from '../src/lib/clock.js';
import { errorMessage } from '../src/lib/errors.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { freePort, isProcessRunning, pollUntil, readRssBytes, settledRss } from './lib/proc.js';
import { type Summary, summarize } from './lib/stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const MB = 1024 * 1024;

const opts = new Command('bench/api.ts')
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .option('--target <t>', 'skiff (whole `skiff up`) or server (API server alone)', 'skiff')
  .option('--objects <n>', 'ConfigMaps to create/get and list', Number, 1000)
  .option('--lists <n>', 'list calls of all objects', Number, 30)
  .option('--watchers <n>', 'concurrent watches', Number, 100)
  .option('--events <n>', 'writes observed by every watcher', Number, 200)
  .option('--serve', 'internal: run an API server over SQLite (the --target server child)', false)
  .option('--data-dir <dir>', 'internal: data dir of --serve')
  .option('--port <port>', 'internal: port of --serve', Number)
  .parse()
  .opts<{
    json: boolean;
    target: 'skiff' | 'server';
    objects: number;
    lists: number;
    watchers: number;
    events: number;
    serve: boolean;
    dataDir?: string;
    port?: number;
  }>();

const progress = (msg: string) => {
  if (!opts.json) process.stderr.write(`${msg}\n`);
};

/** The --target server child: an API server over SqliteBackend on plain http. */
async function serve(dataDir: string, port: number): Promise<void> {
  const { SqliteBackend } = await import('../src/store/sqlite/sqlite-backend.js');
  const { createApiServer } = await import('../src/apiserver/server.js');
  const backend = new SqliteBackend({ path: join(dataDir, 'state.db') });
  const server = createApiServer({ backend, host: '127.0.0.1', port });
  await server.listen();
  const stop = () => {
    void server.close().then(() => {
      backend.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** A started target: its process, how to reach it, and how long it took to answer /readyz. */
interface Target {
  child: ChildProcess;
  config: ClientConfig;
  readyMs: number | undefined;
  what: string;
}

function startTarget(kind: 'skiff' | 'server', dataDir: string, ports: number[]): ChildProcess {
  const [api, ingress, kubelet, metrics] = ports as [number, number, number, number];
  const args =
    kind === 'skiff'
      ? [
          join(root, 'bin/skiff.js'),
          'up',
          '--data-dir',
          dataDir,
          '--api-port',
          String(api),
          '--ingress-port',
          String(ingress),
          '--kubelet-port',
          String(kubelet),
          '--metrics-port',
          String(metrics),
          '--no-kubeconfig',
        ]
      : [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--serve',
          '--data-dir',
          dataDir,
          '--port',
          String(api),
        ];
  return spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SKIFF_LOG_LEVEL: 'warn' },
  });
}

/** GET /readyz without credentials (health paths are anonymous); true on 200. */
function readyz(url: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(`${url}/readyz`, { rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', reject);
    req.setTimeout(2000, () => req.destroy(new Error('readyz timed out')));
  });
}

async function boot(kind: 'skiff' | 'server', dataDir: string): Promise<Target> {
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const url = `${kind === 'skiff' ? 'https' : 'http'}://127.0.0.1:${ports[0]}`;
  const t0 = performance.now();
  const child = startTarget(kind, dataDir, ports);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new AbortController();
  child.on('exit', () => exited.abort());
  const ms = await pollUntil(() => readyz(url), {
    intervalMs: 5,
    timeoutMs: 60_000,
    signal: exited.signal,
  });
  if (ms === undefined) {
    await stop(child);
    throw new Error(`Target "${kind}" did not become ready: ${stderr.trim() || 'no output'}`);
  }
  const readyMs = performance.now() - t0;
  const config: ClientConfig =
    kind === 'skiff' ? loadKubeconfig(join(dataDir, 'kubeconfig')) : { server: url };
  return {
    child,
    config,
    readyMs,
    what: kind === 'skiff' ? 'skiff up' : 'API server over SQLite',
  };
}

/** SIGTERM then wait (SIGKILL after 15 s); the child is ours, addressed by its pid. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = realClock.setTimeout(() => {
    if (child.pid !== undefined && isProcessRunning(child.pid)) child.kill('SIGKILL');
  }, 15_000);
  await done;
  timer.cancel();
}

const configMap = (ns: string, name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels: { bench: 'api' } },
  data: { key: 'value', index: name },
});

async function timeEach(n: number, fn: (i: number) => Promise<unknown>): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

/** One open watch: records when each object's event arrived (ms, performance.now()). */
interface Watcher {
  arrivals: Map<string, number>;
  close(): void;
}

function openWatcher(
  config: ClientConfig,
  path: string,
  onArrival: (name: string) => void,
): Promise<Watcher> {
  const url = new URL(path, config.server);
  const mod = url.protocol === 'https:' ? https : http;
  const arrivals = new Map<string, number>();
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        // One socket per watcher, as 100 separate clients would have.
        agent: false,
        ca: config.ca,
        rejectUnauthorized: !config.insecureSkipTLSVerify,
        headers: {
          Accept: 'application/json',
          ...(config.token ? { Authorization: `Bearer ${config.token}` } : {}),
        },
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`Watch answered ${res.statusCode}`));
          res.resume();
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // Stamp first, parse after: the parse cost of this chunk is not delivery latency.
          const at = performance.now();
          buf += chunk;
          let nl = buf.indexOf('\n');
          while (nl >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            nl = buf.indexOf('\n');
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as WatchEvent;
            const name = ev.object.metadata?.name;
            if (name && !arrivals.has(name)) {
              arrivals.set(name, at);
              onArrival(name);
            }
          }
        });
        res.on('error', () => undefined);
        resolve({ arrivals, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Writes `events` ConfigMaps one at a time, each once every watcher has seen the previous one. */
async function measureWatch(
  client: KubeClient,
  config: ClientConfig,
  ns: string,
): Promise<{ fromAck: Summary; fromStart: Summary; lost: number }> {
  await client.create(R.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns },
  });
  const list = await client.list(R.configmaps, { namespace: ns });
  const rv = list.metadata.resourceVersion ?? '';
  const seen = new Map<string, number>();
  let waiter: { name: string; resolve: () => void } | undefined;
  const onArrival = (name: string) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (waiter?.name === name && n === opts.watchers) waiter.resolve();
  };
  const path = `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}`;
  const watchers: Watcher[] = [];
  try {
    for (let i = 0; i < opts.watchers; i++)
      watchers.push(await openWatcher(config, path, onArrival));
    const fromAck: number[] = [];
    const fromStart: number[] = [];
    let lost = 0;
    for (let i = 0; i < opts.events; i++) {
      const name = `w-${i}`;
      const allSeen = new Promise<boolean>((resolve) => {
        waiter = { name, resolve: () => resolve(true) };
        realClock.setTimeout(() => resolve(false), 5000);
      });
      const start = performance.now();
      await client.create(R.configmaps, configMap(ns, name));
      const ack = performance.now();
      if (!(await allSeen)) lost++;
      for (const w of watchers) {
        const at = w.arrivals.get(name);
        if (at === undefined) continue;
        // An event can be read before the client has processed the write's response: count 0.
        fromAck.push(Math.max(0, at - ack));
        fromStart.push(at - start);
      }
    }
    return { fromAck: summarize(fromAck), fromStart: summarize(fromStart), lost };
  } finally {
    for (const w of watchers) w.close();
  }
}

async function main(): Promise<void> {
  if (opts.serve) {
    await serve(opts.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-bench-')), opts.port ?? 0);
    return;
  }
  const figures: Figure[] = [];
  let dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-api-'));
  let target: Target | undefined;
  let fallbackNote: string | undefined;
  try {
    try {
      progress(
        `Booting ${opts.target === 'skiff' ? '`skiff up`' : 'the API server'} in ${dataDir}`,
      );
      target = await boot(opts.target, dataDir);
    } catch (err) {
      if (opts.target !== 'skiff') throw err;
      fallbackNote = `skiff up failed (${errorMessage(err).slice(0, 120)}); API server alone`;
      progress(`${fallbackNote}: retrying with --target server`);
      rmSync(dataDir, { recursive: true, force: true });
      dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-api-'));
      target = await boot('server', dataDir);
    }
    const pid = target.child.pid!;
    const what = target.what;
    figures.push({
      figure: `${what} → /readyz 200`,
      value: target.readyMs,
      unit: 'ms',
      decimals: 0,
      target: { op: '<', value: 1000 },
      note: fallbackNote ?? 'wall time from spawn, incl. node+tsx start',
    });
    progress('Measuring idle RSS (waiting for it to settle)');
    const idle = await settledRss(pid, { maxMs: 20_000 });
    figures.push({
      figure: `idle RSS (${what})`,
      value: idle && idle.bytes / MB,
      unit: 'MB',
      decimals: 1,
      target: { op: '<', value: 80 },
      note: idle
        ? `VmRSS, ${idle.settled ? 'settled' : 'not settled'} after ${(idle.ms / 1000).toFixed(1)} s`
        : 'process gone',
    });

    const client = new KubeClient({ config: target.config });
    try {
      const ns = 'bench-api';
      await client.create(R.namespaces, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
      progress(`Creating ${opts.objects} ConfigMaps`);
      const create = await timeEach(opts.objects, (i) =>
        client.create(R.configmaps, configMap(ns, `cm-${i}`)),
      );
      progress(`Getting ${opts.objects} ConfigMaps`);
      const get = await timeEach(opts.objects, (i) => client.get(R.configmaps, ns, `cm-${i}`));
      progress(`Listing ${opts.objects} ConfigMaps ${opts.lists} times`);
      const list = await timeEach(opts.lists, async () => {
        const l = await client.list(R.configmaps, { namespace: ns });
        if (l.items.length !== opts.objects)
          throw new Error(`List returned ${l.items.length} items`);
      });
      for (const [verb, s] of [
        ['create', create],
        ['get', get],
        [`list (${opts.objects} items)`, list],
      ] as const) {
        for (const p of ['p50', 'p90', 'p99'] as const) {
          figures.push({
            figure: `${verb} latency ${p}`,
            value: s[p],
            unit: 'ms',
            note: `n=${s.n}`,
          });
        }
      }
      const loaded = readRssBytes(pid);
      figures.push({
        figure: `RSS with ${opts.objects} ConfigMaps`,
        value: loaded && loaded / MB,
        unit: 'MB',
        decimals: 1,
      });

      progress(`Watch delivery: ${opts.watchers} watchers × ${opts.events} writes`);
      const w = await measureWatch(client, target.config, 'bench-watch');
      const note = `n=${w.fromAck.n}${w.lost ? `, ${w.lost} writes not seen by all within 5 s` : ''}`;
      figures.push(
        { figure: 'watch delivery from ack p50', value: w.fromAck.p50, unit: 'ms', note },
        {
          figure: 'watch delivery from ack p99',
          value: w.fromAck.p99,
          unit: 'ms',
          target: { op: '<', value: 10 },
          note,
        },
        { figure: 'watch delivery from write start p50', value: w.fromStart.p50, unit: 'ms' },
        { figure: 'watch delivery from write start p99', value: w.fromStart.p99, unit: 'ms' },
      );
    } finally {
      client.close();
    }
  } finally {
    if (target) await stop(target.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (opts.json) {
    process.stdout.write(
      figuresToJson('api', figures, {
        target: opts.target,
        objects: opts.objects,
        watchers: opts.watchers,
        events: opts.events,
        node: process.version,
      }),
    );
  } else {
    process.stdout.write(
      `\nSkiff API benchmark (${opts.objects} objects, ${opts.watchers} watchers)\n`,
    );
    process.stdout.write(formatFigureTable(figures));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/api: ${errorMessage(err)}\n`);
  // Figures are reported, not asserted: only a broken run fails.
  process.exitCode = 1;
});
