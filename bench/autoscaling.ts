// Autoscaling benchmark (issue #6) against a running `skiff up`: the seed's load (ab -c 50 -n 10000
// through the ingress) on the HPA-managed hello-world-flask, printing the scaling timeline: seconds to
// the first scale decision, to the first new pod Ready, to the peak, peak replicas, failed requests.
// Usage: node --import tsx bench/autoscaling.ts <kubeconfig> [--url http://127.0.0.1/] [-c 50] [-n 10000]
//        [--setup] [--wait-scale-down <s>] [--json]
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { R } from '../src/client/resources.js';
import { isAlreadyExists, isNotFound, type KObject, KubeClient } from '../src/client/rest.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';

const program = new Command('bench/autoscaling.ts')
  .argument('<kubeconfig>', 'kubeconfig of the running skiff up')
  .option('--namespace <ns>', 'namespace of the app', 'default')
  .option('--name <name>', 'Deployment / Service / Ingress / HPA name', 'hello-world-flask')
  .option('--url <url>', 'load target (the ingress)', 'http://127.0.0.1/')
  .option('-c <n>', 'ab concurrency', Number, 50)
  .option('-n <n>', 'ab requests', Number, 10000)
  .option(
    '--setup',
    'create the seed objects (Deployment with requests, Service, Ingress, HPA) if missing',
    false,
  )
  .option(
    '--wait-scale-down <s>',
    'after the load, wait up to this long for the scale-down',
    Number,
    0,
  )
  .option('--json', 'print figures as JSON', false)
  .parse();
