// Ingress/Service data-path benchmark (issue #5): req/s and p50/p99 on the same two
// backend "pods", measured direct, through a ClusterIP (Skiff's service proxy), through Skiff's
// ingress, and through Debian's nginx configured as ingress-nginx would be (reverse proxy to the
// pod addresses, keep-alive upstreams), loaded by `skiff load -k`. Prints the figures and the ratios against the targets.
// Usage: node --import tsx bench/ingress.ts [-c 50] [-n 5000] [--rounds 2] [--node-target] [--json]
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
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { EndpointPicker } from '../src/api/endpoint-picker.js';
import { acceptBacklog, bindServerHandle, type ServerHandle } from '../src/ingress/listen.js';
import { IngressProxy } from '../src/ingress/proxy.js';
import { RouteTable } from '../src/ingress/routes.js';
import { realClock } from '../src/lib/clock.js';
import {
  canManageDevices,
  deleteServiceDevice,
  ensureServiceDevice,
  syncDeviceAddresses,
} from '../src/lib/netdev.js';
import { ServicePortListener } from '../src/proxy/tcp-proxy.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { freePort } from './lib/proc.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const flaskApp = `${root}images/hello-world-flask/app.py`;
const benchDevice = 'skiff-bench0';
const benchClusterIP = '10.96.253.1';

const opts = new Command('bench/ingress.ts')
  .option('-c <n>', 'concurrency', Number, 50)
  .option('-n <n>', 'requests per measurement', Number, 5000)
  .option('--rounds <n>', 'rounds (median is reported)', Number, 2)
  .option('--node-target', 'small node servers instead of the bundled flask app', false)
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
  }>();

interface ServeConfig {
  pods: number[];
  clusterHost: string;
  clusterPort: number;
  ingressPort: number;
  accessLog: string;
}

/**
 * Child mode: the ClusterIP listener and the ingress data path, as in `skiff up` and the add-on.
 * `handle`: listen on this socket bound by the primary (an add-on worker), else on the port.
 */
async function serve(
  cfg: ServeConfig,
  parts: { clusterIP: boolean; ingress: boolean },
  handle?: ServerHandle,
): Promise<void> {
  const eps = cfg.pods.map((port) => ({
    ip: '127.0.0.1',
    port,
    ready: true,
    serving: true,
    terminating: false,
  }));
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
  const ing: Ingress = {
    metadata: { name: 'hello-world-flask', namespace: 'default' },
    spec: {
      rules: [
        {
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Exact',
                backend: { service: { name: 'hello-world-flask', port: { number: 5000 } } },
              },
            ],
          },
        },
      ],
    },
  };
  const table = new RouteTable([ing]);
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

/** One measurement with `skiff load -k` (keep-alive HTTP/1.1; ab -k cannot keep a connection
 * to an HTTP/1.1 server that omits "Connection: keep-alive", as the bundled app does). */
async function ab(url: string, c: number, n: number): Promise<AbResult> {
  const args = ['--import', 'tsx', `${root}src/cmd/cli.ts`, 'load', '--json', '-k'];
  args.push('-c', String(c), '-n', String(n), url);
  const { stdout } = await run(process.execPath, args, { maxBuffer: 16 << 20 });
  const r = JSON.parse(stdout) as {
    requestsPerSecond: number;
    failed: number;
    non2xx: number;
    latency?: { percentiles: Record<string, number> };
  };
  return {
    rps: r.requestsPerSecond,
    p50: r.latency?.percentiles['50'] ?? Number.NaN,
    p99: r.latency?.percentiles['99'] ?? Number.NaN,
    failed: r.failed + r.non2xx,
    cpu: Number.NaN,
  };
}

/** Direct to the pods: one ab per pod at once, each with half the concurrency and requests. */
async function abDirect(urls: string[], c: number, n: number): Promise<AbResult> {
  const rs = await Promise.all(
    urls.map((u) => ab(u, Math.max(1, c / urls.length), Math.ceil(n / urls.length))),
  );
  return {
    rps: rs.reduce((s, r) => s + r.rps, 0),
    p50: Math.max(...rs.map((r) => r.p50)),
    p99: Math.max(...rs.map((r) => r.p99)),
    failed: rs.reduce((s, r) => s + r.failed, 0),
    cpu: Number.NaN,
  };
}

