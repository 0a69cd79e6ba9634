// The node's Python (shim, reaper, pty helper) in `npm test`: pyflakes over every file, then the
// Python unit tests (runtime/*_test.py) with the same interpreter the shim runs under.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { python } from '../sandbox/reaper.js';

const run = promisify(execFile);
const dir = import.meta.dirname;
const sources = readdirSync(dir)
  .filter((f) => f.endsWith('.py'))
  .map((f) => path.join(dir, f));

test('pyflakes finds nothing in the node runtime Python', async () => {
  const res = await run(python, ['-m', 'pyflakes', ...sources]).catch(
    (err: { stdout?: string; stderr?: string }) => err,
  );
  assert.equal(`${res.stdout ?? ''}${res.stderr ?? ''}`, '');
});

test('the Python unit tests pass', async () => {
  const res = await run(
    python,
    ['-B', '-m', 'unittest', 'discover', '-s', dir, '-p', '*_test.py'],
    {
      cwd: dir,
    },
  ).catch((err: { stderr?: string; code?: number }) => err);
  assert.match(res.stderr ?? '', /\nOK/, res.stderr);
});