const opts = program.opts<{
  namespace: string;
  name: string;
  url: string;
  c: number;
  n: number;
  setup: boolean;
  waitScaleDown: number;
  json: boolean;
}>();
const kubeconfig = program.args[0] ?? '';
const { namespace: ns, name } = opts;
function createClient(): KubeClient {
  try {
    return new KubeClient({ config: loadKubeconfig(kubeconfig) });
  } catch (err) {
    process.stderr.write(
      `Cannot read kubeconfig "${kubeconfig}": ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(2);
  }
}
const client = createClient();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labels = { app: name };

async function ensure(r: (typeof R)[keyof typeof R], obj: KObject): Promise<void> {
  try {
    await client.create(r, obj, { namespace: ns });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/** Creates what SEED.md §1 and §3 create, when missing. */
async function setup(): Promise<void> {
  await ensure(R.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name,
              image: 'lyzhang1999/hello-world-flask:latest',
              resources: { requests: { cpu: '100m', memory: '100Mi' } },
            },
          ],
        },
      },
    },
  });
  await ensure(R.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels },
    spec: { selector: labels, ports: [{ name: '5000-5000', port: 5000, targetPort: 5000 }] },
  });
  await ensure(R.ingresses, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: ns },
    spec: {
      rules: [
        {
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Exact',
                backend: { service: { name, port: { number: 5000 } } },
              },
            ],
          },
        },
      ],
    },
  });
  await ensure(R.hpas, {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: ns },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
        },
      ],
    },
  });
}

const isReady = (p: Pod) =>
  !p.metadata?.deletionTimestamp &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function readyPods(): Promise<Pod[]> {
  const list = await client.list<Pod>(R.pods, { namespace: ns, labelSelector: `app=${name}` });
  return list.items.filter(isReady);
}

async function replicas(): Promise<number> {
  const d = await client.get<Deployment>(R.deployments, ns, name);
  return d.spec?.replicas ?? 0;
}

/** Runs ab and resolves with its failed-request count (failed + non-2xx) and duration. */
function runAb(): Promise<{ failed: number; output: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ab', ['-c', String(opts.c), '-n', String(opts.n), opts.url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
      const failed = num(/Failed requests:\s+(\d+)/) + num(/Non-2xx responses:\s+(\d+)/);
      resolve({ failed, output: out, exitCode: code ?? 1 });
    });
  });
}

async function main(): Promise<void> {
  if (opts.setup) await setup();
  try {
    await client.get<HorizontalPodAutoscaler>(R.hpas, ns, name);
  } catch (err) {
    if (isNotFound(err))
      throw new Error(`HPA "${ns}/${name}" not found: run the seed steps or pass --setup`);
    throw err;
  }
  // Start from a steady state: the minimum of ready pods, none terminating.
  const deadline = Date.now() + 120_000;
  while ((await readyPods()).length < 2) {
    if (Date.now() > deadline) throw new Error('Fewer than 2 ready pods after 120 s');
    await sleep(500);
  }
  const initial = new Set((await readyPods()).map((p) => p.metadata?.name));
  const baseReplicas = await replicas();
  const start = Date.now();
  const secs = (t: number | undefined) => (t === undefined ? Number.NaN : (t - start) / 1000);
  let firstDecision: number | undefined;
  let firstNewReady: number | undefined;
  let peak = baseReplicas;
  let peakAt: number | undefined;
  let scaleDownsDuringLoad = 0;
  let last = baseReplicas;
  let loadDone = false;
  const ab = runAb().finally(() => {
    loadDone = true;
  });
  const loadEndPromise = ab.then(() => Date.now());
  const poll = async () => {
    const r = await replicas();
    const now = Date.now();
    if (r > baseReplicas && firstDecision === undefined) firstDecision = now;
    if (r > peak) {
      peak = r;
      peakAt = now;
    }
    if (r < last && !loadDone) scaleDownsDuringLoad++;
    last = r;
    if (
      firstNewReady === undefined &&
      (await readyPods()).some((p) => !initial.has(p.metadata?.name))
    ) {
      firstNewReady = Date.now();
    }
  };
  while (!loadDone) {
    await poll();
    await sleep(200);
  }
  const abResult = await ab;
  const loadEnd = await loadEndPromise;
  // Scale-ups already decided keep landing for a moment after the load; catch the first new pod.
  for (let i = 0; i < 25 && firstNewReady === undefined && firstDecision !== undefined; i++) {
    await poll();
    await sleep(200);
  }
  let scaleDownAt: number | undefined;
  if (opts.waitScaleDown > 0) {
    const until = Date.now() + opts.waitScaleDown * 1000;
    while (Date.now() < until) {
      if ((await replicas()) <= baseReplicas) {
        scaleDownAt = Date.now();
        break;
      }
      await sleep(1000);
    }
  }
  if (abResult.exitCode !== 0) process.stderr.write(abResult.output);
  const figures: Figure[] = [
    {
      figure: 'load duration',
      value: secs(loadEnd),
      unit: 's',
      note: `ab -c ${opts.c} -n ${opts.n} ${opts.url}`,
    },
    { figure: 'load start → first scale decision', value: secs(firstDecision), unit: 's' },
    {
      figure: 'load start → first new pod Ready',
      value: secs(firstNewReady),
      unit: 's',
      target: { op: '<', value: 5 },
      note: 'upstream Kubernetes: ~30–70 s',
    },
    { figure: 'load start → peak replicas', value: secs(peakAt), unit: 's' },
    { figure: 'peak replicas', value: peak, unit: '', decimals: 0, note: `from ${baseReplicas}` },
    {
      figure: 'requests failed',
      value: abResult.failed,
      unit: '',
      decimals: 0,
      target: { op: '<', value: 1 },
    },
    {
      figure: 'scale-downs during load (flapping)',
      value: scaleDownsDuringLoad,
      unit: '',
      decimals: 0,
      target: { op: '<', value: 1 },
    },
    ...(opts.waitScaleDown > 0
      ? [
          {
            figure: 'load end → back to min replicas',
            value: scaleDownAt ? (scaleDownAt - loadEnd) / 1000 : Number.NaN,
            unit: 's',
          },
        ]
      : []),
  ];
  process.stdout.write(
    opts.json ? `${figuresToJson('autoscaling', figures)}\n` : formatFigureTable(figures),
  );
  client.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  client.close();
  process.exit(1);
});
