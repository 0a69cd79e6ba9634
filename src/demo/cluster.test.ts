// Tests of finding the running cluster from its data dir (pid file, log), without starting one.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureCluster } from './cluster.js';

function dataDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-demo-cluster-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('uses the running cluster named by the pid file, and the dashboard from the log', async (t) => {
  const dir = dataDir(t);
  // This test process stands in for a live `skiff up`.
  writeFileSync(
    join(dir, 'skiff.pid'),
    JSON.stringify({
      pid: process.pid,
      ready: true,
      kubeconfig: join(dir, 'kubeconfig'),
      ingressUrl: 'http://127.0.0.1:18080/',
      ingressStatsUrl: 'http://127.0.0.1:10254/stats',
    }),
  );
  writeFileSync(join(dir, 'skiff.log'), 'Skiff is ready\n  dashboard    http://127.0.0.1:8088/\n');
  const c = await ensureCluster({ dataDir: dir });
  assert.deepEqual(c, {
    dataDir: dir,
    kubeconfig: join(dir, 'kubeconfig'),
    ingressUrl: 'http://127.0.0.1:18080/',
    dashboardUrl: 'http://127.0.0.1:8088/',
    ingressStatsUrl: 'http://127.0.0.1:10254/stats',
    pid: process.pid,
    started: false,
  });
  const other = await ensureCluster({ dataDir: dir, ingressPort: 9090 });
  assert.equal(other.ingressUrl, 'http://127.0.0.1:9090/');
});

test('a cluster that is still starting is waited for, not started a second time', async (t) => {
  const dir = dataDir(t);
  const pidFile = join(dir, 'skiff.pid');
  writeFileSync(pidFile, JSON.stringify({ pid: process.pid }));
  // `skiff up` writes ready: true when it prints its ready banner.
  const ready = setTimeout(
    () => writeFileSync(pidFile, JSON.stringify({ pid: process.pid, ready: true })),
    300,
  );
  t.after(() => clearTimeout(ready));
  const waited: number[] = [];
  const c = await ensureCluster({ dataDir: dir, onWait: (pid) => waited.push(pid) });
  assert.equal(c.started, false);
  assert.deepEqual(waited, [process.pid], 'told once that it waits');
});
