// The soak scenario (issue #8): churn (scale up/down, rollouts via `kubectl set env`, app kills)
// while Skiff's RSS and open fds are sampled; at the end the slopes and what the cluster left on
// the host beyond its live pods (network namespaces, bridge links, pod cgroups, processes).
import { existsSync, readFileSync } from 'node:fs';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Figure } from '../../../bench/lib/figures.js';
import { countFds, readRssBytes, readSmapsRollup } from '../../../bench/lib/proc.js';
import { R } from '../../../src/client/resources.js';
import { realClock } from '../../../src/lib/clock.js';
import { run } from '../../integration/harness.js';
import {
  type ChaosCluster,
  type ControlPlaneHeap,
  clusterCgroups,
  clusterLinks,
  clusterNetns,
  controlPlaneHeap,
  hostProcesses,
  hostZombies,
  isPodReady,
  SEED_APP,
  seedPods,
} from './cluster.js';

/** Options of runSoak. */
export interface SoakOptions {
  durationMs: number;
  sampleEveryMs?: number;
  /** Time between churn actions (default 5 s). */
  churnEveryMs?: number;
  log?: (line: string) => void;
}

/** One sample of the control plane. */
export interface SoakSample {
  atMs: number;
  rssBytes: number;
  fds: number;
  /** Anonymous memory (heaps; RSS less the binary's and libraries' pages), bytes. */
  anonBytes?: number;
  /** The V8 heap from /metrics, to tell a JS leak from native growth. */
  heap?: ControlPlaneHeap;
}

/** What a soak run measured. */
export interface SoakResult {
  samples: SoakSample[];
  actions: Record<string, number>;
  /** Least-squares slopes over the run's second half (after warm-up). */
  rssSlopeMBPerMin: number;
  fdSlopePerMin: number;
  pods: number;
  podsWithNetwork: number;
  /** When the cluster's bridge was first found missing (something outside deleted it), if ever. */
  bridgeLostAtMs?: number;
  /** Whether the last rollout finished and every terminated pod was gone before the count. */
  settled: boolean;
  netns: number;
  /** The node's sandbox pool's spare namespaces (each with a veth in the bridge). */
  spareNetns: number;
  links: number;
  cgroups: number;
  /** Processes in the cluster's cgroups, by command name. */
  processes: Record<string, number>;
  /** Running containers of the seed app (its python3 processes should match). */
  runningContainers: number;
  /** Zombies (state Z, unreaped) whose cgroup lies under the cluster's, by command name. */
  zombies: Record<string, number>;
  /** Zombies on the whole host at the end minus at the start of the churn. */
  hostZombiesDelta: number;
}

/** What a stopped cluster left on the host (everything should be zero but zombies). */
export interface Leftovers {
  netns: number;
  spareNetns: number;
  links: number;
  cgroups: number;
  /** Live (non-zombie) processes still in the cluster's cgroups, by command name. */
  processes: Record<string, number>;
  /** Zombies still in the cluster's cgroups, by command name (PID 1 may not reap them). */
  zombies: Record<string, number>;
}

/** Least-squares slope of y over x (0 with fewer than two points). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The `skiff up` process of a cluster (found by its data dir). */
export function skiffPid(c: ChaosCluster): number | undefined {
  return hostProcesses().find((p) => p.argv.includes('up') && p.argv.includes(c.skiff.dataDir))
    ?.pid;
}

