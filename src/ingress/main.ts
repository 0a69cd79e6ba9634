// Entry point of the ingress-controller add-on (`skiff addon ingress-controller`), run as a pod
// with hostNetwork: in-cluster config, flags like ingress-nginx's controller, SIGTERM to stop.
// With several workers the primary serves the status port and sums the workers' /stats.
// --endpoint-wait-timeout=<seconds> (env INGRESS_ENDPOINT_WAIT_TIMEOUT, default 10, 0 = off): how
// long a request waits for a ready endpoint of a Service that has (or just had) endpoints, and
// keeps retrying failed ones, before its 503/502; a Service without endpoints answers 503 at once.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { Node } from 'kubernetes-types/core/v1.js';
import { inClusterConfig, loadKubeconfig } from '../client/config.js';
import { R } from '../client/resources.js';
import { KubeClient } from '../client/rest.js';
import { realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { createIngressController } from './controller.js';
import { mergeStats, type StatsSnapshot } from './stats.js';
import { createStatusServer } from './status.js';

/** Environment variable (and flag --bind-address) choosing the ingress addresses. */
export const bindAddressEnv = 'INGRESS_BIND_ADDRESS';

type Msg =
  | { type: 'skiff-ingress-ready' }
  | { type: 'skiff-ingress-stats?'; id: number }
  | { type: 'skiff-ingress-stats'; id: number; snapshot: StatsSnapshot };

/** Runs the ingress controller until SIGTERM/SIGINT. */
export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'http-port': { type: 'string' },
      'fallback-port': { type: 'string' },
      'status-port': { type: 'string' },
      'bind-address': { type: 'string' },
      'publish-ip': { type: 'string' },
      'controller-class': { type: 'string' },
      kubeconfig: { type: 'string' },
      'no-access-log': { type: 'boolean' },
      workers: { type: 'string' },
      'endpoint-wait-timeout': { type: 'string' },
    },
    allowPositionals: true,
    strict: false,
  });
  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const env = process.env;
  const num = (v: string | undefined): number | undefined => (v ? Number(v) : undefined);
  const log = createLogger({ component: 'ingress-controller' });
  const statusPort = num(str('status-port') ?? env['INGRESS_STATUS_PORT']) ?? 10254;
  const bindFlag = str('bind-address') ?? env[bindAddressEnv];
  // One worker per two cores: the backends and clients share this machine's cores, and on 2 cores
  // two workers cost about twice the CPU per request of one (bench/ingress.ts, fewer events per
  // loop turn), so extra workers only pay off where cores are spare.
  const workers =
    num(str('workers') ?? env['INGRESS_WORKERS']) ??
    Math.max(1, Math.floor(availableParallelism() / 2));
  const isWorker = workers > 1 && !cluster.isPrimary;
  if (workers > 1 && cluster.isPrimary) {
    await runPrimary(workers, statusPort, statusAddress(bindFlag), log);
    return;
  }
  const kubeconfig = str('kubeconfig') ?? env['KUBECONFIG'];
  const config =
    env['KUBERNETES_SERVICE_HOST'] || !kubeconfig ? inClusterConfig() : loadKubeconfig(kubeconfig);
  const client = new KubeClient({ config: { ...config, userAgent: 'skiff-ingress-controller' } });
  const controller = createIngressController({
    client,
    log,
    httpPort: num(str('http-port') ?? env['INGRESS_HTTP_PORT']) ?? 80,
    fallbackPort: num(str('fallback-port') ?? env['INGRESS_FALLBACK_PORT']) ?? 8080,
    statusPort: isWorker ? false : statusPort,
    statusAddress: statusAddress(bindFlag),
    bindAddresses: await bindAddresses(bindFlag, client, env['NODE_NAME'], log),
    publishIP: str('publish-ip') ?? env['INGRESS_PUBLISH_IP'] ?? '127.0.0.1',
    controllerClass: str('controller-class'),
    accessLog: values['no-access-log'] === true ? false : undefined,
    endpointWaitMs: seconds(str('endpoint-wait-timeout') ?? env['INGRESS_ENDPOINT_WAIT_TIMEOUT']),
  });
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (isWorker) {
    process.on('message', (m: Msg) => {
      if (m.type === 'skiff-ingress-stats?')
        process.send?.({
          type: 'skiff-ingress-stats',
          id: m.id,
          snapshot: controller.stats.snapshot(),
        });
    });
  }
  await controller.start(ac.signal);
  if (isWorker) process.send?.({ type: 'skiff-ingress-ready' });
  await new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve()));
  await controller.stopped?.();
  client.close();
}

