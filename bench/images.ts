// Image pull bench (issue 13): builds a three-layer image (~50 MB compressed) from files under
// /usr/lib, pushes it to a loopback docker-registry with skopeo, then times pull + unpack by Skiff's
// ImageService against `skopeo copy` + `umoci raw unpack` of the same image, alternating, in the
// same run. Also: the idle RSS the store, puller and local registry add to a process, and how fast
// a pull from Docker Hub fails on a machine without it (the seed's offline start).
// Usage: node --import tsx bench/images.ts [--rounds 3] [--mb 120] [--json]
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { ImageService } from '../src/images/service.js';
import { skopeoPush, startDockerRegistry } from '../src/images/testing-registry.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { summarize } from './lib/stats.js';

const run = promisify(execFile);
const MB = 1024 * 1024;

const opts = new Command('bench/images.ts')
  .option('--rounds <n>', 'timed pulls of each kind', Number, 3)
  .option('--mb <n>', 'uncompressed MB of files in the image', Number, 120)
  .option('--json', 'print the figures as JSON', false)
  .parse()
  .opts<{ rounds: number; mb: number; json: boolean }>();

/** Files under /usr/lib (regular, readable), in three piles of about mb/3 each. */
function pickFiles(totalMB: number): string[][] {
  const piles: string[][] = [[], [], []];
  const per = (totalMB * MB) / 3;
  let pile = 0;
  let size = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (pile > 2) return;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const s = statSync(p).size;
        // a few huge binaries (chromium) would make one layer the whole image
        if (s > 8 * MB) continue;
        piles[pile]?.push(p.slice(1));
        size += s;
        if (size >= per) {
          pile++;
          size = 0;
        }
      }
    }
  };
  walk('/usr/lib');
  return piles;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** Writes an OCI layout with one image made of the three piles (gzip by pigz). */
async function buildLayout(
  dir: string,
  piles: string[][],
): Promise<{ compressed: number; raw: number }> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layers = [];
  const diffIDs = [];
  let raw = 0;
  for (const [i, files] of piles.entries()) {
    const list = path.join(dir, `files${i}`);
    writeFileSync(list, files.join('\n'));
    const tar = path.join(dir, `layer${i}.tar`);
    await run('tar', ['-c', '-f', tar, '-C', '/', '-T', list]);
    raw += statSync(tar).size;
    diffIDs.push(await sha256File(tar));
    await run('pigz', ['-6', tar]);
    const gz = `${tar}.gz`;
    const digest = await sha256File(gz);
    const size = statSync(gz).size;
    execFileSync('mv', [gz, path.join(blobs, digest.slice(7))]);
    rmSync(list);
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size });
  }
  const put = (doc: unknown) => {
    const b = Buffer.from(JSON.stringify(doc));
    const digest = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    writeFileSync(path.join(blobs, digest.slice(7)), b);
    return { digest, size: b.length };
  };
  const config = put({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIDs },
  });
  const manifest = put({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers,
  });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
  return { compressed: layers.reduce((s, l) => s + l.size, 0), raw };
}

const work = mkdtempSync(path.join(tmpdir(), 'skiff-bench-images-'));
const registry = await startDockerRegistry(path.join(work, 'registry'));
try {
  const layout = path.join(work, 'layout');
  const built = await buildLayout(layout, pickFiles(opts.mb));
  await skopeoPush(layout, 'bench', `${registry.host}/bench:1`);
  const ref = `${registry.host}/bench:1`;
  const skiff: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    const base = path.join(work, `base${i}`);
    mkdirSync(base);
    let t = performance.now();
    await run('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      `docker://${ref}`,
      `oci:${base}/oci:bench`,
    ]);
    await run('umoci', ['raw', 'unpack', '--image', `${base}/oci:bench`, `${base}/rootfs`]);
    baseline.push(performance.now() - t);
    rmSync(base, { recursive: true, force: true });
    const dataDir = path.join(work, `skiff${i}`);
    t = performance.now();
    await new ImageService({ dataDir }).ensure(ref, { policy: 'IfNotPresent' });
    skiff.push(performance.now() - t);
    if (i < opts.rounds - 1) rmSync(dataDir, { recursive: true, force: true });
  }
  const s = summarize(skiff);
  const b = summarize(baseline);
  // idle RSS: a fresh process, before and after the image service + local registry + one ensure
  // the compiled tree, as `skiff up` runs it (tsx's compiler would be counted otherwise)
  await run(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'build.mjs')]);
  const child = await run(process.execPath, [
    '--expose-gc',
    path.join(import.meta.dirname, 'images-rss.mjs'),
    path.join(work, `skiff${opts.rounds - 1}`),
    ref,
  ]);
  const rss = JSON.parse(child.stdout) as { before: number; after: number };
  // Docker Hub is unreachable here: how long until a pull of the seed's image gives up
  const t = performance.now();
  const offline = await new ImageService({ dataDir: path.join(work, 'offline') })
    .ensure('lyzhang1999/hello-world-flask:latest', { policy: 'Always' })
    .then(
      () => 'pulled (online)',
      (err: Error) => err.message,
    );
  const offlineMs = performance.now() - t;
  const figures: Figure[] = [
    {
      figure: 'image size (compressed / raw)',
      value: built.compressed / MB,
      unit: 'MB',
      decimals: 1,
      note: `${(built.raw / MB).toFixed(1)} MB raw, 3 layers`,
    },
    {
      figure: 'skiff pull+unpack median',
      value: s.p50 / 1000,
      unit: 's',
      note: `${opts.rounds} rounds`,
    },
    {
      figure: 'skopeo copy + umoci raw unpack median',
      value: b.p50 / 1000,
      unit: 's',
      note: 'baseline, same run',
    },
    {
      figure: 'pull+unpack ratio skiff/baseline',
      value: s.p50 / b.p50,
      unit: 'x',
      target: { op: '<', value: 1.2 },
    },
    {
      figure: 'idle RSS added (store, puller, local registry)',
      value: (rss.after - rss.before) / MB,
      unit: 'MB',
      target: { op: '<', value: 10 },
      decimals: 1,
      note: 'dist/ build in a fresh process; idle, image present',
    },
    {
      figure: 'offline pull fails after',
      value: offlineMs,
      unit: 'ms',
      decimals: 0,
      note: offline.slice(0, 90),
    },
  ];
  process.stdout.write(
    opts.json
      ? figuresToJson('images', figures, { skiffMs: skiff, baselineMs: baseline })
      : formatFigureTable(figures),
  );
} finally {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
