// Soak, short CI version of bench/soak.ts (issue #8): 20 s of warm-up then 90 s of churn (scale up/down, rollouts,
// app kills); Skiff's open fds and RSS must come back near where they started, and the stopped
// cluster must leave no network namespace, bridge link, pod cgroup or live process behind.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatFigureTable } from '../../bench/lib/figures.js';
import { countFds, readRssBytes } from '../../bench/lib/proc.js';
import { realClock } from '../../src/lib/clock.js';
import { eventually } from '../integration/harness.js';
import {
  bootCluster,
  type ChaosCluster,
  deploySeedApp,
  SEED_APP,
  seedPods,
} from './lib/cluster.js';
import { leftovers, runSoak, skiffPid, soakFigures, total } from './lib/soak.js';

// Bounds from the runs of 2026-11-26 (loaded 2-core machine): RSS grew 16-20 MB in 100-120 s of
// churn and at most 41 MB over 30 min (V8 old space and code growing to their working size; a
// forced GC left a 22-23 MB JS heap either way), so 50 MB catches a real leak only above ~0.4 MB
// per churn action. Open fds move by ±15 while exec streams are in flight; the last sample of
// the churn was -3 to +9 from the first in five runs (checked here only after settling back to
// 2 replicas, with nothing in flight): 15 catches about one leaked fd per churn action (14-18).
const FD_SLACK = 15;
const RSS_SLACK_MB = 50;
const CHURN_MS = 90_000;
// Descriptors and memory opened at first use (kubelet connections for exec, log files, pools) are
// not leaks: the baseline is taken after a short warm-up churn, settled at 2 replicas. Without it
// a quiet CI run went 122 → 140 fds, 12 of them within the first 5 s of churn.
const WARMUP_MS = 20_000;

let c: ChaosCluster | undefined;
let stopped = false;

before(async () => {
  c = await bootCluster();
  await deploySeedApp(c, { replicas: 2 });
});
after(async () => {
  if (!stopped) await c?.skiff.stop();
});

const say = (l: string) => process.stdout.write(`# ${l}\n`);

/** Scales the seed back to `n` and waits until only its `n` pods exist (terminated ones gone). */
async function settleAt(cl: ChaosCluster, n: number): Promise<void> {
  await cl.skiff.kubectlOk(['scale', 'deployment', SEED_APP, `--replicas=${n}`]);
  await cl.skiff.kubectlOk(['rollout', 'status', 'deployment', SEED_APP, '--timeout=120s'], {
    timeoutMs: 130_000,
  });
  await eventually(async () => (await seedPods(cl, { all: true })).length === n, {
    what: `only ${n} seed pods left`,
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  // Closed exec streams and watches are released on the next turns of the event loop.
  await realClock.sleep(3000);
}

test('churn: fds and RSS come back, the stopped cluster leaves nothing behind', async () => {
  assert.ok(c);
  const pid = skiffPid(c);
  assert.ok(pid, 'the skiff up process');
  await runSoak(c, { durationMs: WARMUP_MS, sampleEveryMs: 5000, log: say });
  await settleAt(c, 2);
  const fds0 = countFds(pid);
  const rss0 = readRssBytes(pid) ?? 0;
  say(`baseline after warm-up: fds ${fds0}, RSS ${(rss0 / 2 ** 20).toFixed(1)} MB`);

  const r = await runSoak(c, { durationMs: CHURN_MS, sampleEveryMs: 5000, log: say });
  say(formatFigureTable(soakFigures(r)).replaceAll('\n', '\n# '));
  const cl = c;
  const pods = async () =>
    (await cl.skiff.kubectl(['get', 'pods', '-A', '-o', 'wide'])).stdout.replaceAll('\n', '\n# ');
  assert.equal(r.bridgeLostAtMs, undefined, 'the bridge was deleted by something outside the test');
  assert.ok(r.settled, `the last rollout finished and old pods went away:\n# ${await pods()}`);
  // A loaded machine gets through fewer kubectl calls; every kind must still have happened.
  for (const kind of ['scale', 'rollout', 'kill'])
    assert.ok(r.actions[kind]! >= 2, `${kind} churn actions: ${JSON.stringify(r.actions)}`);
  assert.ok(r.actions['failed']! <= 3, `failed churn actions ${JSON.stringify(r.actions)}`);
  // Every sample splits RSS into its parts (anonymous memory, the V8 heap from /metrics).
  for (const s of r.samples) {
    assert.ok(s.anonBytes! > 0 && s.anonBytes! < s.rssBytes, `anonymous memory ${s.anonBytes}`);
    assert.ok(s.heap && s.heap.used > 0 && s.heap.used <= s.heap.total, JSON.stringify(s.heap));
  }
  // While the cluster runs, what is on the host matches its live pods (plus the pool's spares).
  assert.equal(r.netns, r.podsWithNetwork, 'one network namespace per live pod');
  assert.equal(r.links, r.podsWithNetwork + r.spareNetns, 'one bridge link per live pod or spare');
  assert.equal(r.cgroups, r.pods, 'one cgroup per live pod');
  assert.equal(r.processes['python3'] ?? 0, r.runningContainers, 'app processes = containers');

  await settleAt(c, 2);
  const fds1 = countFds(pid);
  const rss1 = readRssBytes(pid) ?? 0;
  const grownMB = (rss1 - rss0) / 2 ** 20;
  say(
    `fds ${fds0} → ${fds1}; RSS ${(rss0 / 2 ** 20).toFixed(1)} → ${(rss1 / 2 ** 20).toFixed(1)} MB`,
  );
  assert.ok(fds1 <= fds0 + FD_SLACK, `fds ${fds0} → ${fds1} after the churn (at 2 replicas again)`);
  assert.ok(grownMB < RSS_SLACK_MB, `RSS grew ${grownMB.toFixed(1)} MB during the churn`);

  await c.skiff.stop();
  stopped = true;
  const left = await leftovers(c);
  say(`after stop: ${JSON.stringify(left)}`);
  assert.equal(left.netns, 0, 'no network namespace left');
  assert.equal(left.spareNetns, 0, 'no spare network namespace left');
  assert.equal(left.links, 0, 'no bridge link left');
  assert.equal(left.cgroups, 0, 'no pod cgroup left');
  assert.equal(total(left.processes), 0, `no live process left: ${JSON.stringify(left.processes)}`);
  // Zombies are reported, not asserted: PID 1 on the test machines may not reap orphans.
});
