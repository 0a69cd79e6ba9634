// The node agent (kubelet): dispatches the pods bound to this node to one PodWorker each, adopts
// pods left running by a previous run, serves logs/exec/stats; the Node and its Lease are
// node-status.ts.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { R } from '../client/resources.js';
import type { KubeClient } from '../client/rest.js';
import type { ImageSource } from '../images/catalog.js';
import { LocalImageStore } from '../images/local.js';
import { type Clock, realClock } from '../lib/clock.js';
import type { Component } from '../lib/lifecycle.js';
import { createLogger, type Logger } from '../lib/log.js';
import { CgroupManager, detectCgroupVersion } from './cgroups/cgroups.js';
import { ObjectCache } from './container-env.js';
import { ImageManager, type ImagePuller } from './lifecycle/image-pull.js';
import { PodNetwork } from './network/pod-network.js';
import { registerNode, renewLease, startHeartbeat } from './node-status.js';
import { VolumeObjectWatches } from './object-watch.js';
import type { NodeContext } from './pod-context.js';
import { PodWorker } from './pod-worker.js';
import { SandboxPool } from './sandbox/pool.js';
import { detectRootfsMode, type RootfsMode } from './sandbox/rootfs.js';
import { attachSandbox } from './sandbox/sandbox.js';
import { startKubeletServer } from './server.js';
import { volumeObjectRefs } from './volumes.js';

/** Options of createNodeAgent. */
export interface NodeAgentOptions {
  client: KubeClient;
  clock?: Clock;
  log?: Logger;
  nodeName: string;
  dataDir: string;
  podCIDR?: string;
  clusterDNS?: string;
  clusterDomain?: string;
  kubelet: { port: number; token: string; tls: { key: string; cert: string }; host?: string };
  /** No namespaces/cgroups/bridge (forced, or automatic when not root). */
  reducedMode?: boolean;
  /** CA certificate given to pods (service-account ca.crt). */
  caCert?: string;
  /** Where image references resolve besides the bundled catalog; default: `skiff image add`'s. */
  images?: ImageSource;
  /** Pulls images into the node's image store; without it only local and bundled images run. */
  puller?: ImagePuller;
  /** How image roots are made; default: overlay when the kernel has it, else copy. */
  rootfsMode?: RootfsMode;
  /** Test hooks: bridge and namespace/cgroup names. */
  bridgeName?: string;
  netnsPrefix?: string;
  cgroupName?: string;
}

/** The node agent component, plus `stopAllPods` for `skiff down`. */
export interface NodeAgent extends Component {
  /** Stops every pod and removes every sandbox, namespace, cgroup and the bridge. */
  stopAllPods(): Promise<void>;
  /** The live pod workers by pod uid (for tests and the kubelet server). */
  readonly workers: Map<string, PodWorker>;
  /** True when running without namespaces/cgroups. */
  readonly isReduced: boolean;
  /** Port the kubelet server listens on (after start). */
  readonly port: number;
}

/** True when this process can build sandboxes (root on Linux with cgroups). */
export function canIsolate(): boolean {
  return (
    process.platform === 'linux' && process.getuid?.() === 0 && detectCgroupVersion() !== undefined
  );
}

