// Tests of waiting for a starting cluster through its data dir's pid file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dataDirLayout, waitUntilReady } from './data-dir.js';

function layout(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-datadir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dataDirLayout(dir);
}

test('no Skiff running: undefined at once', async (t) => {
  assert.equal(await waitUntilReady(layout(t)), undefined);
});

test('a Skiff that stays not ready: a clear error after the timeout', async (t) => {
  const l = layout(t);
  writeFileSync(l.pidFile, JSON.stringify({ pid: process.pid }));
  await assert.rejects(
    waitUntilReady(l, { timeoutMs: 300 }),
    new RegExp(`Skiff \\(pid ${process.pid}\\) of ".*" is not ready after 0 s; see .*skiff\\.log`),
  );
});

test('a Skiff that exits while starting: says so', async (t) => {
  const l = layout(t);
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300)']);
  await new Promise((r) => child.once('spawn', r));
  writeFileSync(l.pidFile, JSON.stringify({ pid: child.pid }));
  await assert.rejects(waitUntilReady(l, { timeoutMs: 10_000 }), /exited while starting/);
});
