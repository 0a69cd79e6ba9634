// Entry point of the ingress-controller add-on (`skiff addon ingress-controller`), run as a pod
// with hostNetwork: in-cluster config, flags like ingress-nginx's controller, SIGTERM to stop.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { inClusterConfig, loadKubeconfig } from '../client/config.js';
import { KubeClient } from '../client/rest.js';
import { createLogger } from '../lib/log.js';
import { createIngressController } from './controller.js';

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
  // Like nginx's worker_processes auto: one process per core, sharing the listening sockets.
  const workers = num(str('workers') ?? env['INGRESS_WORKERS']) ?? availableParallelism();
  if (workers > 1 && cluster.isPrimary) {
    await runPrimary(workers, log);
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
    statusPort: num(str('status-port') ?? env['INGRESS_STATUS_PORT']) ?? 10254,
    bindAddress: str('bind-address') ?? env['INGRESS_BIND_ADDRESS'],
    publishIP: str('publish-ip') ?? env['INGRESS_PUBLISH_IP'] ?? '127.0.0.1',
    controllerClass: str('controller-class'),
    accessLog: values['no-access-log'] === true ? false : undefined,
  });
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await controller.start(ac.signal);
  await new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve()));
  await controller.stopped?.();
  client.close();
}

/** Forks the workers, replaces any that dies, and stops them all on SIGTERM/SIGINT. */
async function runPrimary(n: number, log: ReturnType<typeof createLogger>): Promise<void> {
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < n; i++) fork();
  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    log.warn('Ingress worker exited, starting another', { pid: w.process.pid, code, signal });
    fork();
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
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
