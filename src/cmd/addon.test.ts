// `skiff addon`: bin/skiff.js runs an add-on without the command-line parser; an unknown name is a
// clear error with exit code 2 on both paths (direct, and through the parser for flags first).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../lib/paths.js';

const skiff = join(packageRoot(import.meta.url), 'bin', 'skiff.js');

test('skiff addon <unknown name> exits 2 with a clear message', () => {
  const r = spawnSync(process.execPath, [skiff, 'addon', 'nope'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /unknown add-on "nope"/);
});

test('skiff addon --help goes through the command-line parser', () => {
  const r = spawnSync(process.execPath, [skiff, 'addon', '--help'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /run a bundled add-on/);
});