/** A duration flag in seconds ("10", "2.5", "10s") as milliseconds; undefined when unset. */
export function seconds(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid duration in seconds: ${v}`);
  return n * 1000;
}

/** The status port listens where the flag says when it names one address, else on loopback. */
function statusAddress(flag: string | undefined): string {
  const list = splitList(flag);
  return list.length === 1 && list[0] ? list[0] : '127.0.0.1';
}

function splitList(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The HTTP addresses: the flag/env (comma-separated, e.g. 0.0.0.0) when given; otherwise loopback
 * plus the pod bridge's host address (the first address of the Node's podCIDR), so pods reach the
 * ingress too but other machines do not.
 */
export async function bindAddresses(
  flag: string | undefined,
  client: KubeClient,
  nodeName: string | undefined,
  log: Logger,
  attempts = 60,
): Promise<string[]> {
  const list = splitList(flag);
  if (list.length) return list;
  if (!nodeName) return ['127.0.0.1'];
  // The API is reached through the kubernetes ClusterIP, which the service proxy may not route
  // yet when this host-network pod starts: retry for a while before giving up on the bridge.
  let lastErr: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const node = await client.get<Node>(R.nodes, undefined, nodeName);
      const bridge = bridgeAddress(node.spec?.podCIDR);
      return bridge ? ['127.0.0.1', bridge] : ['127.0.0.1'];
    } catch (err) {
      lastErr = err;
      if (attempt + 1 < attempts) await realClock.sleep(500);
    }
  }
  log.warn('Cannot read the Node for the pod bridge address; serving on 127.0.0.1 only', {
    err: errorMessage(lastErr),
  });
  return ['127.0.0.1'];
}

/** The first host address of an IPv4 CIDR ("10.244.0.0/16" → "10.244.0.1"). */
export function bridgeAddress(cidr: string | undefined): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/\d+$/.exec(cidr ?? '');
  if (!m) return undefined;
  const v = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) + 1;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}

/** Forks the workers, serves the status port for them, replaces any that dies, stops on signal. */
async function runPrimary(n: number, statusPort: number, address: string, log: Logger) {
  let stopping = false;
  const ready = new Set<number>();
  const pending = new Map<number, (s: StatsSnapshot) => void>();
  let seq = 0;
  const fork = () => {
    const w = cluster.fork();
    w.on('message', (m: Msg) => {
      if (m.type === 'skiff-ingress-ready') ready.add(w.id);
      else if (m.type === 'skiff-ingress-stats') pending.get(m.id)?.(m.snapshot);
    });
  };
  /** One worker's snapshot, or undefined when it does not answer within a second. */
  const ask = (w: Worker): Promise<StatsSnapshot | undefined> =>
    new Promise((resolve) => {
      const id = ++seq;
      const t = realClock.setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, 1000);
      pending.set(id, (s) => {
        t.cancel();
        pending.delete(id);
        resolve(s);
      });
      w.send({ type: 'skiff-ingress-stats?', id } satisfies Msg);
    });
  // Counters of workers that exited, so the totals never go backwards.
  const gone: StatsSnapshot = { requests: 0, errors: 0, status: {}, histogram: {} };
  const last = new Map<number, StatsSnapshot>();
  const status = createStatusServer({
    healthy: () => ready.size > 0,
    stats: async () => {
      const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      const snaps = await Promise.all(
        live.map(async (w) => {
          const s = (await ask(w)) ?? last.get(w.id);
          if (s) last.set(w.id, s);
          return s;
        }),
      );
      return mergeStats([gone, ...snaps.filter((s): s is StatsSnapshot => !!s)]);
    },
  });
  await new Promise<void>((resolve, reject) => {
    status.once('error', reject);
    status.listen(statusPort, address, () => resolve());
  });
  for (let i = 0; i < n; i++) fork();
  cluster.on('exit', (w, code, signal) => {
    ready.delete(w.id);
    const s = last.get(w.id);
    if (s) {
      gone.requests += s.requests;
      gone.errors += s.errors;
      for (const [k, v] of Object.entries(s.status)) gone.status[k] = (gone.status[k] ?? 0) + v;
      last.delete(w.id);
    }
    if (stopping) return;
    log.warn('Ingress worker exited, starting another', { pid: w.process.pid, code, signal });
    fork();
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      status.close();
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      const check = () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
      };
      cluster.on('exit', check);
      check();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