/** Processes whose cgroup lies under the cluster's cgroup, counted by command name. */
function clusterProcesses(c: ChaosCluster): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of hostProcesses()) {
    let cg: string;
    try {
      cg = readFileSync(`/proc/${p.pid}/cgroup`, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (!cg.includes(`/${c.cgroupName}/`)) continue;
    // The shim and the shim reaper are python scripts too: keep them apart from the app's python3.
    const script = p.argv.find((a) => a.endsWith('shim.py') || a.endsWith('reaper.py'));
    const name = script
      ? script.endsWith('shim.py')
        ? 'shim'
        : 'reaper'
      : ((p.argv[0] ?? '?').split('/').pop() ?? '?');
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

/** Zombies whose cgroup lies under the cluster's cgroup, counted by command name. */
function clusterZombies(c: ChaosCluster): Record<string, number> {
  const out: Record<string, number> = {};
  for (const z of hostZombies()) {
    if (!z.cgroup.includes(`/${c.cgroupName}/`)) continue;
    out[z.comm] = (out[z.comm] ?? 0) + 1;
  }
  return out;
}

/** The sandbox pool's spare network namespaces of this cluster (named <netnsPrefix>.spare-<hex>). */
export async function clusterSpareNetns(c: ChaosCluster): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${c.netnsPrefix}.spare-`));
}

/** Sum of a by-name count. */
export const total = (r: Record<string, number>): number =>
  Object.values(r).reduce((a, b) => a + b, 0);

/** What a cluster left on the host; call after `c.skiff.stop()`. */
export async function leftovers(c: ChaosCluster): Promise<Leftovers> {
  return {
    netns: (await clusterNetns(c)).length,
    spareNetns: (await clusterSpareNetns(c)).length,
    links: (await clusterLinks(c)).length,
    cgroups: clusterCgroups(c).length,
    processes: clusterProcesses(c),
    zombies: clusterZombies(c),
  };
}

const mb = (b: number | undefined) => (b === undefined ? '?' : (b / 2 ** 20).toFixed(1));

const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

/** Runs the soak against a cluster whose seed app is deployed. */
export async function runSoak(c: ChaosCluster, opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? ((_line: string) => undefined);
  const pid = skiffPid(c);
  if (!pid) throw new Error(`Cannot find the skiff up process of "${c.skiff.dataDir}"`);
  const samples: SoakSample[] = [];
  const actions: Record<string, number> = { scale: 0, rollout: 0, kill: 0, failed: 0 };
  const t0 = realClock.now();
  const zombiesAtStart = hostZombies().length;
  let bridgeLostAtMs: number | undefined;
  const sample = async () => {
    // Only `skiff down` deletes the bridge: if it goes during the run, later figures are void.
    if (bridgeLostAtMs === undefined && !existsSync(`/sys/class/net/${c.bridgeName}`)) {
      bridgeLostAtMs = realClock.now() - t0;
      log(`the bridge ${c.bridgeName} is gone (deleted outside the soak)`);
    }
    const rss = readRssBytes(pid);
    if (rss === undefined) return;
    const at = realClock.now() - t0;
    const anon = readSmapsRollup(pid)?.anon;
    const heap = await controlPlaneHeap(c).catch(() => undefined);
    samples.push({
      atMs: at,
      rssBytes: rss,
      fds: countFds(pid),
      ...(anon === undefined ? {} : { anonBytes: anon * 1024 }),
      ...(heap === undefined ? {} : { heap }),
    });
  };
  await sample();
  let nextSample = (opts.sampleEveryMs ?? 10_000) + t0;
  let i = 0;
  while (realClock.now() - t0 < opts.durationMs) {
    const step = i++ % 3;
    const k = c.skiff;
    let r: { code: number; stderr: string };
    if (step === 0) {
      const n = 2 + Math.floor(Math.random() * 4);
      r = await k.kubectl(['scale', 'deployment', SEED_APP, `--replicas=${n}`]);
      actions['scale']!++;
    } else if (step === 1) {
      r = await k.kubectl(['set', 'env', `deployment/${SEED_APP}`, `SOAK_ROUND=${i}`]);
      actions['rollout']!++;
    } else {
      const victim = pick((await seedPods(c)).filter(isPodReady))?.metadata?.name;
      r = victim
        ? await k.kubectl(['exec', victim, '--', 'bash', '-c', 'killall python3'], {
            timeoutMs: 30_000,
          })
        : { code: 0, stderr: '' };
      actions['kill']!++;
    }
    if (r.code !== 0) {
      actions['failed']!++;
      log(`churn step ${i} failed: ${r.stderr.trim().split('\n')[0]}`);
    }
    const until = realClock.now() + (opts.churnEveryMs ?? 5000);
    while (realClock.now() < until) {
      if (realClock.now() >= nextSample) {
        await sample();
        nextSample += opts.sampleEveryMs ?? 10_000;
        const last = samples.at(-1);
        if (last)
          log(
            `t=${(last.atMs / 1000).toFixed(0)}s rss ${mb(last.rssBytes)} MB anon ${mb(last.anonBytes)} MB ` +
              `heap used ${mb(last.heap?.used)} of ${mb(last.heap?.total)} MB fds ${last.fds}`,
          );
      }
      await realClock.sleep(Math.max(10, Math.min(until, nextSample) - realClock.now()));
    }
  }
  await sample();

  // Let the last rollout finish, then compare what is on the host with the live pods.
  const settled = await k8sSettle(c);
  if (!settled) log('the cluster did not settle: counting anyway');
  const pods = (await c.client.list<Pod>(R.pods, {})).items;
  const live = pods.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
  const half = samples.filter((s) => s.atMs >= opts.durationMs / 2);
  const mins = half.map((s) => s.atMs / 60_000);
  return {
    samples,
    actions,
    rssSlopeMBPerMin: slope(
      mins,
      half.map((s) => s.rssBytes / 2 ** 20),
    ),
    fdSlopePerMin: slope(
      mins,
      half.map((s) => s.fds),
    ),
    pods: live.length,
    podsWithNetwork: live.filter((p) => !p.spec?.hostNetwork).length,
    settled,
    ...(bridgeLostAtMs === undefined ? {} : { bridgeLostAtMs }),
    netns: (await clusterNetns(c)).length,
    spareNetns: (await clusterSpareNetns(c)).length,
    links: (await clusterLinks(c)).length,
    cgroups: clusterCgroups(c).length,
    processes: clusterProcesses(c),
    runningContainers: live
      .filter((p) => p.metadata?.labels?.['app'] === SEED_APP)
      .reduce(
        (n, p) => n + (p.status?.containerStatuses ?? []).filter((s) => s.state?.running).length,
        0,
      ),
    zombies: clusterZombies(c),
    hostZombiesDelta: hostZombies().length - zombiesAtStart,
  };
}

/** Waits for the last rollout and for terminated pods to go; false when either timed out. */
async function k8sSettle(c: ChaosCluster): Promise<boolean> {
  const rolled = await c.skiff.kubectl(
    ['rollout', 'status', 'deployment', SEED_APP, '--timeout=120s'],
    { timeoutMs: 130_000 },
  );
  // Terminated pods need their grace period and the agent's cleanup.
  const deadline = realClock.now() + 60_000;
  let gone = false;
  while (!gone && realClock.now() < deadline) {
    const all = await seedPods(c, { all: true });
    gone = all.every((p) => !p.metadata?.deletionTimestamp);
    if (!gone) await realClock.sleep(500);
  }
  await realClock.sleep(3000);
  return rolled.code === 0 && gone;
}

/** The samples before and from the middle of the run, and when it ended (ms). */
function halves(samples: readonly SoakSample[]): {
  end: number;
  first: SoakSample[];
  second: SoakSample[];
} {
  const end = samples.at(-1)?.atMs ?? 0;
  return {
    end,
    first: samples.filter((s) => s.atMs < end / 2),
    second: samples.filter((s) => s.atMs >= end / 2),
  };
}

/**
 * RSS over each half of the run (for a 2-hour soak: the first hour against the second), and how
 * far it moved within the second half (issue #18: flat within ±5 MB, i.e. a spread under 10 MB).
 */
export function halvesFigures(samples: readonly SoakSample[]): Figure[] {
  const { end, first: a, second: b } = halves(samples);
  const mbOf = (xs: readonly SoakSample[]) => xs.map((s) => s.rssBytes / 2 ** 20);
  const first = mbOf(a);
  const second = mbOf(b);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const minutes = (end / 120_000).toFixed(0);
  return [
    {
      figure: 'RSS mean, first half',
      value: mean(first),
      unit: 'MB',
      decimals: 1,
      note: `${minutes} min`,
    },
    { figure: 'RSS mean, second half', value: mean(second), unit: 'MB', decimals: 1 },
    {
      figure: 'RSS spread in the second half (max − min)',
      value: second.length ? Math.max(...second) - Math.min(...second) : NaN,
      unit: 'MB',
      decimals: 1,
      target: { op: '<', value: 10 },
      note: second.length
        ? `${second.length} samples, ${Math.min(...second).toFixed(1)}–${Math.max(...second).toFixed(1)} MB`
        : 'no samples',
    },
  ];
}

/**
 * Where the second half's RSS movement comes from: skiff up's anonymous memory (heaps) and the V8
 * heap in use (live objects plus garbage not yet collected), each as mean and min–max.
 */
export function memoryPartsFigures(samples: readonly SoakSample[]): Figure[] {
  const { second } = halves(samples);
  const part = (figure: string, of: (s: SoakSample) => number | undefined): Figure => {
    const mbs = second
      .map(of)
      .flatMap((b) => (b === undefined || Number.isNaN(b) ? [] : [b / 2 ** 20]));
    const mean = mbs.length ? mbs.reduce((a, b) => a + b, 0) / mbs.length : NaN;
    return {
      figure,
      value: mean,
      unit: 'MB',
      decimals: 1,
      note: mbs.length
        ? `mean; ${Math.min(...mbs).toFixed(1)}–${Math.max(...mbs).toFixed(1)} MB over ${mbs.length} samples`
        : 'not sampled',
    };
  };
  return [
    part('anonymous memory, second half', (s) => s.anonBytes),
    part('V8 heap used, second half', (s) => s.heap?.used),
    part('V8 heap committed, second half', (s) => s.heap?.total),
  ];
}

/** The figures of a soak run, for the bench table and bench/report. */
export function soakFigures(r: SoakResult): Figure[] {
  const first = r.samples[0];
  const last = r.samples.at(-1);
  const mb = (b: number | undefined) => (b === undefined ? undefined : b / 2 ** 20);
  const apps = r.processes['python3'] ?? 0;
  return [
    {
      figure: 'churn actions',
      value: r.actions['scale']! + r.actions['rollout']! + r.actions['kill']!,
      unit: '',
      decimals: 0,
      note: JSON.stringify(r.actions),
    },
    { figure: 'skiff up RSS at start', value: mb(first?.rssBytes), unit: 'MB', decimals: 1 },
    { figure: 'skiff up RSS at end', value: mb(last?.rssBytes), unit: 'MB', decimals: 1 },
    {
      figure: 'RSS slope (second half)',
      value: r.rssSlopeMBPerMin,
      unit: 'MB/min',
      target: { op: '<', value: 1 },
    },
    ...halvesFigures(r.samples),
    ...memoryPartsFigures(r.samples),
    {
      figure: 'open fds start → end',
      value: last?.fds,
      unit: `fds (from ${first?.fds})`,
      decimals: 0,
    },
    {
      figure: 'fd slope (second half)',
      value: r.fdSlopePerMin,
      unit: 'fds/min',
      target: { op: '<', value: 1 },
    },
    {
      figure: 'network namespaces ≠ live pod-network pods',
      value: Math.abs(r.netns - r.podsWithNetwork),
      unit: '',
      decimals: 0,
      target: { op: '<', value: 1 },
      note: `${r.netns} netns for ${r.podsWithNetwork} pod-network pods (+${r.spareNetns} spares)${r.settled ? '' : '; NOT SETTLED'}${r.bridgeLostAtMs === undefined ? '' : `; BRIDGE DELETED FROM OUTSIDE at t=${(r.bridgeLostAtMs / 1000).toFixed(0)} s`}`,
    },
    {
      figure: 'bridge links ≠ live pod-network pods + spares',
      value: Math.abs(r.links - r.podsWithNetwork - r.spareNetns),
      unit: '',
      decimals: 0,
      target: { op: '<', value: 1 },
      note: `${r.links} links for ${r.podsWithNetwork} pods + ${r.spareNetns} spare netns`,
    },
    {
      figure: 'pod cgroups ≠ live pods',
      value: Math.abs(r.cgroups - r.pods),
      unit: '',
      decimals: 0,
      target: { op: '<', value: 1 },
      note: `${r.cgroups} cgroups for ${r.pods} pods`,
    },
    {
      figure: 'app processes ≠ running seed containers',
      value: Math.abs(apps - r.runningContainers),
      target: { op: '<', value: 1 },
      unit: '',
      decimals: 0,
      note: `processes in the cluster cgroups ${JSON.stringify(r.processes)}; ${r.runningContainers} running seed containers`,
    },
    {
      figure: 'zombies in the cluster cgroups (unreaped, not live)',
      value: total(r.zombies),
      unit: '',
      decimals: 0,
      note: `${JSON.stringify(r.zombies)}; host-wide zombies +${r.hostZombiesDelta} during the churn (PID 1 may not reap orphans)`,
    },
  ];
}
