// Ingress/Service data-path benchmark (issues #5, #17): req/s, p50/p99 and CPU per 1000 requests
// on the same two backend "pods", measured direct, through a ClusterIP (Skiff's service proxy),
// through Skiff's ingress (its nginx data plane, the same with every answer streamed as before
// issue #17, and the Node data path), and through Debian's
// nginx configured as ingress-nginx would be (reverse proxy to the pod addresses, keep-alive
// upstreams), all in one run, interleaved, loaded by `ab` with and without keep-alive (best of the
// rounds). Then endpoint churn: 10 endpoint changes per second under load, the time until a change
// serves, and the failed requests. Prints the figures and the ratios against the targets.
// Usage: node --import tsx bench/ingress.ts [-c 50] [-n 20000] [--rounds 3] [--node-target] [--json]
//        [--churn-only] [--churn-seconds 10]  (only the endpoint churn: p50, p99 and max)
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import cluster from 'node:cluster';
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { EndpointPicker } from '../src/api/endpoint-picker.js';
import { acceptBacklog, listenOn } from '../src/ingress/listen.js';
import { findNginx, NginxDataPlane } from '../src/ingress/nginx.js';
import { renderLuaConfig, upstreamName } from '../src/ingress/nginx-conf.js';
import { IngressProxy } from '../src/ingress/proxy.js';
import { RouteTable } from '../src/ingress/routes.js';
import { realClock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/log.js';
import {
  canManageDevices,
  deleteServiceDevice,
  ensureServiceDevice,
  syncDeviceAddresses,
} from '../src/lib/netdev.js';
import { ServicePortListener } from '../src/proxy/tcp-proxy.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { nginxBaselineConf } from './lib/nginx-baseline.js';
import { freePort } from './lib/proc.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const flaskApp = `${root}images/hello-world-flask/app.py`;
const benchDevice = 'skiff-bench0';
const benchClusterIP = '10.96.253.1';

const opts = new Command('bench/ingress.ts')
  .option('-c <n>', 'concurrency', Number, 50)
  .option('-n <n>', 'requests per measurement', Number, 20000)
  .option('--rounds <n>', 'rounds (the best is reported)', Number, 3)
  .option('--node-target', 'small node servers instead of the bundled flask app', false)
  .option('--only <names>', 'comma-separated targets to measure (e.g. skiff-ingress,nginx)')
  .option('--churn-only', 'only the endpoint churn through the nginx data plane', false)
  .option('--churn-seconds <s>', 'seconds of 10 endpoint changes per second', Number, 10)
  .option('--json', 'print JSON for the report script', false)
  .option('--serve <json>', 'internal: run the Skiff proxies in this child process')
  .parse()
  .opts<{
    c: number;
    n: number;
    rounds: number;
    nodeTarget: boolean;
    json: boolean;
    serve?: string;
    only?: string;
    churnOnly: boolean;
    churnSeconds: number;
  }>();

interface ServeConfig {
  pods: number[];
  clusterHost: string;
  clusterPort: number;
  ingressPort: number;
  accessLog: string;
  /** Serve the ingress with the nginx data plane (this nginx binary) instead of Node. */
  nginx?: string;
  /** The nginx data plane's whole-answer bound (0: every answer streams, as before issue #17). */
  wholeAnswerBytes?: number;
}

/** The bench's Ingress: everything on / to the two pods. */
const benchIngress: Ingress = {
  metadata: { name: 'hello-world-flask', namespace: 'default' },
  spec: {
    rules: [
      {
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'hello-world-flask', port: { number: 5000 } } },
            },
          ],
        },
      },
    ],
  },
};

const podEndpoints = (ports: number[]) =>
  ports.map((port) => ({ ip: '127.0.0.1', port, ready: true, serving: true, terminating: false }));

/**
 * Child mode with --nginx: the add-on's nginx data plane (nginx + Lua, the Node holder on a unix
 * socket). Stdin lines "endpoints <port,port>" change the endpoints (answer: "pushed <ms>").
 */