/** Creates the node agent. */
export function createNodeAgent(opts: NodeAgentOptions): NodeAgent {
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? createLogger({ component: 'node-agent' });
  const isReduced = opts.reducedMode === true || !canIsolate();
  const podsDir = path.join(opts.dataDir, 'pods');
  const network = new PodNetwork({
    stateDir: path.join(opts.dataDir, 'network'),
    podCIDR: opts.podCIDR,
    reducedMode: isReduced,
    bridgeName: opts.bridgeName,
    netnsPrefix: opts.netnsPrefix,
  });
  const cgroups = isReduced ? undefined : new CgroupManager({ name: opts.cgroupName });
  const workers = new Map<string, PodWorker>();
  // Two warm sandboxes (shim + namespace): enough for pods created one after another.
  const shims = new SandboxPool({
    dir: opts.dataDir,
    size: 2,
    clock,
    isolated: !isReduced,
    log,
    netns: isReduced ? undefined : network,
  });
  let released: Promise<void> | undefined;
  const hostIP = '127.0.0.1';
  let services: Service[] = [];
  let port = opts.kubelet.port;
  let stopServer: (() => Promise<void>) | undefined;
  const events = new EventRecorder({
    client: opts.client,
    component: 'kubelet',
    host: opts.nodeName,
    clock,
    log,
  });
  const ctx: NodeContext = {
    client: opts.client,
    clock,
    log,
    events,
    network,
    cgroups,
    shims,
    images: new ImageManager({
      local: opts.images ?? new LocalImageStore({ dataDir: opts.dataDir }),
      puller: opts.puller,
      clock,
    }),
    podsDir,
    nodeName: opts.nodeName,
    hostIP,
    clusterDNS: opts.clusterDNS ?? '10.96.0.10',
    clusterDomain: opts.clusterDomain ?? 'cluster.local',
    isolated: !isReduced,
    rootfsMode: opts.rootfsMode ?? detectRootfsMode(),
    caCert: opts.caCert,
    services: () => services,
    nodeCapacity: { cpu: os.cpus().length, memory: os.totalmem() },
  };

  // Set by stopAllPods: a pod event arriving meanwhile (the informer runs until the abort) must
  // not start a new worker, whose sandbox would outlive `skiff down`.
  let isStoppingPods = false;
  // The configMaps and secrets pods mount (made at start, when the agent's signal is known).
  let volumeObjects: VolumeObjectWatches | undefined;
  const onPod = (pod: Pod) => {
    if (isStoppingPods) return;
    const uid = pod.metadata?.uid ?? '';
    if (!pod.metadata?.deletionTimestamp) volumeObjects?.register(pod);
    const w = workers.get(uid);
    if (w) {
      w.update(pod);
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      if (!pod.metadata?.deletionTimestamp) return;
    }
    const worker = new PodWorker({ ctx, pod });
    workers.set(uid, worker);
    if (pod.metadata?.deletionTimestamp) {
      worker.update(pod);
      return;
    }
    void worker.start();
  };

  const onPodGone = (pod: Pod) => {
    const uid = pod.metadata?.uid ?? '';
    volumeObjects?.unregister(uid);
    const w = workers.get(uid);
    if (!w) return;
    workers.delete(uid);
    void w.destroy().catch((err) => log.warn('pod cleanup failed', { err }));
  };

  // Sandboxes, namespaces and cgroups of pods the API no longer has (deleted while Skiff was down).
  const removeOrphans = async (live: Set<string>) => {
    if (existsSync(podsDir)) {
      for (const d of readdirSync(podsDir)) {
        const uid = d.split('_').pop() ?? '';
        if (live.has(uid)) continue;
        const sb = await attachSandbox(path.join(podsDir, d));
        await sb?.stop(clock);
        rmSync(path.join(podsDir, d), { recursive: true, force: true });
      }
    }
    for (const uid of network.knownPods()) if (!live.has(uid)) await network.teardown(uid);
    for (const uid of cgroups?.knownPods() ?? []) {
      if (live.has(uid)) continue;
      try {
        cgroups?.remove(uid);
      } catch (err) {
        log.warn('orphan cgroup removal failed', { uid, err });
      }
    }
  };

  const agent: NodeAgent = {
    name: 'node-agent',
    workers,
    isReduced,
    get port() {
      return port;
    },
    async start(signal) {
      if (isReduced)
        log.info('reduced mode: no namespaces or cgroups; pods get loopback IPs and PORT/POD_IP');
      mkdirSync(podsDir, { recursive: true });
      await network.ensureBridge();
      // Spares of an earlier run go before the pool makes ours: removing them later would race
      // with pods taking fresh spares (issue 12), and they may be broken (reaper killed, reboot).
      await network.removeStaleSpares();
      await shims.open();
      const server = await startKubeletServer({
        host: opts.kubelet.host ?? '127.0.0.1',
        port: opts.kubelet.port,
        token: opts.kubelet.token,
        tls: opts.kubelet.tls,
        clock,
        log,
        findPod: (ns, name) =>
          [...workers.values()].find(
            (w) => w.pod.metadata?.namespace === ns && w.pod.metadata?.name === name,
          ),
        workers: () => [...workers.values()],
        cgroups,
        nodeName: opts.nodeName,
      });
      port = server.port;
      stopServer = server.close;
      const nodeStatus = {
        client: opts.client,
        clock,
        nodeName: opts.nodeName,
        dataDir: opts.dataDir,
        podCIDR: network.podCIDR,
        hostIP,
        port: () => port,
      };
      await registerNode(nodeStatus);
      await renewLease(nodeStatus);
      startHeartbeat({ ...nodeStatus, log, signal });
      volumeObjects = new VolumeObjectWatches({
        client: opts.client,
        clock,
        log,
        signal,
        onChange: (namespace, ref) => {
          // One read of each object for every pod this change concerns.
          const objects = new ObjectCache({ client: opts.client });
          for (const w of workers.values()) {
            if (w.pod.metadata?.namespace !== namespace) continue;
            if (volumeObjectRefs(w.pod).includes(ref)) w.refreshVolumes(objects);
          }
        },
      });
      const svcInformer = new Informer<Service>({
        client: opts.client,
        resource: R.services,
        clock,
        log,
      });
      const refresh = () => {
        services = svcInformer.lister.list();
      };
      svcInformer.addEventHandler({ onAdd: refresh, onUpdate: refresh, onDelete: refresh });
      svcInformer.start(signal);
      const pods = new Informer<Pod>({
        client: opts.client,
        resource: R.pods,
        fieldSelector: `spec.nodeName=${opts.nodeName}`,
        clock,
        log,
      });
      pods.addEventHandler({
        onAdd: onPod,
        onUpdate: (_o, n) => onPod(n),
        onDelete: onPodGone,
      });
      await svcInformer.waitForSync(signal);
      pods.start(signal);
      await pods.waitForSync(signal);
      await removeOrphans(new Set(pods.lister.list().map((p) => p.metadata?.uid ?? '')));
      signal.addEventListener(
        'abort',
        () => {
          // Default shutdown leaves pods running: the next start adopts them (issue #8). The
          // reaper stays while shims remain, to reap them whenever they exit.
          for (const w of workers.values()) w.detach();
          released = shims.release().catch((err) => log.warn('shim reaper release', { err }));
          void stopServer?.();
        },
        { once: true },
      );
    },
    async stopped() {
      await released;
    },
    async stopAllPods() {
      const t0 = performance.now();
      const mark = (step: string) =>
        log.debug('stop step', { step, ms: Math.round(performance.now() - t0) });
      isStoppingPods = true;
      await shims.close();
      mark('warm sandboxes');
      await Promise.all(
        [...workers.values()].map((w) =>
          w.shutdown().catch((err) => log.warn('pod stop failed', { err })),
        ),
      );
      mark('pods');
      workers.clear();
      // The network first: one batch for every namespace, before removeOrphans would go one by one.
      await network.cleanupAll();
      await removeOrphans(new Set());
      cgroups?.cleanupAll();
      mark('orphans, network, cgroups');
    },
  };
  return agent;
}