function nginxConf(dir: string, port: number, pods: number[]): string {
  return `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/nginx-access.log;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_timeout 75s;
  keepalive_requests 10000;
  upstream default-hello-world-flask-5000 {
${pods.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}
    keepalive 320;
    keepalive_requests 10000;
  }
  server {
    listen 127.0.0.1:${port} default_server reuseport backlog=4096;
    location = / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_connect_timeout 5s;
      proxy_read_timeout 60s;
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 3;
      proxy_pass http://default-hello-world-flask-5000;
    }
  }
}
`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  if (opts.serve) {
    const cfg = JSON.parse(opts.serve) as ServeConfig;
    // The ingress runs as the add-on does (src/ingress/supervisor.ts): this process binds the
    // port and never accepts; each of its workers (as many as the add-on's default, at least two)
    // listens on that socket and accepts itself. INGRESS_WORKERS overrides; 0: one process.
    const workers = Number(
      process.env['INGRESS_WORKERS'] ?? Math.max(2, Math.floor(availableParallelism() / 2)),
    );
    if (cluster.isWorker) {
      process.once(
        'message',
        (_m, h) =>
          void serve(cfg, { clusterIP: false, ingress: true }, h as unknown as ServerHandle),
      );
      process.send?.('booted');
      return;
    }
    if (workers > 0) {
      // The ClusterIP listener stays in this one process, as in `skiff up`.
      await serve(cfg, { clusterIP: true, ingress: false });
      const handle = await bindServerHandle(cfg.ingressPort, '127.0.0.1');
      const ws = Array.from({ length: workers }, () => cluster.fork());
      for (const w of ws) w.once('message', () => w.send('listen', handle as never));
      await Promise.all(
        ws.map((w) => new Promise((r) => w.on('message', (m) => m === 'ready' && r(m)))),
      );
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
    const proxies = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', JSON.stringify(cfg)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(proxies);
    await new Promise<void>((resolve, reject) => {
      proxies.stdout?.once('data', () => resolve());
      proxies.once('exit', (code) => reject(new Error(`Proxy child exited with ${code}`)));
    });

    const nginxPort = await freePort();
    let nginxURL: string | undefined;
    let nginxNote = '';
    let nginxChild: ChildProcess | undefined;
    try {
      await run('nginx', ['-v']);
      writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, nginxPort, pods));
      nginxChild = spawn('nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
      children.push(nginxChild);
      nginxURL = `http://127.0.0.1:${nginxPort}/`;
      await waitHTTP(nginxURL);
    } catch {
      nginxURL = undefined;
      nginxNote = 'nginx missing: apt-get install -y nginx';
    }

    const targets: [string, (c: number, n: number) => Promise<AbResult>][] = [
      ['direct', (c, n) => abDirect(podURLs, c, n)],
      ['clusterip', (c, n) => ab(`http://${clusterHost}:${cfg.clusterPort}/`, c, n)],
      [
        'skiff-ingress',
        (c, n) =>
          withCpu(proxies.pid ?? 0, n, () => ab(`http://127.0.0.1:${cfg.ingressPort}/`, c, n)),
      ],
    ];
    if (nginxURL) {
      const url = nginxURL;
      const pid = nginxChild?.pid ?? 0;
      targets.push(['nginx', (c, n) => withCpu(pid, n, () => ab(url, c, n))]);
    }
    // Warm up every path (connections, JIT) before measuring.
    for (const [, fn] of targets) await fn(opts.c, Math.min(2000, opts.n));
    const results = new Map<string, AbResult[]>();
    for (let round = 0; round < opts.rounds; round++) {
      // Rotate the order each round so drift on a shared machine hits every path alike.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const [name, fn] of order) {
        const r = await fn(opts.c, opts.n);
        results.set(name, [...(results.get(name) ?? []), r]);
        if (!opts.json) {
          process.stdout.write(
            `round ${round + 1} ${name.padEnd(13)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  failed ${r.failed}${Number.isNaN(r.cpu) ? '' : `  cpu ${r.cpu.toFixed(0)} ms/1k req`}\n`,
          );
        }
      }
    }
    const m = (name: string, k: keyof AbResult) => {
      const rs = results.get(name);
      return rs ? median(rs.map((r) => r[k])) : Number.NaN;
    };
    const figures: Figure[] = [];
    for (const [name] of targets) {
      figures.push({ figure: `${name} req/s`, value: m(name, 'rps'), unit: 'req/s', decimals: 0 });
      figures.push({ figure: `${name} p50`, value: m(name, 'p50'), unit: 'ms', decimals: 1 });
      figures.push({ figure: `${name} p99`, value: m(name, 'p99'), unit: 'ms', decimals: 1 });
      figures.push({ figure: `${name} failed`, value: m(name, 'failed'), unit: '', decimals: 0 });
    }
    for (const name of ['skiff-ingress', 'nginx']) {
      if (!results.has(name)) continue;
      figures.push({
        figure: `${name} CPU per 1k req`,
        value: m(name, 'cpu'),
        unit: 'ms',
        decimals: 0,
      });
    }
    figures.push({
      figure: 'clusterip overhead vs direct',
      value: (1 - m('clusterip', 'rps') / m('direct', 'rps')) * 100,
      unit: '%',
      target: { op: '<', value: 10 },
      decimals: 1,
    });
    figures.push({
      figure: 'skiff ingress / nginx req/s',
      value: m('skiff-ingress', 'rps') / m('nginx', 'rps'),
      unit: 'x',
      target: { op: '>', value: 0.8 },
      note: nginxNote,
    });
    figures.push({
      figure: 'skiff ingress p99 / nginx p99',
      value: m('skiff-ingress', 'p99') / m('nginx', 'p99'),
      unit: 'x',
      target: { op: '<', value: 1.5 },
      note: nginxNote,
    });
    const what = useFlask ? 'bundled flask-equivalent app' : 'node servers';
    if (opts.json) {
      process.stdout.write(figuresToJson('ingress', figures, { pods: what, c: opts.c, n: opts.n }));
    } else {
      process.stdout.write(
        `\nbackends: two ${what}; skiff load -k -c ${opts.c} -n ${opts.n}; median of ${opts.rounds}\n`,
      );
      process.stdout.write(formatFigureTable(figures));
    }
  } finally {
    for (const c of children) if (c.pid && c.exitCode === null) c.kill('SIGTERM');
    if (useDevice) await deleteServiceDevice(benchDevice);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