async function serveNginx(cfg: ServeConfig): Promise<void> {
  const table = new RouteTable([benchIngress]);
  const picker = new EndpointPicker();
  picker.setEndpoints(podEndpoints(cfg.pods));
  const plane = new NginxDataPlane({
    nginx: cfg.nginx ?? 'nginx',
    listen: [`127.0.0.1:${cfg.ingressPort}`],
    log: createLogger({ component: 'bench-ingress' }),
    // Logged like the Node path and the nginx baseline: a file (stdout carries the protocol).
    accessLog: cfg.accessLog,
    wholeAnswerBytes: cfg.wholeAnswerBytes,
  });
  const holder = http.createServer();
  new IngressProxy({
    routes: () => table,
    pickerFor: () => picker,
    trustForwarded: true,
  }).attach(holder);
  await new Promise<void>((r) => holder.listen(plane.holderSocket, r));
  const config = () =>
    renderLuaConfig({
      ...table.servers(),
      backends: new Map([[upstreamName(table.backends()[0]!), picker.targets()]]),
    });
  await plane.start(config());
  process.once('SIGTERM', () => void plane.stop().then(() => process.exit(0)));
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [cmd, arg = ''] = line.split(' ');
    if (cmd !== 'endpoints') return;
    picker.setEndpoints(podEndpoints(arg.split(',').map(Number)));
    const t = performance.now();
    void plane.push(config()).then(() => {
      process.stdout.write(`pushed ${(performance.now() - t).toFixed(2)}\n`);
    });
  });
  process.stdout.write('ready\n');
}

/**
 * Child mode: the ClusterIP listener and the ingress data path, as in `skiff up` and the add-on.
 * `handle`: accept from this server the primary listens on (an add-on worker), else the port.
 */
async function serve(
  cfg: ServeConfig,
  parts: { clusterIP: boolean; ingress: boolean },
  handle?: net.Server,
): Promise<void> {
  const eps = podEndpoints(cfg.pods);
  if (parts.clusterIP) {
    const clusterPicker = new EndpointPicker();
    clusterPicker.setEndpoints(eps);
    const listener = new ServicePortListener({
      host: cfg.clusterHost,
      port: cfg.clusterPort,
      picker: clusterPicker,
    });
    await listener.listen();
  }
  if (!parts.ingress) return;
  const ingPicker = new EndpointPicker();
  ingPicker.setEndpoints(eps);
  const table = new RouteTable([benchIngress]);
  const log = createWriteStream(cfg.accessLog, { flags: 'a' });
  const proxy = new IngressProxy({
    routes: () => table,
    pickerFor: () => ingPicker,
    onRefused: (_b, t) => ingPicker.remove(t),
    accessLog: (line) => log.write(`${line}\n`),
  });
  const server = http.createServer({ keepAliveTimeout: 75_000 });
  proxy.attach(server);
  await new Promise<void>((r) =>
    handle
      ? server.listen(handle, acceptBacklog, r)
      : server.listen({ port: cfg.ingressPort, host: '127.0.0.1', backlog: acceptBacklog }, r),
  );
  if (cluster.isWorker) process.send?.('ready');
  else process.stdout.write('ready\n');
}

async function waitHTTP(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get(url, { agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    await realClock.sleep(100);
  }
  throw new Error(`Nothing answers on ${url}`);
}

interface AbResult {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  /** CPU milliseconds the proxy processes spent per 1000 requests (NaN when not measured). */
  cpu: number;
}

/** The pid and its descendants (cluster workers, nginx workers). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const task of readdirSync(`/proc/${out[i]}/task`)) {
      const kids = readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    }
  }
  return out;
}

/** User+system CPU milliseconds of the processes (clock ticks of 10 ms). */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // The process exited between listing and reading: its time is gone with it.
    }
  }
  return ticks * 10;
}

