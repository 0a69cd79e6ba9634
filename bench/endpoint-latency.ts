// Endpoint change → data plane, end to end (issue #17): in a real cluster, an EndpointSlice is
// rewritten 10 times a second (alternating two backends), and after each API write the ingress is
// polled until it answers from the new backend. Two ingress controllers run beside the add-on,
// against the same cluster: one with the add-on image's flags (--lite-mode …) and one without, so
// the CPU the flags cost (or save) under churn is measured in the same run, with their PSS. Where
// the time goes: the API's answer to the write and a watch of the bench's own (the event every
// controller waits for) are timed from the same moment, the update being sent.
// Usage (root): node --import tsx bench/endpoint-latency.ts [--seconds 30] [--json]
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { R } from '../src/client/resources.js';
import { type KObject, KubeClient } from '../src/client/rest.js';
import { addonNodeOptions, addonV8Flags } from '../src/lib/addon-runtime.js';
import { realClock } from '../src/lib/clock.js';
import { bootCluster } from '../test/chaos/lib/cluster.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { cpuTicks, freePort } from './lib/proc.js';

const opts = new Command('bench/endpoint-latency.ts')
  .option('--seconds <s>', 'seconds of 10 endpoint changes per second', Number, 30)
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{ seconds: number; json: boolean }>();

const root = fileURLToPath(new URL('..', import.meta.url));

function pssKb(pid: number): number {
  return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]);
}

/** One GET on a new connection: the body, or 'error'. */
function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve(body));
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => resolve('error'));
  });
}