/** `skiff down` without a running agent: stops every pod of a data dir and removes host state. */
export async function cleanupNode(opts: {
  dataDir: string;
  podCIDR?: string;
  clock?: Clock;
  bridgeName?: string;
  netnsPrefix?: string;
  cgroupName?: string;
}): Promise<boolean> {
  const clock = opts.clock ?? realClock;
  const podsDir = path.join(opts.dataDir, 'pods');
  let removed = false;
  if (existsSync(podsDir)) {
    for (const d of readdirSync(podsDir)) {
      const sb = await attachSandbox(path.join(podsDir, d));
      if (sb) {
        await sb.stop(clock);
        removed = true;
      }
      rmSync(path.join(podsDir, d), { recursive: true, force: true });
    }
  }
  const reduced = !canIsolate();
  const network = new PodNetwork({
    stateDir: path.join(opts.dataDir, 'network'),
    podCIDR: opts.podCIDR,
    reducedMode: reduced,
    bridgeName: opts.bridgeName,
    netnsPrefix: opts.netnsPrefix,
  });
  if (network.knownPods().length) removed = true;
  await network.cleanupAll();
  if (!reduced) {
    const cg = new CgroupManager({ name: opts.cgroupName });
    if (cg.knownPods().length) removed = true;
    cg.cleanupAll();
  }
  return removed;
}