/** Runs a measurement and adds the CPU the proxy process tree spent per 1000 requests. */
async function withCpu(root: number, n: number, fn: () => Promise<AbResult>): Promise<AbResult> {
  const pids = processTree(root);
  const before = cpuMs(pids);
  const r = await fn();
  return { ...r, cpu: ((cpuMs(pids) - before) * 1000) / n };
}

/** One measurement with ApacheBench (HTTP/1.0; -k asks for keep-alive), as the issue measured. */
async function ab(
  url: string,
  c: number,
  n: number,
  keepAlive: boolean,
  seconds?: number,
): Promise<AbResult> {
  const args = [...(keepAlive ? ['-k'] : []), '-q', '-r', '-s', '30', '-c', String(c)];
  // -t implies -n 50000; the -n after it raises that, and the time limit ends the run.
  if (seconds) args.push('-t', String(seconds));
  args.push('-n', String(n), url);
  const { stdout } = await run('ab', args, { maxBuffer: 16 << 20 });
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
  const failed = num(/^Failed requests:\s+(\d+)/m) + (num(/^Non-2xx responses:\s+(\d+)/m) || 0);
  return {
    rps: num(/^Requests per second:\s+([\d.]+)/m),
    p50: num(/^\s+50%\s+(\d+)/m),
    p99: num(/^\s+99%\s+(\d+)/m),
    failed,
    cpu: Number.NaN,
  };
}

/** Direct to the pods: one ab per pod at once, each with half the concurrency and requests. */
async function abDirect(urls: string[], c: number, n: number, k: boolean): Promise<AbResult> {
  const rs = await Promise.all(
    urls.map((u) => ab(u, Math.max(1, c / urls.length), Math.ceil(n / urls.length), k)),
  );
  return {
    rps: rs.reduce((s, r) => s + r.rps, 0),
    p50: Math.max(...rs.map((r) => r.p50)),
    p99: Math.max(...rs.map((r) => r.p99)),
    failed: rs.reduce((s, r) => s + r.failed, 0),
    cpu: Number.NaN,
  };
}

