#!/usr/bin/env node
// Compiles src/ to plain JavaScript in dist/src/ with tsc (tsconfig.build.json) and copies the
// non-TypeScript assets beside it, so bin/skiff.js can run without tsx. Run by `npm run build`
// (and `prepare`, i.e. on `npm ci`/`npm install` in the checkout).
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
// Built beside dist/ and swapped in at the end, so running clusters (whose lazy imports still load
// from dist/) never see a half-written tree.
const next = path.join(root, 'dist.next');

let tsc;
try {
  tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  // A production install (--omit=dev) has no compiler: skiff keeps running the sources via tsx.
  process.stderr.write('skiff build: typescript is not installed; skipping (skiff runs via tsx)\n');
  process.exit(0);
}

// Sources edited while tsc runs must count as newer than the build, so the stamp gets this time.
const startedAt = new Date();
rmSync(next, { recursive: true, force: true });
const res = spawnSync(
  process.execPath,
  [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', next],
  { cwd: root, stdio: 'inherit' },
);
if (res.status !== 0) {
  process.stderr.write(`skiff build: tsc failed (${res.status ?? res.signal}); dist/ unchanged\n`);
  process.exit(1);
}

// Assets that modules load relative to themselves (shim.py, schema JSON, dashboard static files).
let assets = 0;
const src = path.join(root, 'src');
for (const e of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!e.isFile() || e.name.endsWith('.ts')) continue;
  const from = path.join(e.parentPath, e.name);
  const rel = path.relative(src, from);
  if (rel.split(path.sep).includes('testdata')) continue;
  cpSync(from, path.join(next, 'src', rel));
  assets++;
}

// bin/skiff.js trusts dist/ only when this stamp exists and is newer than every source file.
const stamp = path.join(next, '.build-stamp');
writeFileSync(stamp, `${startedAt.toISOString()}\n`);
utimesSync(stamp, startedAt, startedAt);
rmSync(dist, { recursive: true, force: true });
renameSync(next, dist);
process.stdout.write(`skiff build: dist/ ready (${assets} assets copied)\n`);
