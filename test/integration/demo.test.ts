// Issue #7 end to end: `skiff demo --json` replays the seed walkthrough on a running Skiff and
// exits 0 with its figures (0 failed requests, a heal, peak replicas >= 3, back to 2).
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { DemoReport } from '../../src/demo/run.js';
import { run, type SkiffUnderTest, startSkiff } from './harness.js';

const repo = resolve(import.meta.dirname, '..', '..');
let skiff: SkiffUnderTest;

before(async () => {
  skiff = await startSkiff();
});
after(async () => {
  await skiff?.stop();
});

test('skiff demo --json runs the whole walkthrough and reports its figures', {
  timeout: 300_000,
}, async (t) => {
  const r = await run(
    process.execPath,
    [join(repo, 'bin', 'skiff.js'), 'demo', '--json', '--data-dir', skiff.dataDir],
    { timeoutMs: 280_000 },
  );
  let report: DemoReport;
  try {
    report = JSON.parse(r.stdout) as DemoReport;
  } catch {
    assert.fail(
      `skiff demo did not print one JSON object (exit ${r.code}):\n${r.stdout}\n${r.stderr}`,
    );
  }
  const context = `problems: ${report.problems.join('; ')}\nfigures: ${JSON.stringify(report.figures)}\nlast entries:\n${report.timeline
    .slice(-15)
    .map((e) => `${e.t}s ${e.step} ${e.kind}: ${e.text}`)
    .join('\n')}\nserver log tail:\n${skiff.logs().slice(-3000)}`;
  t.diagnostic(`figures: ${JSON.stringify(report.figures)}`);
  const firstOfStep = new Map(report.timeline.map((e) => [e.step, e.t] as const).reverse());
  t.diagnostic(`steps start at: ${JSON.stringify(Object.fromEntries(firstOfStep))}`);
  assert.equal(r.code, 0, context);
  assert.equal(report.ok, true, context);
  const f = report.figures;
  assert.ok(f.requests > 0, context);
  assert.equal(f.failedRequests, 0, context);
  assert.ok(f.healSeconds !== undefined && f.healSeconds > 0, context);
  assert.ok(f.peakReplicas >= 3, context);
  assert.ok(f.firstNewPodSeconds !== undefined, context);
  assert.ok(f.scaleDownSeconds !== undefined, context);
  assert.equal(f.stabilizationWindowSeconds, 15);
  // The user-visible steps ran through the real kubectl, as the seed types them.
  const commands = report.timeline.filter((e) => e.kind === 'command').map((e) => e.text);
  for (const want of [
    'kubectl create deployment hello-world-flask --image=lyzhang1999/hello-world-flask:latest --replicas=2',
    'kubectl create service clusterip hello-world-flask --tcp=5000:5000',
    'kubectl exec ',
    'kubectl autoscale deployment hello-world-flask --cpu-percent=50 --min=2 --max=10',
  ])
    assert.ok(
      commands.some((c) => c.startsWith(want)),
      `missing "${want}" in:\n${commands.join('\n')}`,
    );
  // Leaves the objects running for the user to look at.
  const pods = await skiff.kubectlOk([
    'get',
    'deploy,svc,ing,hpa',
    'hello-world-flask',
    '-o',
    'name',
  ]);
  assert.equal(pods.trim().split('\n').length, 4, pods);
});
