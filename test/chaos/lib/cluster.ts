// Cluster plumbing for the chaos, crash, soak and security suites: boots `skiff up` through the
// integration harness on ports and CIDRs of its own, deploys the seed app behind the ingress, and
// finds the host processes, network namespaces and cgroups a cluster made.
import { readdirSync, readFileSync } from 'node:fs';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../../../src/client/config.js';
import { R } from '../../../src/client/resources.js';
import { KubeClient } from '../../../src/client/rest.js';
import { hostNames } from '../../../src/cmd/components.js';
import {
  eventually,
  freePort,
  redrawWhileRangeTaken,
  run,
  type SkiffUnderTest,
  startSkiff,
  unusedOctet,
} from '../../integration/harness.js';

/** A booted cluster with an API client and the host names it uses. */
export interface ChaosCluster {
  skiff: SkiffUnderTest;
  client: KubeClient;
  podCIDR: string;
  serviceCIDR: string;
  /** The node agent's (kubelet) HTTPS port on 127.0.0.1. */
  kubeletPort: number;
  ingressUrl: string;
  /** The bridge/netns/cgroup names Skiff derives from the pod CIDR. */
  netnsPrefix: string;
  cgroupName: string;
  bridgeName: string;
}

/** The seed app's name (deployment, service, ingress and label app=). */
export const SEED_APP = 'hello-world-flask';

/** The control plane's V8 heap (bytes) from the API server's /metrics. */
export interface ControlPlaneHeap {
  used: number;
  total: number;
  external: number;
  /** What V8 itself holds from malloc (not the embedder's buffers). */
  malloced: number;
}

/** skiff up's heap figures, from its /metrics (NaN for a figure it does not print). */
export async function controlPlaneHeap(c: ChaosCluster): Promise<ControlPlaneHeap> {
  const text = (await c.client.request('GET', '/metrics')).body.toString('utf8');
  const value = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    used: value('nodejs_heap_size_used_bytes'),
    total: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
    malloced: value('nodejs_malloced_memory_bytes'),
  };
}

/**
 * Boots `skiff up` via the harness. The harness already picks free API/ingress/kubelet/metrics
 * ports; this adds a free ingress status port and dashboard port (their defaults are fixed and
 * would clash with other clusters on the machine) and CIDRs from a range the harness does not use.
 */
export async function bootCluster(opts: { args?: string[] } = {}): Promise<ChaosCluster> {
  return redrawWhileRangeTaken(() => bootClusterOnce(opts));
}

async function bootClusterOnce(opts: { args?: string[] }): Promise<ChaosCluster> {
  // The harness draws pods from 10.200-249 and services from 10.64-191: these stay clear of both.
  const podCIDR = `10.${unusedOctet(2, 14)}.0.0/16`;
  const serviceCIDR = `10.${unusedOctet(16, 64)}.0.0/16`;
  const kubeletPort = await freePort();
  const skiff = await startSkiff({
    args: [
      '--kubelet-port',
      String(kubeletPort),
      '--pod-cidr',
      podCIDR,
      '--service-cidr',
      serviceCIDR,
      '--ingress-status-port',
      String(await freePort()),
      '--dashboard-port',
      '0',
      ...(opts.args ?? []),
    ],
  });
  const names = hostNames(podCIDR);
  return {
    skiff,
    client: new KubeClient({ config: loadKubeconfig(skiff.kubeconfig) }),
    podCIDR,
    serviceCIDR,
    kubeletPort,
    ingressUrl: `http://127.0.0.1:${skiff.ingressPort}/`,
    netnsPrefix: names.netnsPrefix ?? 'skiff',
    cgroupName: names.cgroupName ?? 'skiff',
    bridgeName: names.bridgeName ?? 'skiff0',
  };
}

/** Creates the seed's deployment, service and ingress and waits for every replica to answer. */
export async function deploySeedApp(c: ChaosCluster, opts: { replicas: number }): Promise<void> {
  const k = c.skiff;
  await k.kubectlOk([
    'create',
    'deployment',
    SEED_APP,
    '--image=lyzhang1999/hello-world-flask:latest',
    `--replicas=${opts.replicas}`,
  ]);
  await k.kubectlOk(['create', 'service', 'clusterip', SEED_APP, '--tcp=5000:5000']);
  await k.kubectlOk(['create', 'ingress', SEED_APP, `--rule=/=${SEED_APP}:5000`]);
  await k.kubectlOk(['rollout', 'status', 'deployment', SEED_APP, '--timeout=120s'], {
    timeoutMs: 130_000,
  });
  await waitIngressServes(c);
}

/** Waits until the ingress answers 200 for the seed app (routes and endpoints synced). */
export async function waitIngressServes(c: ChaosCluster, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const res = await fetch(c.ingressUrl, { signal: AbortSignal.timeout(3000) });
      await res.text();
      return res.status === 200;
    },
    { what: 'the ingress to serve the seed app', timeoutMs, intervalMs: 250 },
  );
}

