// Controller benchmark (issue #3): Deployment(replicas=100) created → 100 pods bound, with the
// deployment, replicaset, scheduler and GC controllers against an in-process API server (memory
// store); then the control plane's CPU while idle with 500 bound pods (process.cpuUsage over 10 s).
// Usage: node --import tsx bench/controllers.ts [--pods 100] [--idle-pods 500] [--idle-seconds 10] [--json]
import { Command } from 'commander';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { startTestApiServer } from '../src/apiserver/testing.js';
import { InformerFactory } from '../src/client/informer-factory.js';
import { R } from '../src/client/resources.js';
import { createDeploymentController } from '../src/controllers/deployment/controller.js';
import { createGarbageCollector } from '../src/controllers/garbagecollector/controller.js';
import { createReplicaSetController } from '../src/controllers/replicaset/controller.js';
import { createScheduler } from '../src/controllers/scheduler/scheduler.js';
import { configureLogging } from '../src/lib/log.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';

const opts = new Command('bench/controllers.ts')
  .option('--pods <n>', 'replicas of the Deployment timed to all-bound', Number, 100)
  .option('--idle-pods <n>', 'pods present while idle CPU is measured', Number, 500)
  .option('--idle-seconds <n>', 'length of the idle CPU window', Number, 10)
  .option('--json', 'print the figures as JSON', false)
  .parse()
  .opts<{ pods: number; idlePods: number; idleSeconds: number; json: boolean }>();

configureLogging({ level: 'warn' });

const api = await startTestApiServer();
const client = api.client;
await client.create<Node>(R.nodes, {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'bench-node' },
  status: {
    allocatable: { cpu: '64', memory: '256Gi', pods: '1000' },
    capacity: { cpu: '64', memory: '256Gi', pods: '1000' },
  },
});

const informers = new InformerFactory({ client });
const scheduler = createScheduler({ informers });
const deployments = createDeploymentController({ informers });
const replicasets = createReplicaSetController({ informers });
const components = [scheduler, deployments, replicasets, createGarbageCollector({ informers })];
const ctrl = new AbortController();
await Promise.all(components.map((c) => c.start(ctrl.signal)));

// Resolves when `n` pods of the Deployment are bound, watching the shared pod cache.
const pods = informers.informerFor<Pod>(R.pods);
function boundCount(app: string): number {
  return pods.lister.list('default', `app=${app}`).filter((p) => p.spec?.nodeName).length;
}
function whenBound(n: number, app = 'bench'): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (boundCount(app) >= n) {
        resolve();
        return true;
      }
      return false;
    };
    if (check()) return;
    let done = false;
    pods.addEventHandler({
      onUpdate: () => {
        if (!done && check()) done = true;
      },
    });
  });
}

function deployment(name: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'lyzhang1999/hello-world-flask:latest',
              resources: { requests: { cpu: '10m' } },
            },
          ],
        },
      },
    },
  };
}

// Warm-up: the first requests load (and tsx-compile) the API server's and controllers' modules;
// time the steady state, not the compiler.
await client.create(R.deployments, deployment('warmup', 3));
await whenBound(3, 'warmup');
await client.delete(R.deployments, 'default', 'warmup');

const burstCpu0 = process.cpuUsage();
const started = performance.now();
const bound = whenBound(opts.pods);
await client.create<Deployment>(R.deployments, deployment('bench', opts.pods));
await bound;
const bindMs = performance.now() - started;
const burstCpu = process.cpuUsage(burstCpu0);

// Grow to the idle population, let every controller settle, then measure an idle window.
await client.patch(R.deployments, 'default', 'bench', { spec: { replicas: opts.idlePods } });
await whenBound(opts.idlePods);
// Let the Events of the burst drain and the last status updates land before measuring.
for (const r of [scheduler.recorder, deployments.recorder, replicasets.recorder]) await r.flush();
await new Promise((r) => setTimeout(r, 2000));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, opts.idleSeconds * 1000));
const cpu = process.cpuUsage(cpu0);
const idlePct = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;

const figures: Figure[] = [
  {
    figure: `Deployment(${opts.pods}) created → ${opts.pods} pods bound`,
    value: bindMs,
    unit: 'ms',
    decimals: 0,
    target: { op: '<', value: 1000 },
    note: 'deployment+replicaset+scheduler+gc, in-process API server, memory store',
  },
  {
    figure: 'CPU time used during that burst',
    value: (burstCpu.user + burstCpu.system) / 1000,
    unit: 'ms',
    decimals: 0,
    note: 'the wall time cannot beat this on one core; compare when the machine is loaded',
  },
  {
    figure: `control-plane CPU idle with ${opts.idlePods} pods`,
    value: idlePct,
    unit: '% of a core',
    target: { op: '<', value: 2 },
    note: `process.cpuUsage over ${opts.idleSeconds} s; includes the in-process API server`,
  },
];
process.stdout.write(
  opts.json ? `${figuresToJson('controllers', figures)}\n` : formatFigureTable(figures),
);

ctrl.abort();
await Promise.all(components.map((c) => c.stopped?.()));
await api.close();
