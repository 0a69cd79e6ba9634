// Workload benchmark (issue 16): a Job of 100 completions at parallelism 10 against the same 100
// commands run 10 at a time by xargs (same run, same machine), and a 3-replica StatefulSet
// (OrderedReady, one claim per pod) from apply to Ready. Boots a whole `skiff up` and drives it
// with the real kubectl. Usage (root): node --import tsx bench/workloads.ts [--cmd 'sleep 1']
// [--completions 100] [--parallelism 10] [--only job|statefulset] [--json]
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { startSkiff } from '../test/integration/harness.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';

const opts = new Command('bench/workloads.ts')
  .option('--cmd <sh>', 'the short command every completion runs', 'sleep 1')
  .option('--completions <n>', 'Job completions', Number, 100)
  .option('--parallelism <n>', 'Job parallelism (and xargs -P)', Number, 10)
  .option('--only <scenario>', 'run one scenario: job or statefulset')
  .option('--json', 'print the figures as JSON', false)
  .parse()
  .opts<{
    cmd: string;
    completions: number;
    parallelism: number;
    only?: 'job' | 'statefulset';
    json: boolean;
  }>();

/** The baseline: the same commands through `xargs -P`, i.e. a plain shell loop N at a time. */
function shellLoop(cmd: string, n: number, p: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(
      'sh',
      ['-c', `seq ${n} | xargs -P ${p} -I{} sh -c ${JSON.stringify(cmd)}`],
      { stdio: 'ignore' },
    );
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`xargs exited ${code}`)),
    );
  });
}

const skiff = await startSkiff();
const figures: Figure[] = [];
try {
  if (opts.only !== 'statefulset') await benchJob();
  if (opts.only !== 'job') await benchStatefulSet();
} finally {
  await skiff.stop();
}
process.stdout.write(
  opts.json ? `${figuresToJson('workloads', figures)}\n` : formatFigureTable(figures),
);

async function benchJob(): Promise<void> {
  const shellMs = await shellLoop(opts.cmd, opts.completions, opts.parallelism);
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'bench' },
    spec: {
      completions: opts.completions,
      parallelism: opts.parallelism,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', opts.cmd] }],
        },
      },
    },
  };
  const t0 = performance.now();
  await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(job) });
  await skiff.kubectlOk(['wait', '--for=condition=complete', 'job/bench', '--timeout=600s'], {
    timeoutMs: 610_000,
  });
  const jobMs = performance.now() - t0;
  figures.push(
    { figure: 'shell loop (xargs -P)', value: shellMs / 1000, unit: 's', note: opts.cmd },
    { figure: 'Job apply → Complete', value: jobMs / 1000, unit: 's' },
    {
      figure: 'Job / shell loop',
      value: jobMs / shellMs,
      unit: '×',
      target: { op: '<', value: 1.5 },
      note: `${opts.completions} completions, parallelism ${opts.parallelism}`,
    },
  );
}

async function benchStatefulSet(): Promise<void> {
  // Alone, the scenario would start while the add-ons still start up: measure a settled cluster.
  await skiff.kubectlOk(
    ['wait', '--for=condition=Ready', 'pods', '--all', '-n', 'kube-system', '--timeout=120s'],
    { timeoutMs: 130_000 },
  );
  const sts = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'bench' },
      spec: { clusterIP: 'None', selector: { app: 'bench' }, ports: [{ port: 80 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'bench' },
      spec: {
        serviceName: 'bench',
        replicas: 3,
        selector: { matchLabels: { app: 'bench' } },
        template: {
          metadata: { labels: { app: 'bench' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'c',
                image: 'busybox',
                command: ['sh', '-c', 'exec sleep 3600'],
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
          },
        ],
      },
    },
  ];
  await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(sts[0]) });
  const t1 = performance.now();
  await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(sts[1]) });
  await skiff.kubectlOk(
    ['wait', '--for=jsonpath={.status.readyReplicas}=3', 'statefulset/bench', '--timeout=120s'],
    { timeoutMs: 130_000 },
  );
  figures.push({
    figure: 'StatefulSet (3, OrderedReady, claims) apply → Ready',
    value: (performance.now() - t1) / 1000,
    unit: 's',
    target: { op: '<', value: 1.5 },
    note: 'includes two kubectl process starts',
  });
}
