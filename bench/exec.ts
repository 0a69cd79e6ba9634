// Exec bench (issue 14): what one exec costs. Part 1 drives a node agent in-process and runs
// `true` over the kubelet's exec websocket N times: the node-side path an exec probe or hook takes.
// Part 2 boots `skiff up` and runs `kubectl exec pod -- true` N times (kubectl, API server proxy
// and kubelet included). Prints median/p90 wall time; on a shared machine the figures are loaded.
// Usage (root): node --import tsx bench/exec.ts [--n 20] [--json]
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { R } from '../src/client/resources.js';
import { execWs, isReady, startTestNode, testPod, waitForPod } from '../src/node/testing.js';
import { eventually, startSkiff } from '../test/integration/harness.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { summarize } from './lib/stats.js';

const opts = new Command('bench/exec.ts')
  .option('--n <n>', 'execs per part', Number, 20)
  .option('--json', 'print the figures as JSON (for bench/report)', false)
  .parse()
  .opts<{ n: number; json: boolean }>();

const log = (l: string) => process.stderr.write(`${l}\n`);

async function timed(n: number, once: () => Promise<void>): Promise<number[]> {
  await once(); // warm-up, not counted
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    ms.push(performance.now() - t);
  }
  return ms;
}

const figures: Figure[] = [];
const add = (figure: string, ms: number[]) => {
  const s = summarize(ms);
  const note = `n=${s.n}`;
  figures.push({
    figure: `${figure} (median)`,
    value: Math.round(s.p50 * 10) / 10,
    unit: 'ms',
    note,
  });
  figures.push({ figure: `${figure} (p90)`, value: Math.round(s.p90 * 10) / 10, unit: 'ms', note });
  log(`${figure}: median ${s.p50.toFixed(1)} ms, p90 ${s.p90.toFixed(1)} ms`);
};

const node = await startTestNode();
try {
  const pod = testPod('bench-exec', { command: ['sleep', '3600'] });
  await node.api.client.create(R.pods, pod, { namespace: 'default' });
  await waitForPod(node, 'bench-exec', isReady, 60_000);
  add(
    'node-side exec `true` (kubelet websocket)',
    await timed(opts.n, async () => {
      const r = await execWs(node.agent, 'bench-exec', ['true']);
      if (r.status.status !== 'Success') throw new Error(`exec failed: ${JSON.stringify(r)}`);
    }),
  );
} finally {
  await node.close();
}

const skiff = await startSkiff();
try {
  await skiff.kubectlOk(['run', 'bench', '--image=busybox', '--', 'sleep', '3600']);
  await eventually(
    async () =>
      (await skiff.kubectl(['get', 'pod', 'bench', '-o', 'jsonpath={.status.phase}'])).stdout ===
      'Running',
    {
      what: 'pod bench Running',
      timeoutMs: 60_000,
      diagnose: async () => (await skiff.kubectl(['describe', 'pod', 'bench'])).stdout,
    },
  );
  add(
    '`kubectl exec pod -- true`',
    await timed(opts.n, async () => {
      await skiff.kubectlOk(['exec', 'bench', '--', 'true']);
    }),
  );
} finally {
  await skiff.stop();
}
process.stdout.write(
  opts.json ? figuresToJson('exec', figures, { n: opts.n }) : formatFigureTable(figures),
);
