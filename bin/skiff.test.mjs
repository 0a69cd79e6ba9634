// Tests bin/skiff.js's choice between dist/ and tsx on a throwaway copy of the layout (run with
// `node --test bin/skiff.test.mjs`; scripts/run-tests.mjs only scans src/ and test/).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

const repo = path.resolve(import.meta.dirname, '..');
let top;

before(() => {
  top = mkdtempSync(path.join(tmpdir(), 'skiff-bin-'));
  for (const d of ['bin', 'src/cmd', 'dist/src/cmd'])
    mkdirSync(path.join(top, d), { recursive: true });
  writeFileSync(path.join(top, 'package.json'), '{"type":"module"}');
  symlinkSync(path.join(repo, 'node_modules'), path.join(top, 'node_modules'));
  copyFileSync(path.join(repo, 'bin/skiff.js'), path.join(top, 'bin/skiff.js'));
  writeFileSync(
    path.join(top, 'src/cmd/cli.ts'),
    "const from: string = 'src';\nconsole.log(from);\n",
  );
  writeFileSync(path.join(top, 'src/cmd/cli.test.ts'), '');
  writeFileSync(path.join(top, 'dist/src/cmd/cli.js'), "console.log('dist');\n");
});

after(() => rmSync(top, { recursive: true, force: true }));

/** Which tree bin/skiff.js ran, after setting the stamp and one source file to the given ages. */
function ran({ stampAge, sourceAge, testAge = 100, env = {} }) {
  const stamp = path.join(top, 'dist/.build-stamp');
  rmSync(stamp, { force: true });
  const now = Date.now() / 1000;
  if (stampAge !== undefined) {
    writeFileSync(stamp, '');
    utimesSync(stamp, now - stampAge, now - stampAge);
  }
  for (const [f, age] of [
    ['src/cmd/cli.ts', sourceAge],
    ['src/cmd/cli.test.ts', testAge],
  ])
    utimesSync(path.join(top, f), now - age, now - age);
  const { SKIFF_DEV: _, ...base } = process.env;
  return execFileSync(process.execPath, [path.join(top, 'bin/skiff.js')], {
    env: { ...base, ...env },
    encoding: 'utf8',
  }).trim();
}

test('runs dist/ when it was built after every source', () => {
  assert.equal(ran({ stampAge: 10, sourceAge: 20 }), 'dist');
});

test('falls back to tsx when a source is newer than the build', () => {
  assert.equal(ran({ stampAge: 20, sourceAge: 10 }), 'src');
});

test('a newer test file does not make dist/ stale', () => {
  assert.equal(ran({ stampAge: 20, sourceAge: 30, testAge: 1 }), 'dist');
});

test('falls back to tsx without a build', () => {
  assert.equal(ran({ sourceAge: 20 }), 'src');
});

test('SKIFF_DEV=1 forces tsx and SKIFF_DEV=0 skips the freshness check', () => {
  assert.equal(ran({ stampAge: 10, sourceAge: 20, env: { SKIFF_DEV: '1' } }), 'src');
  assert.equal(ran({ stampAge: 20, sourceAge: 10, env: { SKIFF_DEV: '0' } }), 'dist');
  assert.equal(ran({ sourceAge: 10, env: { SKIFF_DEV: '0' } }), 'src');
});
