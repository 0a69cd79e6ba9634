// `skiff up --detach` (issue 18): it returns only once the cluster it started is ready (the point
// where the foreground `skiff up` prints its ready banner), so the very next kubectl works with no
// retry; `skiff down` then stops it and leaves nothing of it running.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { isProcessAlive } from '../../src/lib/data-dir.js';
import { run, upCommand } from './harness.js';

const skiff = resolve(import.meta.dirname, '..', '..', 'bin', 'skiff.js');

test('skiff up --detach returns once ready: the next kubectl works at once; skiff down stops it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-detach-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'skiff-kcache-'));
  t.after(async () => {
    // Stops a cluster a failed assertion left running (a no-op once the test stopped it).
    await run(process.execPath, [skiff, 'down', '--data-dir', dataDir], { timeoutMs: 60_000 });
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });
  const { argv } = await upCommand(dataDir, ['--detach']);
  const up = await run(process.execPath, argv, { timeoutMs: 120_000 });
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const pid = Number(/running in the background \(pid (\d+),/.exec(up.stdout)?.[1]);
  assert.ok(pid > 0, up.stdout);
  // What a ready `skiff up` records, there before --detach returned.
  const info = JSON.parse(readFileSync(join(dataDir, 'skiff.pid'), 'utf8')) as {
    pid: number;
    ready?: boolean;
  };
  assert.deepEqual([info.pid, info.ready], [pid, true]);
  const env = { ...process.env, KUBECONFIG: join(dataDir, 'kubeconfig'), KUBECACHEDIR: cacheDir };
  const ns = await run('kubectl', ['get', 'namespace', 'kube-system', '-o', 'name'], { env });
  assert.equal(ns.code, 0, ns.stderr);
  assert.equal(ns.stdout.trim(), 'namespace/kube-system');

  const down = await run(process.execPath, [skiff, 'down', '--data-dir', dataDir], {
    timeoutMs: 60_000,
  });
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, new RegExp(`Skiff stopped \\(pid ${pid}\\)`));
  assert.equal(isProcessAlive(pid), false, 'the detached skiff up is gone');
});
