// Restarting a cluster on the same data dir (issue 12): `skiff down` then `skiff up`, kill -9 of
// Skiff and its shim reaper, a simulated reboot (processes, this cluster's /run/netns entries and
// bridge gone), and a fault injected in sandbox setup. Every time the same pod objects come back
// Ready and serving behind the ingress, with the restart counts the kubelet would report.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootCluster, type ChaosCluster } from '../chaos/lib/cluster.js';
import {
  ownNetns,
  processesMentioning,
  skiffDown,
  skiffUp,
  untilServing,
  type WebPod,
  webManifest,
} from '../chaos/lib/restart.js';
import { eventually, run, startSkiff } from './harness.js';

// Bounds (loaded 2-core CI machine): from `skiff up` printing its ready banner to every pod Ready
// and a burst of requests through the ingress all answered 200.
const readyBoundMs = { 2: 60_000, 10: 120_000 } as const;

let c: ChaosCluster;

const serving = (n: 2 | 10) => untilServing(c, n, readyBoundMs[n]);

/** The shim reaper of this data dir (shims are forks of it: same command line). */
function reaperAndShims(): { reaper: number; shims: number[] } {
  const procs = processesMentioning(join(c.skiff.dataDir, 'reaper.sock'));
  const pids = new Set(procs.map((p) => p.pid));
  const reaper = procs.find((p) => !pids.has(p.ppid))?.pid;
  assert.ok(reaper, 'the shim reaper runs');
  return { reaper, shims: procs.filter((p) => p.pid !== reaper).map((p) => p.pid) };
}

async function bridgeExists(): Promise<boolean> {
  return (await run('ip', ['-br', 'link', 'show', 'dev', c.bridgeName])).code === 0;
}

/** Checks that nothing of this cluster is left on the host after `skiff down`. */
async function assertNothingLeft(): Promise<void> {
  assert.deepEqual(ownNetns(c), [], 'no network namespace left');
  assert.equal(await bridgeExists(), false, 'no bridge left');
  await eventually(async () => processesMentioning(c.skiff.dataDir).length === 0, {
    timeoutMs: 5000,
    what: 'no process of the data dir left',
  });
}

/** Each pod the same object as before, its restart count `delta` higher. */
function assertSamePods(before: Map<string, WebPod>, after: Map<string, WebPod>, delta: number) {
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'same pods');
  for (const [name, p] of after) {
    const prev = before.get(name);
    assert.equal(p.uid, prev?.uid, `${name}: same pod object`);
    assert.equal(p.restartCount, (prev?.restartCount ?? 0) + delta, `${name}: restart count`);
  }
}

before(async () => {
  c = await bootCluster();
  await c.skiff.kubectlOk(['apply', '-f', '-'], { input: webManifest(2) });
});

after(async () => {
  await c?.skiff.stop();
});

test('down/up five times with 2 pods: same pods Ready and serving, one restart each time', async (t) => {
  let { pods, servingMs } = await serving(2);
  t.diagnostic(`first start: serving after ${servingMs} ms`);
  for (let cycle = 1; cycle <= 5; cycle++) {
    const downMs = await skiffDown(c);
    await assertNothingLeft();
    const upMs = await skiffUp(c);
    const next = await serving(2);
    assertSamePods(pods, next.pods, 1);
    // lastState is the run `skiff down` stopped: its exit, as the final status recorded it.
    for (const p of next.pods.values()) assert.notEqual(p.lastExit, undefined);
    t.diagnostic(
      `cycle ${cycle}: down ${downMs} ms, up ${upMs} ms, then all Ready in ${next.readyMs} ms ` +
        `and serving in ${next.servingMs} ms`,
    );
    pods = next.pods;
  }
});

test('kill -9 of Skiff and its reaper: pods are adopted, not restarted', async (t) => {
  const { pods } = await serving(2);
  // The reaper first: Skiff (its parent) still runs and reaps it.
  process.kill(reaperAndShims().reaper, 'SIGKILL');
  await c.skiff.kill9();
  assert.ok(ownNetns(c).length >= 2, 'the pods kept their namespaces');
  const upMs = await skiffUp(c);
  const next = await serving(2);
  assertSamePods(pods, next.pods, 0);
  t.diagnostic(`after kill -9: up ${upMs} ms, serving in ${next.servingMs} ms`);
});

test('its terminal gone (stdout and stderr closed), skiff up stops cleanly on SIGHUP', async (t) => {
  const { pods } = await serving(2);
  c.skiff.closeOutput();
  // Stopping writes progress lines to the closed pipes: each must not end skiff up midway.
  assert.equal(await c.skiff.signal('SIGHUP'), 0, 'exit code of skiff up');
  await assertNothingLeft();
  const upMs = await skiffUp(c);
  const next = await serving(2);
  assertSamePods(pods, next.pods, 1);
  t.diagnostic(`after SIGHUP: up ${upMs} ms, serving in ${next.servingMs} ms`);
});