async function main(): Promise<void> {
  if (opts.serve) {
    const cfg = JSON.parse(opts.serve) as ServeConfig;
    if (cfg.nginx) {
      await serveNginx(cfg);
      return;
    }
    // The ingress runs as the add-on does (src/ingress/supervisor.ts): this process binds the
    // port and never accepts; each of its workers (as many as the add-on's default, at least two)
    // listens on that socket and accepts itself. INGRESS_WORKERS overrides; 0: one process.
    const workers = Number(
      process.env['INGRESS_WORKERS'] ?? Math.max(2, Math.floor(availableParallelism() / 2)),
    );
    if (cluster.isWorker) {
      process.once(
        'message',
        (_m, h) => void serve(cfg, { clusterIP: false, ingress: true }, h as net.Server),
      );
      process.send?.('booted');
      return;
    }
    if (workers > 0) {
      // The ClusterIP listener stays in this one process, as in `skiff up`.
      await serve(cfg, { clusterIP: true, ingress: false });
      // Listening here only to hand the socket over (the add-on's supervisor also keeps it while
      // no worker lives); closed here once every worker accepts from it.
      const handle = net.createServer({ pauseOnConnect: true }, (c) => c.destroy());
      await listenOn(handle, cfg.ingressPort, '127.0.0.1');
      const ws = Array.from({ length: workers }, () => cluster.fork());
      for (const w of ws) w.once('message', () => w.send('listen', handle));
      await Promise.all(
        ws.map((w) => new Promise((r) => w.on('message', (m) => m === 'ready' && r(m)))),
      );
      handle.close();
      process.stdout.write('ready\n');
      process.once('SIGTERM', () => {
        for (const w of ws) w.process.kill('SIGTERM');
        process.exit(0);
      });
      return;
    }
    await serve(cfg, { clusterIP: true, ingress: true });
    return;
  }
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-ingress-'));
  const useDevice = canManageDevices();
  try {
    const pods = [await freePort(), await freePort()];
    const useFlask = existsSync(flaskApp) && !opts.nodeTarget;
    pods.forEach((port, i) => {
      const env = { ...process.env, SKIFF_APP_PORT: String(port), PORT: String(port) };
      const name = `hello-world-flask-bench-${i}`;
      const child = useFlask
        ? spawn('python3', [flaskApp], { env: { ...env, HOSTNAME: name }, stdio: 'ignore' })
        : spawn(
            process.execPath,
            [
              '-e',
              `require('http').createServer((q,s)=>s.end('Hello, my first docker images! ${name}')).listen(${port},'127.0.0.1')`,
            ],
            { env, stdio: 'ignore' },
          );
      children.push(child);
    });
    const podURLs = pods.map((p) => `http://127.0.0.1:${p}/`);
    for (const u of podURLs) await waitHTTP(u);

    let clusterHost = '127.0.0.1';
    if (useDevice) {
      await ensureServiceDevice(benchDevice);
      await syncDeviceAddresses(new Set([benchClusterIP]), benchDevice);
      clusterHost = benchClusterIP;
    }
    const cfg: ServeConfig = {
      pods,
      clusterHost,
      clusterPort: useDevice ? 5000 : await freePort(),
      ingressPort: await freePort(),
      accessLog: join(dir, 'skiff-access.log'),
    };
    const spawnServe = async (c: ServeConfig): Promise<ChildProcess> => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', JSON.stringify(c)],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout?.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`Proxy child exited with ${code}`)));
      });
      return child;
    };
    const proxies = await spawnServe(cfg);
    const found = findNginx();
    /** The nginx data plane in a child of its own (`name` names its access log). */
    const spawnPlane = async (name: string, wholeAnswerBytes?: number) => {
      const port = await freePort();
      const child = found.path
        ? await spawnServe({
            ...cfg,
            ingressPort: port,
            nginx: found.path,
            accessLog: join(dir, `${name}-access.log`),
            wholeAnswerBytes,
          })
        : undefined;
      return { port, child };
    };
    const { port: skiffNginxPort, child: skiffNginx } = await spawnPlane('skiff-nginx');
    // The same data plane with every answer streamed (no whole-answer retry of cut answers): what
    // the retry costs, measured alongside.
    const { port: streamPort, child: skiffStream } = await spawnPlane('skiff-stream', 0);

    const nginxPort = await freePort();
    let nginxURL: string | undefined;
    let nginxNote = '';
    let nginxChild: ChildProcess | undefined;
    try {
      await run('nginx', ['-v']);
      writeFileSync(join(dir, 'nginx.conf'), nginxBaselineConf(dir, nginxPort, pods));
      nginxChild = spawn('nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
      children.push(nginxChild);
      nginxURL = `http://127.0.0.1:${nginxPort}/`;
      await waitHTTP(nginxURL);
    } catch {
      nginxURL = undefined;
      nginxNote = 'nginx missing: apt-get install -y nginx';
    }
    const skiffNote = found.path ? '' : `nginx data plane missing: ${found.missing}`;

    type Run = (c: number, n: number, k: boolean) => Promise<AbResult>;
    const measured = (pid: number | undefined, url: string): Run => {
      return (c, n, k) => withCpu(pid ?? 0, n, () => ab(url, c, n, k));
    };
    const targets: [string, Run][] = [
      ['direct', (c, n, k) => abDirect(podURLs, c, n, k)],
      ['clusterip', (c, n, k) => ab(`http://${clusterHost}:${cfg.clusterPort}/`, c, n, k)],
      ['skiff-node-ingress', measured(proxies.pid, `http://127.0.0.1:${cfg.ingressPort}/`)],
    ];
    if (skiffNginx)
      targets.push([
        'skiff-ingress',
        measured(skiffNginx.pid, `http://127.0.0.1:${skiffNginxPort}/`),
      ]);
    if (skiffStream)
      targets.push([
        'skiff-ingress-stream',
        measured(skiffStream.pid, `http://127.0.0.1:${streamPort}/`),
      ]);
    if (nginxURL) targets.push(['nginx', measured(nginxChild?.pid, nginxURL)]);
    if (opts.churnOnly) targets.length = 0;
    if (opts.only) {
      const keep = new Set(opts.only.split(','));
      targets.splice(0, targets.length, ...targets.filter(([name]) => keep.has(name)));
    }
    const modes = [
      { k: true, suffix: '' },
      { k: false, suffix: ' (no keep-alive)' },
    ];
    // Warm up every path (connections, JIT) before measuring.
    for (const [, fn] of targets) await fn(opts.c, Math.min(2000, opts.n), true);
    const results = new Map<string, AbResult[]>();
    for (let round = 0; round < opts.rounds; round++) {
      // Rotate the order each round so drift on a shared machine hits every path alike.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const mode of modes) {
        for (const [target, fn] of order) {
          const name = `${target}${mode.suffix}`;
          const r = await fn(opts.c, opts.n, mode.k);
          results.set(name, [...(results.get(name) ?? []), r]);
          if (!opts.json) {
            process.stdout.write(
              `round ${round + 1} ${name.padEnd(36)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  failed ${r.failed}${Number.isNaN(r.cpu) ? '' : `  cpu ${r.cpu.toFixed(0)} ms/1k req`}\n`,
            );
          }
        }
      }
    }
    // Best of the rounds, per figure (the least disturbed by the other work on the machine).
    const best = (name: string, k: keyof AbResult) => {
      const xs = (results.get(name) ?? []).map((r) => r[k]).filter((v) => !Number.isNaN(v));
      if (xs.length === 0) return Number.NaN;
      return k === 'rps' ? Math.max(...xs) : Math.min(...xs);
    };
    const figures: Figure[] = [];
    for (const mode of modes) {
      for (const [target] of targets) {
        const name = `${target}${mode.suffix}`;
        const f = (what: string) => `${target} ${what}${mode.suffix}`;
        figures.push({ figure: f('req/s'), value: best(name, 'rps'), unit: 'req/s', decimals: 0 });
        figures.push({ figure: f('p50'), value: best(name, 'p50'), unit: 'ms', decimals: 1 });
        figures.push({ figure: f('p99'), value: best(name, 'p99'), unit: 'ms', decimals: 1 });
        const failed = (results.get(name) ?? []).reduce((n, r) => n + r.failed, 0);
        figures.push({ figure: f('failed'), value: failed, unit: '', decimals: 0 });
        if (!Number.isNaN(best(name, 'cpu')))
          figures.push({
            figure: f('CPU per 1k req'),
            value: best(name, 'cpu'),
            unit: 'ms',
            decimals: 0,
          });
      }
    }
    if (!opts.churnOnly)
      figures.push({
        figure: 'clusterip overhead vs direct',
        value: (1 - best('clusterip', 'rps') / best('direct', 'rps')) * 100,
        unit: '%',
        target: { op: '<', value: 10 },
        decimals: 1,
      });
    const note = nginxNote || skiffNote;
    for (const mode of opts.churnOnly ? [] : modes) {
      for (const [ingress, what] of [
        ['skiff-ingress', 'skiff ingress'],
        ['skiff-ingress-stream', 'skiff ingress, all streamed'],
        ['skiff-node-ingress', 'skiff node path'],
      ] as const) {
        const a = `${ingress}${mode.suffix}`;
        const b = `nginx${mode.suffix}`;
        const label = `${what} / nginx`;
        figures.push({
          figure: `${label} req/s${mode.suffix}`,
          value: best(a, 'rps') / best(b, 'rps'),
          unit: 'x',
          target: { op: '>', value: 0.999 },
          note,
        });
        figures.push({
          figure: `${label} p99${mode.suffix}`,
          value: best(a, 'p99') / best(b, 'p99'),
          unit: 'x',
          target: { op: '<', value: 1.201 },
          note,
        });
        figures.push({
          figure: `${label} CPU per 1k req${mode.suffix}`,
          value: best(a, 'cpu') / best(b, 'cpu'),
          unit: 'x',
          target: { op: '<', value: 1.201 },
          note,
        });
      }
    }
    if (skiffNginx)
      figures.push(
        ...(await churn(
          skiffNginx,
          `http://127.0.0.1:${skiffNginxPort}/`,
          pods,
          opts.c,
          opts.churnSeconds,
        )),
      );
    const what = useFlask ? 'bundled flask-equivalent app' : 'node servers';
    if (opts.json) {
      process.stdout.write(figuresToJson('ingress', figures, { pods: what, c: opts.c, n: opts.n }));
    } else {
      process.stdout.write(
        `\nbackends: two ${what}; ab [-k] -c ${opts.c} -n ${opts.n}; best of ${opts.rounds}; load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')} on ${availableParallelism()} cores\n`,
      );
      process.stdout.write(formatFigureTable(figures));
    }
  } finally {
    for (const c of children) if (c.pid && c.exitCode === null) c.kill('SIGTERM');
    if (useDevice) await deleteServiceDevice(benchDevice);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pod name a backend answered with (the bench's backends end their answer with it). */
async function answeredBy(url: string): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  return text.trim().split(' ').pop() ?? '';
}

/**
 * 10 endpoint changes per second for `seconds` under keep-alive load through the nginx data plane
 * (alternating both pods and the first alone), then single changes timed until they serve.
 */
async function churn(
  plane: ChildProcess,
  url: string,
  pods: number[],
  c: number,
  seconds: number,
): Promise<Figure[]> {
  const pushed: number[] = [];
  let acked: (() => void) | undefined;
  const lines = createInterface({ input: plane.stdout! });
  lines.on('line', (l) => {
    if (!l.startsWith('pushed ')) return;
    pushed.push(Number(l.slice(7)));
    acked?.();
  });
  const set = (ports: number[]) => plane.stdin?.write(`endpoints ${ports.join(',')}\n`);
  let changes = 0;
  const load = ab(url, c, 1_000_000, true, seconds).catch(() => undefined);
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
    set(i % 2 ? [pods[0]!] : pods);
    changes++;
    await realClock.sleep(100);
  }
  const r = await load;
  const underLoad = [...pushed];
  // Single changes: once nginx acknowledged one, the very next request must see it (each
  // worker checks the configuration version on every request).
  let stale = 0;
  for (let i = 0; i < 10; i++) {
    const want = i % 2 ? 0 : 1;
    const ack = new Promise<void>((resolve) => {
      acked = resolve;
    });
    set([pods[want]!]);
    await ack;
    if ((await answeredBy(url)) !== `hello-world-flask-bench-${want}`) stale++;
  }
  set(pods);
  const sorted = [...underLoad].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return [
    {
      figure: 'endpoint churn: changes per second',
      value: changes / seconds,
      unit: '/s',
      decimals: 1,
    },
    {
      figure: 'endpoint churn: failed requests',
      value: r?.failed ?? Number.NaN,
      unit: '',
      decimals: 0,
      note: r ? `at ${r.rps.toFixed(0)} req/s for ${seconds} s` : 'ab did not report',
    },
    {
      figure: 'endpoint change → in nginx, p50',
      value: at(0.5) ?? Number.NaN,
      unit: 'ms',
      target: { op: '<', value: 50 },
      decimals: 1,
      note: `push until nginx acknowledged, during the churn under load (${sorted.length} changes)`,
    },
    {
      figure: 'endpoint change → in nginx, p99',
      value: at(0.99) ?? Number.NaN,
      unit: 'ms',
      target: { op: '<', value: 50 },
      decimals: 1,
    },
    {
      figure: 'endpoint change → in nginx, max',
      value: sorted.at(-1) ?? Number.NaN,
      unit: 'ms',
      target: { op: '<', value: 50 },
      decimals: 1,
    },
    {
      figure: 'requests after an acknowledged change served by the old endpoints',
      value: stale,
      unit: '',
      target: { op: '<', value: 1 },
      decimals: 0,
      note: 'of 10 single changes',
    },
  ];
}

await main();
