// The chaos-under-load scenario (issue #8): a paced load through the ingress while the app in a
// random pod is killed every second, a random pod is deleted every 2 s and the ingress controller
// is SIGKILLed once; then the figures: requests sent and failed (by kind, and outside the ingress
// outage), p99 latency, and replicas restored against desired.
import type { Figure } from '../../../bench/lib/figures.js';
import { R } from '../../../src/client/resources.js';
import { realClock } from '../../../src/lib/clock.js';
import { run } from '../../integration/harness.js';
import {
  type ChaosCluster,
  hostProcesses,
  ingressControllerPid,
  ingressWorkerPids,
  isPodReady,
  seedPods,
  seedReplicas,
} from './cluster.js';
import {
  failureTimeline,
  type LoadSummary,
  latencyTimeline,
  PacedLoad,
  summarizeSamples,
} from './paced-load.js';

/** Options of runChaos. */
export interface ChaosOptions {
  durationMs: number;
  /** Requests per second through the ingress. */
  rate: number;
  killEveryMs?: number;
  deleteEveryMs?: number;
  /** When to SIGKILL the ingress controller (ms into the run; default half way; <0: never). */
  killIngressAtMs?: number;
  /**
   * Which ingress process the kill hits: 'controller' (default), a worker running the controller
   * and proxy, which the add-on's supervisor replaces while the others serve and it holds the
   * port; or 'main', the pod's main process that holds the listening socket (the container
   * restarts).
   */
  ingressKillTarget?: 'controller' | 'main';
  /** Per-request timeout in ms (default 10 s: the shared machine is slow, a timeout is a failure). */
  timeoutMs?: number;
  /** kubectl exec sessions allowed at once (default 3; each takes seconds on a loaded machine). */
  maxExecs?: number;
  /** How long to wait for every replica to be ready again after the run (default 90 s). */
  settleMs?: number;
  log?: (line: string) => void;
}

/** What a chaos run measured. */
export interface ChaosResult {
  load: LoadSummary;
  /** The load outside the ingress outage window (the idempotent-request target applies here). */
  outsideIngressOutage: LoadSummary;
  /**
   * The ingress controller outage: from the kill until the first successful answer to a request
   * sent after it (and after the port's last refusal) arrived (a held port makes requests wait
   * rather than fail; this is the stall).
   */
  ingressOutageMs: number | undefined;
  /** Requests in flight at any time during the outage that failed (sent before it included). */
  ingressOutageFailed: number;
  ingressKillTarget: 'controller' | 'main';
  appKills: { done: number; failed: number; skipped: number; meanExecMs: number };
  podDeletes: { done: number; failed: number };
  replicas: { desired: number; ready: number };
  /** From the end of the run until every replica was ready again. */
  restoreMs: number | undefined;
}

/**
 * The ingress worker serving most of the load: the one holding the most established connections
 * on the ingress port (`ss -p`; every worker accepts from the port, not always evenly), so the kill
 * drops the most client connections. Falls back to the oldest worker when ss shows none.
 */
export async function servingWorkerPid(
  c: ChaosCluster,
): Promise<{ pid: number | undefined; connections: Record<number, number> }> {
  const workers = ingressWorkerPids(c);
  const r = await run('ss', [
    '-Htnp',
    'state',
    'established',
    `( sport = :${c.skiff.ingressPort} )`,
  ]);
  const connections: Record<number, number> = {};
  for (const m of r.stdout.matchAll(/pid=(\d+)/g)) {
    const pid = Number(m[1]);
    if (workers.includes(pid)) connections[pid] = (connections[pid] ?? 0) + 1;
  }
  const busiest = Object.entries(connections).sort((a, b) => b[1] - a[1])[0];
  return { pid: busiest ? Number(busiest[0]) : workers[0], connections };
}

/**
 * The ingress add-on's /stats (found by its --status-port flag), as a log line: data-path events
 * and the supervisor's workers; undefined when it cannot be read.
 */