test('reboot: processes, /run/netns entries and bridge of this cluster gone; pods start again', async (t) => {
  const { pods } = await serving(2);
  // Everything dies as with the machine: the shims (with their pods) first, so that the reaper
  // reaps them (those adopted after the kill -9 above have PID 1 as parent now), then the reaper,
  // reaped by Skiff, then Skiff.
  const { reaper, shims } = reaperAndShims();
  for (const pid of shims) process.kill(pid, 'SIGKILL');
  await eventually(async () => reaperAndShims().shims.length === 0, {
    timeoutMs: 10_000,
    what: 'shims gone',
  });
  process.kill(reaper, 'SIGKILL');
  await c.skiff.kill9();
  // /run is a tmpfs: after a reboot none of this cluster's namespaces or links exist. Only names
  // with this cluster's prefix are touched (other clusters may run on this machine).
  for (const ns of ownNetns(c)) await run('ip', ['netns', 'del', ns]);
  await run('ip', ['link', 'del', c.bridgeName]);
  assert.deepEqual(ownNetns(c), []);
  const upMs = await skiffUp(c);
  const next = await serving(2);
  assertSamePods(pods, next.pods, 1);
  // The runs nobody saw end are reported as containerd does after a reboot.
  for (const p of next.pods.values()) assert.equal(p.lastExit, 255);
  t.diagnostic(`after reboot: up ${upMs} ms, serving in ${next.servingMs} ms`);
});

test('down/up with 10 pods: same pods Ready and serving', async (t) => {
  await c.skiff.kubectlOk(['scale', 'deployment', 'web', '--replicas=10']);
  const { pods } = await serving(10);
  const downMs = await skiffDown(c);
  await assertNothingLeft();
  const upMs = await skiffUp(c);
  const next = await serving(10);
  assertSamePods(pods, next.pods, 1);
  t.diagnostic(
    `10 pods: down ${downMs} ms, up ${upMs} ms, then all Ready in ${next.readyMs} ms ` +
      `and serving in ${next.servingMs} ms`,
  );
  await c.skiff.kubectlOk(['scale', 'deployment', 'web', '--replicas=2']);
});

test('a failing sandbox setup: FailedCreatePodSandBox, retried with back-off, Ready once fixed', async () => {
  const k = c.skiff;
  // Test-only hook of the pod shim (runtime/shim.py injected_fault).
  const fault = join(k.dataDir, 'test-fault-sandbox-setup');
  writeFileSync(fault, 'injected by the restart test\n');
  try {
    await k.kubectlOk([
      'run',
      'faulty',
      '--image=lyzhang1999/hello-world-flask:latest',
      '--restart=Never',
    ]);
    const wording =
      'Failed to create pod sandbox: skiff-shim: sandbox setup failed: injected by the restart test';
    // Two failures: the first, and the retry after the back-off (10-15 s, as the kubelet's).
    await eventually(
      async () => {
        const out = await k.kubectlOk([
          'get',
          'events',
          '--field-selector=involvedObject.name=faulty,reason=FailedCreatePodSandBox',
          '-o',
          'jsonpath={range .items[*]}{.type} {.count} {.message}{"\\n"}{end}',
        ]);
        let seen = 0;
        for (const line of out.trim().split('\n')) {
          const [type, count, ...msg] = line.split(' ');
          if (type === 'Warning' && msg.join(' ') === wording) seen += Number(count);
        }
        return seen >= 2;
      },
      { timeoutMs: 30_000, what: 'FailedCreatePodSandBox twice' },
    );
    const waiting = JSON.parse(
      await k.kubectlOk([
        'get',
        'pod',
        'faulty',
        '-o',
        'jsonpath={.status.containerStatuses[0].state.waiting}',
      ]),
    ) as { reason: string; message: string };
    assert.deepEqual(waiting, { reason: 'ContainerCreating', message: wording });
  } finally {
    rmSync(fault, { force: true });
  }
  await k.kubectlOk(['wait', 'pod', 'faulty', '--for=condition=Ready', '--timeout=30s'], {
    timeoutMs: 40_000,
  });
  await k.kubectlOk(['delete', 'pod', 'faulty', '--wait=false']);
});

test('skiff up --wait: the add-ons are available when the ready banner prints', async () => {
  // Its own cluster: the restarts above stay free of the add-on wait.
  const w = await startSkiff({ args: ['--wait', '120s', '--dashboard-port', '0'] });
  try {
    assert.match(w.logs(), /add-ons available/);
    const out = await w.kubectlOk([
      'get',
      'deployments',
      '-A',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Available")].status} {end}',
    ]);
    assert.match(out, /ingress-nginx-controller=True/);
    assert.match(out, /metrics-server=True/);
  } finally {
    await w.stop();
  }
});
