// Pods whose root is an image (issue #13): the real node agent against the test API server, in
// this process, with a busybox httpd image already present (unpacked layers, as the store keeps
// them). Prints pod create → Ready (p50/p99) next to the bundled stand-in measured in the same
// run, and the disk used by N running pods of the image: the layers once plus each pod's upper dir.
// Usage (root): node --import tsx bench/pod-start-image.ts [--pods 30] [--share 20] [--json]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestApiServer } from '../src/apiserver/testing.js';
import { R } from '../src/client/resources.js';
import type { ImageSource } from '../src/images/catalog.js';
import { realClock } from '../src/lib/clock.js';
import { configureLogging } from '../src/lib/log.js';
import { createNodeAgent } from '../src/node/agent.js';
import { busyboxLayers, testPod } from '../src/node/testing.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { summarize } from './lib/stats.js';

const opts = new Command('bench/pod-start-image.ts')
  .option('--pods <n>', 'pods created one after another, per image', Number, 30)
  .option('--share <n>', 'pods of the image running at once for the disk figure', Number, 20)
  .option('--json', 'print the figures as JSON', false)
  .parse()
  .opts<{ pods: number; share: number; json: boolean }>();

configureLogging({
  level: 'warn',
  sink: (line) => process.stderr.write(`${line}\n`),
});

const isReady = (p: Pod) =>
  p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

const du = (dir: string) =>
  Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]) || 0;

const podManifest = (name: string, image: string, port: number): Pod =>
  testPod(name, { image, ports: [{ containerPort: port }] });

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/pod-start-image.ts needs root\n');
    process.exit(2);
  }
  const work = mkdtempSync(path.join(tmpdir(), 'skiff-bench-image-'));
  const layers = busyboxLayers(path.join(work, 'layers'));
  const images: ImageSource = {
    lookup: (repository) =>
      repository === 'bench/busybox-httpd'
        ? {
            layers,
            workingDir: '/www',
            // Each pod writes a file first: its upper dir holds that and nothing else.
            command: ['/bin/sh', '-c'],
            args: ['hostname > /www/host.txt; exec httpd -f -p 8080 -h /www'],
            env: [{ name: 'PATH', value: '/bin' }],
            ports: [8080],
          }
        : undefined,
  };
  const api = await startTestApiServer();
  const dataDir = path.join(work, 'data');
  const tag = Math.random().toString(16).slice(2, 7);
  const agent = createNodeAgent({
    client: api.client,
    nodeName: 'skiff',
    dataDir,
    images,
    podCIDR: `10.${200 + Math.floor(Math.random() * 40)}.0.0/16`,
    bridgeName: `skb${tag}`,
    netnsPrefix: `skiffb${tag}`,
    cgroupName: `skiff-bench-${tag}`,
    kubelet: { port: 0, token: 'bench', tls: undefined as never },
  });
  const ac = new AbortController();
  const latest = new Map<string, Pod>();
  const figures: Figure[] = [];
  try {
    await agent.start(ac.signal);
    void api.client
      .watch<Pod>(R.pods, { namespace: 'default', signal: ac.signal }, (ev) => {
        if (ev.type !== 'ERROR') latest.set(ev.object.metadata?.name ?? '', ev.object);
      })
      .catch(() => undefined);
    const until = async (name: string) => {
      const deadline = performance.now() + 30_000;
      for (;;) {
        const p = latest.get(name);
        if (p && isReady(p)) return performance.now();
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${name}`);
        await realClock.sleep(1);
      }
    };
    const load = os.loadavg()[0] ?? Number.NaN;
    // Alternating the two images one pod at a time keeps both under the same load.
    const samples = { image: [] as number[], standIn: [] as number[] };
    for (let i = 0; i < opts.pods; i++) {
      for (const [kind, image, port] of [
        ['image', 'bench/busybox-httpd:1', 8080],
        ['standIn', 'lyzhang1999/hello-world-flask:latest', 5000],
      ] as const) {
        const name = `${kind.toLowerCase()}-${i}`;
        const t0 = performance.now();
        await api.client.create(R.pods, podManifest(name, image, port));
        samples[kind].push((await until(name)) - t0);
        await api.client.delete(R.pods, 'default', name);
      }
    }
    const img = summarize(samples.image);
    const std = summarize(samples.standIn);
    figures.push(
      { figure: 'image pod create → Ready p50', value: img.p50, unit: 'ms' },
      {
        figure: 'image pod create → Ready p99',
        value: img.p99,
        unit: 'ms',
        target: { op: '<', value: 300 },
      },
      { figure: 'stand-in pod create → Ready p50 (same run)', value: std.p50, unit: 'ms' },
      { figure: 'stand-in pod create → Ready p99 (same run)', value: std.p99, unit: 'ms' },
      { figure: 'image / stand-in p99', value: img.p99 / std.p99, unit: '×' },
    );

    // N pods of the image at once, each writing a little: the layers are on disk once.
    const layerBytes = du(path.join(work, 'layers'));
    for (let i = 0; i < opts.share; i++)
      await api.client.create(R.pods, podManifest(`share-${i}`, 'bench/busybox-httpd:1', 8080));
    for (let i = 0; i < opts.share; i++) await until(`share-${i}`);
    const podsDir = path.join(dataDir, 'pods');
    const podDirs = du(podsDir);
    const roots = readdirSync(podsDir)
      .map((d) => path.join(podsDir, d, 'rootfs'))
      .filter((d) => existsSync(d))
      .reduce((sum, d) => sum + du(d), 0);
    figures.push(
      { figure: 'image layers on disk (once)', value: layerBytes / 1024, unit: 'KiB' },
      {
        figure: `${opts.share} running pods: their upper/work/root dirs`,
        value: roots / 1024,
        unit: 'KiB',
      },
      {
        figure: `${opts.share} running pods: whole pod dirs (logs, /etc, token too)`,
        value: podDirs / 1024,
        unit: 'KiB',
      },
      {
        figure: `${opts.share} pods' root dirs / one copy of the layers`,
        value: roots / layerBytes,
        unit: '×',
        target: { op: '<', value: 1 },
        note: `a copy per pod would be ≥ ${opts.share}×`,
      },
      { figure: 'load average at start', value: load, unit: '' },
    );
  } finally {
    ac.abort();
    await agent.stopAllPods();
    await agent.stopped?.();
    await api.close();
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(
    opts.json ? figuresToJson('pod-start-image', figures) : formatFigureTable(figures),
  );
}

await main();