export async function ingressStatsLine(c: ChaosCluster): Promise<string | undefined> {
  const pid = ingressControllerPid(c);
  const flag = hostProcesses()
    .find((p) => p.pid === pid)
    ?.argv.find((a) => a.startsWith('--status-port='));
  if (!flag) return undefined;
  try {
    const res = await fetch(`http://127.0.0.1:${flag.split('=')[1]}/stats`);
    const s = (await res.json()) as { events?: unknown; status?: unknown; supervisor?: unknown };
    return `events ${JSON.stringify(s.events)}, status ${JSON.stringify(s.status)}, supervisor ${JSON.stringify(s.supervisor)}`;
  } catch (err) {
    return `unreadable: ${String(err)}`;
  }
}

const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

/** Runs the scenario against a cluster whose seed app is deployed and serving. */
export async function runChaos(c: ChaosCluster, opts: ChaosOptions): Promise<ChaosResult> {
  const log = opts.log ?? ((_line: string) => undefined);
  const killEvery = opts.killEveryMs ?? 1000;
  const deleteEvery = opts.deleteEveryMs ?? 2000;
  const killIngressAt = opts.killIngressAtMs ?? opts.durationMs / 2;
  const killTarget = opts.ingressKillTarget ?? 'controller';
  const load = new PacedLoad({
    url: c.ingressUrl,
    rate: opts.rate,
    timeoutMs: opts.timeoutMs ?? 10_000,
    // Browsers and curl send a request again on a fresh connection when the reused one dies
    // before any answer byte; the keep-alive connections of a killed worker die that way.
    // Counted apart (the `retried` figure), never hidden.
    retryReusedConnection: true,
  });
  const appKills = { done: 0, failed: 0, skipped: 0, meanExecMs: 0 };
  let execMsTotal = 0;
  // Pods being exec'd into or deleted: a kill and a delete never pick the same pod at once.
  const busy = new Set<string>();
  const podDeletes = { done: 0, failed: 0 };
  let ingressKilledAt: number | undefined;
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  let execs = 0;

  const killApp = async () => {
    const victim = pick(
      (await seedPods(c)).filter((p) => isPodReady(p) && !busy.has(p.metadata?.name ?? '')),
    );
    const name = victim?.metadata?.name;
    if (!name) return;
    busy.add(name);
    const t0 = realClock.now();
    const r = await c.skiff.kubectl(['exec', name, '--', 'bash', '-c', 'killall python3'], {
      timeoutMs: 15_000,
    });
    busy.delete(name);
    execMsTotal += realClock.now() - t0;
    if (r.code === 0) appKills.done++;
    else {
      appKills.failed++;
      log(`kill in ${name} failed: ${r.stderr.trim().split('\n')[0]}`);
    }
  };
  const deletePod = async () => {
    const victim = pick((await seedPods(c)).filter((p) => !busy.has(p.metadata?.name ?? '')));
    const name = victim?.metadata?.name;
    if (!name) return;
    try {
      await c.client.delete(R.pods, 'default', name);
      podDeletes.done++;
    } catch (err) {
      podDeletes.failed++;
      log(`delete ${name} failed: ${String(err)}`);
    }
  };

  load.start();
  let nextKill = killEvery;
  let nextDelete = deleteEvery;
  // After the chaos, the load goes on (bounded) until the ingress answers again, so the
  // outage is measured whole even when the kill came late in the run.
  const recovered = () =>
    ingressKilledAt === undefined ||
    Number.isNaN(ingressKilledAt) ||
    load.samples.some((s) => s.ok && s.at > (ingressKilledAt ?? 0));
  while (
    load.elapsed() < opts.durationMs ||
    (!recovered() && load.elapsed() < opts.durationMs + 60_000)
  ) {
    const now = load.elapsed();
    if (now >= opts.durationMs) {
      await realClock.sleep(100);
      continue;
    }
    if (now >= nextKill) {
      nextKill += killEvery;
      // kubectl exec takes seconds on a loaded machine: a few at once, a missed beat is counted.
      if (execs >= (opts.maxExecs ?? 3)) appKills.skipped++;
      else {
        execs++;
        track(killApp().finally(() => execs--));
      }
    }
    if (now >= nextDelete) {
      nextDelete += deleteEvery;
      track(deletePod());
    }
    if (ingressKilledAt === undefined && killIngressAt >= 0 && now >= killIngressAt) {
      const serving = killTarget === 'main' ? undefined : await servingWorkerPid(c);
      const pid = serving ? serving.pid : ingressControllerPid(c);
      if (pid) {
        process.kill(pid, 'SIGKILL');
        ingressKilledAt = load.elapsed();
        log(
          `killed the ingress ${killTarget} process (pid ${pid}) at ${(ingressKilledAt / 1000).toFixed(1)} s` +
            (serving
              ? `; client connections per worker ${JSON.stringify(serving.connections)}`
              : ''),
        );
        // How the client connections spread over the workers afterwards (the replacement's share).
        if (serving)
          for (const after of [1000, 3000, 6000, 10_000])
            track(
              realClock.sleep(after).then(async () => {
                const { connections } = await servingWorkerPid(c);
                log(
                  `+${after / 1000} s after the kill: connections per worker ${JSON.stringify(connections)}`,
                );
              }),
            );
      } else log(`ingress ${killTarget} process not found`);
      if (!pid) ingressKilledAt = Number.NaN;
    }
    await realClock.sleep(Math.max(1, Math.min(nextKill, nextDelete) - load.elapsed()));
  }
  const summary = await load.stop();
  log(`ingress /stats: ${(await ingressStatsLine(c)) ?? 'status port not found'}`);
  await Promise.allSettled([...pending]);
  appKills.meanExecMs = execMsTotal / Math.max(1, appKills.done + appKills.failed);
  for (const line of failureTimeline(load.samples)) log(`failures at ${line}`);
  if (ingressKilledAt !== undefined && !Number.isNaN(ingressKilledAt)) {
    for (const line of latencyTimeline(
      load.samples,
      ingressKilledAt - 2000,
      ingressKilledAt + 20_000,
    ))
      log(`around the ingress kill: ${line}`);
  }

  // The outage: from the kill until a request sent after it was answered successfully. Requests
  // in flight at any time in that window belong to it, so one sent just before the kill and cut
  // off by it counts inside, not outside.
  let ingressOutageMs: number | undefined;
  let outside = summary;
  let ingressOutageFailed = 0;
  if (ingressKilledAt !== undefined && !Number.isNaN(ingressKilledAt)) {
    const killedAt = ingressKilledAt;
    // A closed port (refused connections) is outage too, even when some requests still got an
    // answer meanwhile (a dying main process's workers serve their open connections a moment):
    // the outage lasts until a request sent after the last refusal of the chain that starts at
    // the kill (refusals less than a second apart) was answered.
    let lastRefused = killedAt;
    for (const s of load.samples
      .filter((x) => x.kind === 'connect' && x.at >= killedAt)
      .sort((x, y) => x.at - y.at)) {
      if (s.at - lastRefused > 1000) break;
      lastRefused = s.at;
    }
    const firstOk = load.samples
      .filter((s) => s.ok && s.at >= lastRefused)
      .reduce((m, s) => Math.min(m, s.at + s.ms), Number.POSITIVE_INFINITY);
    const end = Number.isFinite(firstOk) ? firstOk : load.elapsed();
    ingressOutageMs = Number.isFinite(firstOk) ? firstOk - killedAt : undefined;
    const during = (s: { at: number; ms: number }) => s.at <= end && s.at + s.ms >= killedAt;
    ingressOutageFailed = load.samples.filter((s) => during(s) && !s.ok).length;
    const rest = load.samples.filter((s) => !during(s));
    outside = summarizeSamples(rest, { durationMs: opts.durationMs - (end - killedAt) });
  }

  // Every replica back: the deployment's desired count live and ready.
  const t0 = realClock.now();
  let restoreMs: number | undefined;
  let replicas = await seedReplicas(c);
  const deadline = t0 + (opts.settleMs ?? 90_000);
  while (realClock.now() < deadline) {
    replicas = await seedReplicas(c);
    if (replicas.ready === replicas.desired && replicas.live === replicas.desired) {
      restoreMs = realClock.now() - t0;
      break;
    }
    await realClock.sleep(250);
  }
  return {
    load: summary,
    outsideIngressOutage: outside,
    ingressOutageMs,
    ingressOutageFailed,
    ingressKillTarget: killTarget,
    appKills,
    podDeletes,
    replicas: { desired: replicas.desired, ready: replicas.ready },
    restoreMs,
  };
}