/** The seed app's pods (not yet deleted ones only unless asked). */
export async function seedPods(c: ChaosCluster, opts: { all?: boolean } = {}): Promise<Pod[]> {
  const list = await c.client.list<Pod>(R.pods, {
    namespace: 'default',
    labelSelector: `app=${SEED_APP}`,
  });
  return opts.all ? list.items : list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

/** Whether a pod is Running and Ready. */
export function isPodReady(p: Pod): boolean {
  return (
    p.status?.phase === 'Running' &&
    (p.status.conditions ?? []).some((cond) => cond.type === 'Ready' && cond.status === 'True')
  );
}

/** Desired replicas of the seed deployment and how many of its pods are live and ready. */
export async function seedReplicas(
  c: ChaosCluster,
): Promise<{ desired: number; ready: number; live: number }> {
  const d = await c.client.get<Deployment>(R.deployments, 'default', SEED_APP);
  const pods = await seedPods(c);
  return {
    desired: d.spec?.replicas ?? 1,
    ready: pods.filter(isPodReady).length,
    live: pods.length,
  };
}

/** Pods per ReplicaSet of the seed app against each one's spec.replicas (duplicate check). */
export async function replicaSetCounts(
  c: ChaosCluster,
): Promise<{ name: string; desired: number; pods: number }[]> {
  const rsList = await c.client.list<ReplicaSet>(R.replicasets, {
    namespace: 'default',
    labelSelector: `app=${SEED_APP}`,
  });
  const pods = await seedPods(c);
  return rsList.items.map((rs) => ({
    name: rs.metadata?.name ?? '',
    desired: rs.spec?.replicas ?? 0,
    pods: pods.filter((p) =>
      (p.metadata?.ownerReferences ?? []).some((o) => o.uid === rs.metadata?.uid),
    ).length,
  }));
}

/** A host process: pid, parent pid, state letter and argv. */
export interface HostProcess {
  pid: number;
  ppid: number;
  state: string;
  argv: string[];
}

/** One /proc/<pid>/stat, split: the fields tests look at. */
interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

/**
 * Maps every process of the host through fn (undefined drops it). A process that exits between
 * readdir and the reads is skipped; any other read error is thrown.
 */
function mapProcesses<T>(fn: (p: ProcStat) => T | undefined): T[] {
  const out: T[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const rest = stat.slice(close + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const v = fn({ pid: Number(name), ppid: Number(rest[1]), state: rest[0] ?? '?', comm });
      if (v !== undefined) out.push(v);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ESRCH') throw err;
    }
  }
  return out;
}

/** Every live (non-zombie) process of the host, read from /proc. */
export function hostProcesses(): HostProcess[] {
  return mapProcesses(({ pid, ppid, state }) => {
    if (state === 'Z' || state === 'X') return undefined;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, ppid, state, argv };
  });
}

/** The ingress controller's primary process of this cluster (found by its --http-port flag). */
export function ingressControllerPid(c: ChaosCluster): number | undefined {
  const procs = hostProcesses().filter(
    (p) =>
      p.argv.includes('ingress-controller') &&
      p.argv.includes(`--http-port=${c.skiff.ingressPort}`),
  );
  const pids = new Set(procs.map((p) => p.pid));
  // Workers are forked by the primary (node:cluster), so the primary's parent is not one of them.
  return procs.find((p) => !pids.has(p.ppid))?.pid;
}

/**
 * The ingress data plane's worker processes of this cluster, oldest first: with the nginx data
 * plane, the workers of the nginx master the controller started (the master holds the port and
 * replaces a worker that dies); with the Node data path, the children of the main process (the
 * supervisor holding the port), each running the controller and the proxy.
 */
export function ingressWorkerPids(c: ChaosCluster): number[] {
  const main = ingressControllerPid(c);
  if (main === undefined) return [];
  const procs = hostProcesses();
  const masters = new Set(
    procs
      .filter((p) => p.ppid === main && (p.argv[0] ?? '').startsWith('nginx: master'))
      .map((p) => p.pid),
  );
  const started = (pid: number): number => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  };
  return procs
    .filter((p) =>
      masters.size ? masters.has(p.ppid) : p.ppid === main && p.argv.includes('ingress-controller'),
    )
    .map((p) => ({ pid: p.pid, at: started(p.pid) }))
    .sort((a, b) => a.at - b.at)
    .map((p) => p.pid);
}

/** Network namespaces of this cluster (`ip netns list`, filtered by its prefix). */
export async function clusterNetns(c: ChaosCluster): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${c.netnsPrefix}-`));
}

/** Links of this cluster's bridge (veth ends attached to it). */
export async function clusterLinks(c: ChaosCluster): Promise<string[]> {
  const r = await run('ip', ['-o', 'link', 'show', 'master', c.bridgeName]);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '');
}

/** Pod cgroups (one directory per pod UID) under this cluster's cgroup, per the memory hierarchy. */
export function clusterCgroups(c: ChaosCluster): string[] {
  const self = readFileSync('/proc/self/cgroup', 'utf8');
  const v1 = /^\d+:[^:]*\bmemory\b[^:]*:(.*)$/m.exec(self)?.[1];
  const v2 = /^0::(.*)$/m.exec(self)?.[1];
  const base =
    v1 !== undefined
      ? `/sys/fs/cgroup/memory${v1}/${c.cgroupName}`
      : `/sys/fs/cgroup${v2 ?? '/'}/${c.cgroupName}`;
  try {
    return readdirSync(base, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** A zombie (exited, unreaped) process: pid, parent pid, command name and its memory cgroup path. */
export interface ZombieProcess {
  pid: number;
  ppid: number;
  comm: string;
  cgroup: string;
}

/**
 * Every zombie of the host (state Z in /proc/<pid>/stat). PID 1 on the test machines does not
 * reap orphans, so stopped pods can leave zombie shims: the soak counts them apart from live leaks.
 */
export function hostZombies(): ZombieProcess[] {
  return mapProcesses(({ pid, ppid, state, comm }) => {
    if (state !== 'Z') return undefined;
    const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    const memory = /^\d+:[^:]*\bmemory\b[^:]*:(.*)$/m.exec(cg)?.[1];
    return { pid, ppid, comm, cgroup: memory ?? /^0::(.*)$/m.exec(cg)?.[1] ?? '' };
  });
}