/** Polls until the ingress answers `want`; the ms it took, or undefined after 2 s. */
async function servedAfter(port: number, want: string, since: number): Promise<number | undefined> {
  while (performance.now() - since < 2000) {
    if ((await get(port)) === want) return performance.now() - since;
  }
  return undefined;
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

const c = await bootCluster();
const kubeconfig = join(c.skiff.dataDir, 'kubeconfig');
const client = new KubeClient({ config: loadKubeconfig(kubeconfig) });
const backendPorts = [await freePort(), await freePort()];
const names = ['A', 'B'];
const backends = backendPorts.map((p, i) =>
  http.createServer((_q, s) => s.end(names[i])).listen(p, '127.0.0.1'),
);
const controllers: { name: string; child: ChildProcess; port: number }[] = [];
const figures: Figure[] = [];
try {
  const ns = 'default';
  await client.create(R.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'churn', namespace: ns },
    spec: { ports: [{ port: 80, protocol: 'TCP' }] },
  });
  // A Service without a selector: this bench owns its EndpointSlice (no controller rewrites it).
  const ports = (i: number) => [{ name: '', port: backendPorts[i]!, protocol: 'TCP' }];
  let slice = await client.create<EndpointSlice & KObject>(R.endpointslices, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'churn-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'churn' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true, serving: true } }],
    ports: ports(0),
  });
  await client.create(R.ingresses, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'churn', namespace: ns },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'churn', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  });
  for (const [name, flags] of [
    ['add-on flags', addonV8Flags],
    ['no V8 flags', []],
  ] as const) {
    const port = await freePort();
    const args = [
      ...flags,
      join(root, 'bin/skiff.js'),
      'addon',
      'ingress-controller',
      `--kubeconfig=${kubeconfig}`,
      `--http-port=${port}`,
      `--status-port=${await freePort()}`,
      '--bind-address=127.0.0.1',
      '--data-plane=nginx',
      '--no-access-log',
    ];
    const env = { ...process.env, MALLOC_ARENA_MAX: '1', NODE_OPTIONS: addonNodeOptions };
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    controllers.push({ name, child, port });
  }
  for (const k of controllers) {
    if ((await servedAfter(k.port, 'A', performance.now())) === undefined)
      await realClock.sleep(5000);
    if ((await get(k.port)) !== 'A') throw new Error(`${k.name}: the ingress does not serve`);
  }
  await realClock.sleep(3000);
  // The bench's own watch: when each written resourceVersion arrives.
  const arrived = new Map<string, number>();
  const stopWatch = new AbortController();
  const watching = client
    .watch<EndpointSlice & KObject>(
      R.endpointslices,
      {
        namespace: ns,
        fieldSelector: 'metadata.name=churn-1',
        resourceVersion: slice.metadata?.resourceVersion,
        signal: stopWatch.signal,
      },
      (ev) => arrived.set(ev.object.metadata?.resourceVersion ?? '', performance.now()),
    )
    .catch(() => undefined);
  const acked: number[] = [];
  const watched: number[] = [];
  const cpu0 = controllers.map((k) => cpuTicks(k.child.pid ?? 0));
  const took = new Map<string, number[]>(controllers.map((k) => [k.name, []]));
  const missed = new Map<string, number>(controllers.map((k) => [k.name, 0]));
  const t0 = performance.now();
  let changes = 0;
  while (performance.now() - t0 < opts.seconds * 1000) {
    const tick = performance.now();
    const want = ++changes % 2;
    const written = performance.now();
    slice = await client.update(R.endpointslices, { ...slice, ports: ports(want) });
    acked.push(performance.now() - written);
    const rv = slice.metadata?.resourceVersion ?? '';
    await Promise.all(
      controllers.map(async (k) => {
        const ms = await servedAfter(k.port, names[want]!, written);
        if (ms === undefined) missed.set(k.name, (missed.get(k.name) ?? 0) + 1);
        else took.get(k.name)?.push(ms);
      }),
    );
    const at = arrived.get(rv);
    if (at !== undefined) watched.push(at - written);
    await realClock.sleep(Math.max(0, 100 - (performance.now() - tick)));
  }
  stopWatch.abort();
  await watching;
  const secs = (performance.now() - t0) / 1000;
  const hz = 100; // USER_HZ on Linux
  figures.push({ figure: 'endpoint changes per second', value: changes / secs, unit: '/s' });
  for (const [what, xs] of [
    ['API answered the write', acked],
    ['watch event arrived', watched],
  ] as const) {
    for (const [q, v] of [
      ['p50', 0.5],
      ['p99', 0.99],
      ['max', 1],
    ] as const)
      figures.push({
        figure: `update sent → ${what}, ${q}`,
        value: quantile(xs, v),
        unit: 'ms',
        decimals: 1,
        ...(q === 'p50' ? { note: `${xs.length} changes` } : {}),
      });
  }
  controllers.forEach((k, i) => {
    const xs = took.get(k.name) ?? [];
    const ms = (figure: string, value: number): Figure => ({
      figure: `${k.name}: update sent → served, ${figure}`,
      value,
      unit: 'ms',
      decimals: 1,
      target: { op: '<', value: 50 },
    });
    figures.push(
      ms('p50', quantile(xs, 0.5)),
      ms('p99', quantile(xs, 0.99)),
      ms('max', quantile(xs, 1)),
      {
        figure: `${k.name}: changes not served within 2 s`,
        value: missed.get(k.name) ?? 0,
        unit: '',
        decimals: 0,
        target: { op: '<', value: 1 },
      },
      {
        figure: `${k.name}: controller CPU during the churn`,
        value: ((cpuTicks(k.child.pid ?? 0) - (cpu0[i] ?? 0)) / hz / secs) * 100,
        unit: '%',
        decimals: 1,
      },
      {
        figure: `${k.name}: controller PSS`,
        value: pssKb(k.child.pid ?? 0) / 1024,
        unit: 'MB',
        decimals: 1,
      },
    );
  });
} finally {
  for (const k of controllers) k.child.kill('SIGTERM');
  await Promise.all(
    controllers.map((k) =>
      k.child.exitCode === null ? new Promise((r) => k.child.once('exit', r)) : undefined,
    ),
  );
  for (const b of backends) b.close();
  client.close();
  await c.skiff.stop();
}
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
if (opts.json) process.stdout.write(figuresToJson('endpoint-latency', figures, { load }));
else process.stdout.write(`load average ${load}\n${formatFigureTable(figures)}`);