/** The figures of a chaos run, for the bench table and bench/report. */
export function chaosFigures(r: ChaosResult): Figure[] {
  const k = r.load.byKind;
  return [
    { figure: 'requests sent', value: r.load.sent, unit: 'req', decimals: 0 },
    {
      figure: 'achieved rate',
      value: r.load.rate,
      unit: 'req/s',
      decimals: 0,
      note: r.load.skipped ? `${r.load.skipped} beats skipped (in-flight cap)` : undefined,
    },
    {
      figure: 'failed requests (all)',
      value: r.load.failed,
      unit: 'req',
      decimals: 0,
      note: `connect ${k.connect}, reset ${k.reset}, timeout ${k.timeout}, non-2xx ${k.status}, other ${k.other}; codes ${JSON.stringify(r.load.statusCodes)}`,
    },
    {
      figure: 'retried on a fresh connection',
      value: r.load.retried,
      unit: 'req',
      decimals: 0,
      note: `reused keep-alive connection died before any answer byte, sent again as browsers and curl do; ${r.outsideIngressOutage.retried} outside the outage`,
    },
    {
      figure: 'failed outside the ingress-kill outage',
      value: r.outsideIngressOutage.failed,
      unit: 'req',
      decimals: 0,
      target: { op: '<', value: 1 },
    },
    {
      figure: 'failed during the ingress-kill outage',
      value: r.ingressOutageFailed,
      unit: 'req',
      decimals: 0,
      note:
        r.ingressKillTarget === 'main'
          ? 'the process holding port 80 died: connections refused until the container restarts'
          : 'a controller worker died: its in-flight requests are lost, new ones go to the other workers',
    },
    {
      figure: `ingress-kill outage (${r.ingressKillTarget})`,
      value: r.ingressOutageMs,
      unit: 'ms',
      decimals: 0,
      note:
        r.ingressOutageMs === undefined
          ? 'no kill, or never recovered'
          : 'kill → first successful answer to a request sent after it and after the last refusal',
    },
    { figure: 'latency p50', value: r.load.latency.p50, unit: 'ms', decimals: 1 },
    { figure: 'latency p99', value: r.load.latency.p99, unit: 'ms', decimals: 1 },
    {
      figure: 'app kills (killall python3)',
      value: r.appKills.done,
      unit: '',
      decimals: 0,
      note: `${r.appKills.failed} failed, ${r.appKills.skipped} skipped (previous exec still running), kubectl exec ${r.appKills.meanExecMs.toFixed(0)} ms mean`,
    },
    {
      figure: 'pod deletions',
      value: r.podDeletes.done,
      unit: '',
      decimals: 0,
      note: `${r.podDeletes.failed} failed`,
    },
    {
      figure: 'replicas ready at the end',
      value: r.replicas.ready,
      unit: `/ ${r.replicas.desired}`,
      decimals: 0,
      target: { op: '>', value: r.replicas.desired - 1 },
    },
    {
      figure: 'time to restore all replicas',
      value: r.restoreMs,
      unit: 'ms',
      decimals: 0,
      note: r.restoreMs === undefined ? 'not restored within the settle time' : undefined,
    },
  ];
}
