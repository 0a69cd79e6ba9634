// The control-plane crash scenario (issue #8): a writer creates ConfigMaps (recording each one
// the API acknowledged) and a paced load flows through the ingress; `skiff up` is killed with
// SIGKILL, stays down for a while with the load still running, and is started again on the same
// data dir. Then: every acknowledged write present, no duplicate pods, the pods that ran before
// still run with the same restart count, and the requests that failed while the API was down.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Figure } from '../../../bench/lib/figures.js';
import { R } from '../../../src/client/resources.js';
import type { KubeClient } from '../../../src/client/rest.js';
import { realClock } from '../../../src/lib/clock.js';
import { type ChaosCluster, isPodReady, replicaSetCounts, seedPods } from './cluster.js';
import { failureTimeline, type LoadSummary, PacedLoad } from './paced-load.js';

/** Options of runCrash. */
export interface CrashOptions {
  /** Requests per second through the ingress. */
  rate: number;
  /** Writes and load before the kill (ms). */
  beforeMs?: number;
  /** How long the control plane stays down (ms). */
  outageMs?: number;
  /** Load and writes after the restart, before checking (ms). */
  afterMs?: number;
  log?: (line: string) => void;
}

/** A pod before the crash and what became of it. */
interface PodFate {
  name: string;
  uid: string;
  restartsBefore: number;
  restartsAfter?: number;
  readyAfter: boolean;
}

/** What a crash run measured. */
export interface CrashResult {
  acknowledged: number;
  /** Acknowledged ConfigMaps not found after the restart. */
  missing: string[];
  writeErrors: number;
  load: LoadSummary;
  /** Requests sent from the kill until the restarted control plane reported ready. */
  duringOutage: LoadSummary;
  /** ReplicaSets whose live pods differ from spec.replicas after the restart. */
  mismatched: { name: string; desired: number; pods: number }[];
  pods: PodFate[];
  /** `skiff up` start → ready on the restart (ms). */
  restartMs: number;
}

const restarts = (p: Pod): number =>
  (p.status?.containerStatuses ?? []).reduce((n, s) => n + s.restartCount, 0);

/** Creates ConfigMaps one after another until stopped; records the acknowledged names. */
function startWriter(client: KubeClient) {
  const acknowledged: string[] = [];
  let errors = 0;
  let running = true;
  let i = 0;
  const done = (async () => {
    while (running) {
      const name = `crash-${process.pid}-${i++}`;
      try {
        await client.create(R.configmaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace: 'default' },
          data: { i: String(i) },
        });
        acknowledged.push(name);
      } catch {
        // Refused or cut while the API is down: not acknowledged, so not expected to be there.
        errors++;
        await realClock.sleep(100);
      }
      await realClock.sleep(10);
    }
  })();
  return {
    acknowledged,
    errors: () => errors,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function waitApiReady(c: ChaosCluster): Promise<void> {
  const deadline = realClock.now() + 60_000;
  for (;;) {
    try {
      const r = await c.client.request('GET', '/readyz');
      if (r.status === 200) return;
    } catch (err) {
      if (realClock.now() > deadline) throw err;
    }
    if (realClock.now() > deadline) throw new Error('The API did not come back within 60 s');
    await realClock.sleep(100);
  }
}

/** Runs the scenario against a cluster whose seed app is deployed and serving. */
export async function runCrash(c: ChaosCluster, opts: CrashOptions): Promise<CrashResult> {
  const log = opts.log ?? ((_line: string) => undefined);
  const before = (await seedPods(c)).filter(isPodReady);
  const load = new PacedLoad({ url: c.ingressUrl, rate: opts.rate, timeoutMs: 10_000 });
  load.start();
  const writer = startWriter(c.client);
  await realClock.sleep(opts.beforeMs ?? 5000);

  const killedAt = load.elapsed();
  await c.skiff.kill9();
  log(
    `killed skiff up at ${(killedAt / 1000).toFixed(1)} s (${writer.acknowledged.length} writes acknowledged)`,
  );
  await realClock.sleep(opts.outageMs ?? 5000);
  const t0 = realClock.now();
  await c.skiff.restart();
  // The harness's restart() resolves on "Skiff is ready" anywhere in the output, which the first
  // run already printed: wait for the API itself.
  await waitApiReady(c);
  const restartMs = realClock.now() - t0;
  const readyAt = load.elapsed();
  log(`skiff up ready again after ${restartMs.toFixed(0)} ms`);
  await realClock.sleep(opts.afterMs ?? 10_000);
  await writer.stop();
  const summary = await load.stop();
  for (const line of failureTimeline(load.samples)) log(`failures at ${line}`);

  // Every acknowledged write is there (one list, not a GET per name).
  const present = new Set(
    (await c.client.list(R.configmaps, { namespace: 'default' })).items.map(
      (cm) => cm.metadata?.name ?? '',
    ),
  );
  const missing = writer.acknowledged.filter((n) => !present.has(n));
  const mismatched = (await replicaSetCounts(c)).filter((rs) => rs.pods !== rs.desired);
  const after = await seedPods(c, { all: true });
  const pods = before.map((p): PodFate => {
    const now = after.find((q) => q.metadata?.uid === p.metadata?.uid);
    return {
      name: p.metadata?.name ?? '',
      uid: p.metadata?.uid ?? '',
      restartsBefore: restarts(p),
      restartsAfter: now ? restarts(now) : undefined,
      readyAfter: now ? isPodReady(now) : false,
    };
  });
  return {
    acknowledged: writer.acknowledged.length,
    missing,
    writeErrors: writer.errors(),
    load: summary,
    duringOutage: load.window(killedAt, readyAt),
    mismatched,
    pods,
    restartMs,
  };
}

/** The figures of a crash run, for the bench table and bench/report. */
export function crashFigures(r: CrashResult): Figure[] {
  const kept = r.pods.filter((p) => p.readyAfter && p.restartsAfter === p.restartsBefore).length;
  return [
    { figure: 'acknowledged writes', value: r.acknowledged, unit: '', decimals: 0 },
    {
      figure: 'acknowledged writes missing after restart',
      value: r.missing.length,
      unit: '',
      decimals: 0,
      target: { op: '<', value: 1 },
    },
    {
      figure: 'ReplicaSets with pods != spec.replicas',
      value: r.mismatched.length,
      unit: '',
      decimals: 0,
      target: { op: '<', value: 1 },
      note: r.mismatched.map((m) => `${m.name}: ${m.pods}/${m.desired}`).join(', ') || undefined,
    },
    {
      figure: 'pods kept running, restartCount unchanged',
      value: kept,
      unit: `/ ${r.pods.length}`,
      decimals: 0,
      target: { op: '>', value: r.pods.length - 1 },
    },
    { figure: 'control-plane restart to ready', value: r.restartMs, unit: 'ms', decimals: 0 },
    {
      figure: 'requests during the outage',
      value: r.duringOutage.sent,
      unit: 'req',
      decimals: 0,
    },
    {
      figure: 'failed requests during the outage',
      value: r.duringOutage.failed,
      unit: 'req',
      decimals: 0,
      target: { op: '<', value: 1 },
      note: JSON.stringify(r.duringOutage.byKind),
    },
    {
      figure: 'failed requests (whole run)',
      value: r.load.failed,
      unit: 'req',
      decimals: 0,
      target: { op: '<', value: 1 },
    },
    { figure: 'latency p99 (whole run)', value: r.load.latency.p99, unit: 'ms', decimals: 1 },
  ];
}
