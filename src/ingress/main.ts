// Entry point of the ingress-controller add-on (`skiff addon ingress-controller`), run as a pod
// with hostNetwork: in-cluster config, flags like ingress-nginx's controller, SIGTERM to stop.
// The main process is a supervisor (supervisor.ts) holding the port its controller workers accept on.
// --endpoint-wait-timeout=<seconds> (env INGRESS_ENDPOINT_WAIT_TIMEOUT, default 10, 0 = off): how
// long a request waits for a ready endpoint of a Service that has (or just had) endpoints, and
// keeps retrying failed ones, before its 503/502; a Service without endpoints answers 503 at once.
// --whole-answer-bytes=<n> (env INGRESS_WHOLE_ANSWER_BYTES, default 65536, 0 = stream all): the
// nginx data plane reads GET/HEAD answers up to this size whole, retrying one cut off elsewhere.
import cluster from 'node:cluster';
import type net from 'node:net';
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
import { findNginx } from './nginx.js';
import { runSupervisor, type SupervisorMsg } from './supervisor.js';

/** Environment variable (and flag --bind-address) choosing the ingress addresses. */
export const bindAddressEnv = 'INGRESS_BIND_ADDRESS';

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
      'data-plane': { type: 'string' },
      'whole-answer-bytes': { type: 'string' },
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
  // Upstream's deploy.yaml runs the controller in a pod network of its own (POD_NAME but no
  // NODE_NAME, no hostNetwork): serve on the pod's addresses, where its LoadBalancer Service and
  // the kubelet's probes reach it. Skiff's own manifest (host network) always sets NODE_NAME.
  const ownPodNetwork = !!env['POD_NAME'] && !env['NODE_NAME'];
  const bindFlag =
    str('bind-address') ?? env[bindAddressEnv] ?? (ownPodNetwork ? '0.0.0.0' : undefined);
  // At least two workers, all accepting from the shared port: one's death leaves the other
  // serving (issue #8); one per two cores beyond that, as the backends and clients share the
  // cores. --workers=0 runs the controller in this process alone (no supervisor: a crash closes
  // the port until the restart).
  const workers =
    num(str('workers') ?? env['INGRESS_WORKERS']) ??
    Math.max(2, Math.floor(availableParallelism() / 2));
  const httpPort = num(str('http-port') ?? env['INGRESS_HTTP_PORT']) ?? 80;
  const fallbackPort = num(str('fallback-port') ?? env['INGRESS_FALLBACK_PORT']) ?? 8080;
  const kubeconfig = str('kubeconfig') ?? env['KUBECONFIG'];
  const newClient = () => {
    const config =
      env['KUBERNETES_SERVICE_HOST'] || !kubeconfig
        ? inClusterConfig()
        : loadKubeconfig(kubeconfig);
    return new KubeClient({ config: { ...config, userAgent: 'skiff-ingress-controller' } });
  };
  const isWorker = workers > 0 && !cluster.isPrimary;
  // nginx (with its Lua module) serves when installed: one Node process (the controller and the
  // holder) instead of a supervisor and its workers. --data-plane=node keeps the Node path.
  const plane = str('data-plane') ?? env['INGRESS_DATA_PLANE'] ?? 'auto';
  const nginx = plane === 'node' || isWorker ? {} : findNginx();
  if (!nginx.path && plane === 'nginx')
    throw new Error(`Cannot serve with nginx: ${nginx.missing ?? 'disabled'}`);
  if (!isWorker && plane !== 'node' && !nginx.path)
    log.warn(
      `nginx with its Lua module is not installed (${nginx.missing}); serving with the slower Node data path. Install: apt-get install nginx libnginx-mod-http-lua`,
    );
  if (workers > 0 && cluster.isPrimary && !nginx.path) {
    const client = newClient();
    try {
      await runSupervisor({
        workers,
        httpPort,
        fallbackPort,
        bindAddresses: () => bindAddresses(bindFlag, client, env['NODE_NAME'], log),
        statusPort,
        statusAddress: statusAddress(bindFlag),
        log,
      });
    } finally {
      client.close();
    }
    return;
  }
  const client = newClient();
  const controller = createIngressController({
    client,
    log,
    httpPort,
    fallbackPort,
    listen: !isWorker,
    statusPort: isWorker ? false : statusPort,
    statusAddress: statusAddress(bindFlag),
    bindAddresses: isWorker ? [] : await bindAddresses(bindFlag, client, env['NODE_NAME'], log),
    publishIP: str('publish-ip') ?? env['INGRESS_PUBLISH_IP'] ?? '127.0.0.1',
    controllerClass: str('controller-class'),
    accessLog: values['no-access-log'] === true ? false : undefined,
    endpointWaitMs: seconds(str('endpoint-wait-timeout') ?? env['INGRESS_ENDPOINT_WAIT_TIMEOUT']),
    nginx: nginx.path
      ? {
          path: nginx.path,
          workers: workers || 2,
          // 0 streams every answer: ~20–25% less CPU per small request, but an answer cut off
          // after its header (the app killed mid-answer) reaches the client cut (issue #17).
          wholeAnswerBytes: wholeAnswerBytes(
            str('whole-answer-bytes') ?? env['INGRESS_WHOLE_ANSWER_BYTES'],
            log,
          ),
        }
      : undefined,
  });
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (isWorker) {
    process.on('message', (m: SupervisorMsg, handle: unknown) => {
      if (m.type === 'skiff-ingress-listen' && handle) {
        controller.listenOn(handle as net.Server).catch((err: unknown) => {
          log.error('Cannot listen on the ingress port', { err: errorMessage(err) });
          process.exit(1);
        });
      } else if (m.type === 'skiff-ingress-conn' && handle) {
        controller.serveConnection(handle as net.Socket);
        process.send?.({ type: 'skiff-ingress-conn-taken', id: m.id } satisfies SupervisorMsg);
      } else if (m.type === 'skiff-ingress-stats?')
        process.send?.({
          type: 'skiff-ingress-stats',
          id: m.id,
          snapshot: controller.stats.snapshot(),
        } satisfies SupervisorMsg);
    });
    // The port may come at once (no other worker listens): requests wait in the proxy for the sync.
    process.send?.({ type: 'skiff-ingress-booted' } satisfies SupervisorMsg);
  }
  await controller.start(ac.signal);
  if (isWorker) process.send?.({ type: 'skiff-ingress-ready' } satisfies SupervisorMsg);
  // A SIGTERM during start has aborted already: no 'abort' event would ever come.
  if (!ac.signal.aborted)
    await new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve()));
  await controller.stopped?.();
  client.close();
  // A worker's IPC channel to the supervisor keeps it alive (the supervisor, and so the pod's
  // stop, would wait for the grace period's SIGKILL): let go of it once stopped.
  if (isWorker) process.disconnect?.();
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

/** --whole-answer-bytes: a whole number of bytes, else the default (with a warning). */
export function wholeAnswerBytes(v: string | undefined, log: Logger): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (Number.isInteger(n) && n >= 0 && n <= 64 * 1024 * 1024) return n;
  log.warn(`Ignoring --whole-answer-bytes=${v}: not a whole number of bytes up to 64 MiB`);
  return undefined;
}
