#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=4 --optimize-for-size --heap-growing-percent=10
// Entry point of the `skiff` command: runs the compiled dist/ (npm run build) when it is current,
// else registers tsx so the TypeScript sources run without a build step.
//
// dist/ is current when dist/.build-stamp is newer than every file under src/ (one stat per file,
// ~1 ms), so an edited source never runs stale JavaScript. SKIFF_DEV=1 always uses tsx;
// SKIFF_DEV=0 uses dist/ without the freshness check.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** Whether dist/ was built after the last change to any source or asset under src/. */
function distIsCurrent() {
  let built;
  try {
    built = statSync(path.join(root, 'dist', '.build-stamp')).mtimeMs;
  } catch {
    return false;
  }
  if (process.env.SKIFF_DEV === '0') return true;
  const src = path.join(root, 'src');
  for (const e of readdirSync(src, { recursive: true, withFileTypes: true })) {
    // Tests are not compiled, so editing one does not make dist/ stale.
    if (!e.isFile() || e.name.endsWith('.test.ts')) continue;
    if (statSync(path.join(e.parentPath, e.name)).mtimeMs > built) return false;
  }
  return true;
}

// `skiff addon <name>` (the add-on pods' command) skips the command-line parser: its code would
// stay in every add-on pod's heap for nothing (issue #17).
const [command, addonName] = process.argv.slice(2);
const direct = command === 'addon' && addonName !== undefined && !addonName.startsWith('-');
const entry = direct ? 'addon' : 'cli';
let mod;
if (process.env.SKIFF_DEV !== '1' && distIsCurrent()) {
  mod = await import(`../dist/src/cmd/${entry}.js`);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(`../src/cmd/${entry}.ts`);
}
if (direct) await mod.runAddon(addonName, process.argv.slice(4));
