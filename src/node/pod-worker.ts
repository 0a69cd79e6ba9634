// One worker per pod bound to this node (pkg/kubelet/pod_workers.go + kuberuntime_manager.go
// SyncPod): images, then a plan (lifecycle/plan.ts computePodActions) from what is observed,
// carried out (sandbox, init containers in order, containers, kills), status, graceful
// termination. One container is lifecycle/container.ts; the mounts are lifecycle/pod-setup.ts.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Container, Pod, PodStatus, ResourceRequirements } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../api/quantity.js';
import { rfc3339 } from '../api/time.js';
import { R } from '../client/resources.js';
import type { ResolvedImage } from '../images/catalog.js';
import type { RegistryCredential } from '../images/service.js';
import type { Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { cgroupResources } from './cgroups/cgroups.js';
import { ObjectCache } from './container-env.js';
import { backOff } from './lifecycle/backoff.js';
import { ContainerRunner, gracePeriodMs, type PodHandle, podEvent } from './lifecycle/container.js';
import { EphemeralContainers } from './lifecycle/ephemeral.js';
import { ImageError, pullCredentials } from './lifecycle/image-pull.js';
import { computePodActions, type PodActions } from './lifecycle/plan.js';
import { podMounts } from './lifecycle/pod-setup.js';
import { StartProfile } from './lifecycle/profile.js';
import { StatusWriter } from './lifecycle/status-writer.js';
import type { NodeContext } from './pod-context.js';
import { computePodStatus } from './pod-status.js';
import type { ShimContainer } from './runtime/shim-client.js';
import type { ShimExec, ShimExecOutput, ShimExecRequest } from './runtime/shim-exec.js';
import { attachSandbox, type Sandbox, type SandboxMount } from './sandbox/sandbox.js';
import { hasDownwardAPIVolume, podHostname, refreshVolumes } from './volumes.js';

export type { NodeContext } from './pod-context.js';

/**
 * Why the node cannot hold a resized pod (kubelet canResizePod): its cpu or memory requests
 * exceed the node's capacity; undefined when it fits.
 */
export function resizeInfeasible(
  pod: Pod,
  capacity: { cpu: number; memory: number },
): string | undefined {
  let cpuMilli = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    const req = c.resources?.requests ?? {};
    if (req['cpu'] !== undefined) cpuMilli += Math.round(parseQuantity(req['cpu']) * 1000);
    if (req['memory'] !== undefined) memory += Math.round(parseQuantity(req['memory']));
  }
  const capMilli = Math.round(capacity.cpu * 1000);
  if (cpuMilli > capMilli) {
    return `Node didn't have enough capacity: cpu, requested: ${cpuMilli}, capacity: ${capMilli}`;
  }
  if (memory > capacity.memory) {
    return `Node didn't have enough capacity: memory, requested: ${memory}, capacity: ${capacity.memory}`;
  }
  return undefined;
}

/** Pod worker back-off after a failed sync (kubelet backOffPeriod) and its jitter factor. */
const syncBackOffMs = 10_000;
const syncBackOffJitter = 0.5;

/** Runs and reports one pod. */
export class PodWorker {
  pod: Pod;
  readonly uid: string;
  readonly podDir: string;
  sandbox?: Sandbox;
  podIP?: string;
  #ctx: NodeContext;
  #init: ContainerRunner[];
  #containers: ContainerRunner[];
  #ephemeral: EphemeralContainers;
  #startTime?: string;
  #status: StatusWriter;
  #profile: StartProfile;
  #terminating?: Promise<void>;
  #stopped = false;
  // The sandbox is being made (or adopted): the plan waits for it.
  #isPreparing = false;
  // What each image-rooted container mounts (kept in the pod dir for adoption).
  #containerMounts = new Map<string, SandboxMount[]>();
  #imageBackOffMs = 0;
  // Every image resolved: the plan may run.
  #hasImages = false;
  #message?: string;
  // A failed sandbox waits out its back-off here; the plan makes no new one meanwhile.
  #retry?: Timer;
  #hasCarriedOver = false;
  // The volume rewrite in progress (refreshVolumes), so two never interleave.
  #volumeRefresh: Promise<void> = Promise.resolve();
  // What each container's cgroup holds (in-place resize compares the spec with it); a container
  // missing here holds the resources of the spec the worker started with.
  #allocated = new Map<string, ResourceRequirements>();
  // Set while a resize cannot be applied (PodResizePending).
  #resizePending?: { reason: 'Infeasible' | 'Deferred'; message: string };

  constructor(opts: { ctx: NodeContext; pod: Pod }) {
    this.#ctx = opts.ctx;
    this.pod = opts.pod;
    this.uid = opts.pod.metadata?.uid ?? '';
    const m = opts.pod.metadata;
    this.podDir = path.join(opts.ctx.podsDir, `${m?.namespace}_${m?.name}_${this.uid}`);
    this.#profile = new StartProfile({ log: opts.ctx.log, key: this.#key });
    const host = this.#handle();
    const mk = (spec: Container, isInit: boolean) => new ContainerRunner({ host, spec, isInit });
    this.#init = (opts.pod.spec?.initContainers ?? []).map((c) => mk(c, true));
    this.#containers = (opts.pod.spec?.containers ?? []).map((c) => mk(c, false));
    this.#ephemeral = new EphemeralContainers({
      host,
      setMounts: (name, mounts) => this.#containerMounts.set(name, mounts),
    });
    this.#status = new StatusWriter({
      ctx: opts.ctx,
      compute: () => this.currentStatus(),
      target: () => this.pod,
      written: (updated, ready) => {
        this.#profile.mark(`status written Ready=${ready}`);
        if (ready === 'True') opts.ctx.shims.fill();
        if (updated.metadata?.uid === this.uid) this.pod = { ...this.pod, status: updated.status };
      },
    });
  }

  // The worker as its containers see it (keeps the worker's own state private).
  #handle(): PodHandle {
    const w = this;
    return {
      ctx: this.#ctx,
      uid: this.uid,
      podDir: this.podDir,
      get containerMounts() {
        return w.#containerMounts;
      },
      get pod() {
        return w.pod;
      },
      get podIP() {
        return w.podIP;
      },
      get sandbox() {
        return w.sandbox;
      },
      get isStopping() {
        return w.#isStopping;
      },
      get profile() {
        return w.#profile;
      },
      changed: () => this.#sync(),
    };
  }

  get #isStopping(): boolean {
    return this.#stopped || this.#terminating !== undefined;
  }

  get #all(): ContainerRunner[] {
    return [...this.#init, ...this.#containers, ...this.#ephemeral.runners];
  }

  #find(name: string): ContainerRunner | undefined {
    return [...this.#containers, ...this.#init, ...this.#ephemeral.runners].find(
      (x) => x.spec.name === name,
    );
  }

  #event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    podEvent(this.#handle(), type, reason, message);
  }

  get #key(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** Container state by name (for the kubelet server). */
  container(name: string):
    | {
        spec: Container;
        attempt: number;
        env?: Record<string, string>;
        image?: ResolvedImage;
        /** False while no command can run in it (an image container that is not running). */
        canExec: boolean;
        /** Starts a command in it (kubectl exec). */
        startExec(req: Omit<ShimExecRequest, 'name'>, out: ShimExecOutput): ShimExec;
        /** Its stdin FIFO while it runs with spec.stdin (attach). */
        stdinPath(): string | undefined;
        closeStdin(): Promise<void>;
        resize(width: number, height: number): Promise<void>;
      }
    | undefined {
    const c = this.#find(name);
    return (
      c && {
        spec: c.spec,
        attempt: c.attempt,
        env: c.env,
        image: c.image,
        canExec: c.canExec,
        startExec: (req, out) => c.startExec(req, out),
        stdinPath: () => c.stdinPath(),
        closeStdin: () => c.closeStdin(),
        resize: (width, height) => c.resize(width, height),
      }
    );
  }

  /** Main process id of a running container (host PID in reduced mode). */
  containerPid(name: string): number | undefined {
    const c = this.#find(name);
    return c?.current && !c.current.exit ? c.current.pid : undefined;
  }

  /** Log file of a container attempt (relative attempts: 0 = current, -1 = previous). */
  logFile(name: string, previous: boolean): string | undefined {
    const c = this.#find(name);
    if (!c) return undefined;
    const attempt = previous ? c.attempt - 1 : c.attempt;
    if (attempt < 0) return undefined;
    return path.join(this.podDir, name, `${attempt}.log`);
  }

  /** Starts (or adopts) the pod. */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (err) {
      this.#ctx.log.warn('pod start failed', { key: this.#key, err });
      this.#message = errorMessage(err);
      this.#status.queue();
    }
  }

  async #start(): Promise<void> {
    const ctx = this.#ctx;
    const pod = this.pod;
    // Images first (pulled per policy): one missing keeps the pod Pending with ErrImagePull.
    if (!(await this.#ensureImages())) {
      this.#status.queue();
      this.#scheduleImageRetry();
      return;
    }
    this.#profile.mark('images');
    this.#hasImages = true;
    mkdirSync(this.podDir, { recursive: true });
    this.#startTime = pod.status?.startTime ?? rfc3339(ctx.clock.now());
    const adopted = await attachSandbox(this.podDir);
    if (!adopted) this.#carryOverRestarts();
    if (adopted) {
      this.#isPreparing = true;
      try {
        const net = pod.spec?.hostNetwork ? { ip: ctx.hostIP } : await ctx.network.setup(this.uid);
        this.podIP = net.ip;
        this.sandbox = adopted;
        await this.#adopt(adopted);
      } finally {
        this.#isPreparing = false;
      }
    }
    this.#sync();
  }

  /**
   * Plans and carries out the plan (SyncPod): called whenever something observed changed. Starts
   * and kills are set off, not awaited: each container is busy until its start is done, so a
   * plan made meanwhile leaves it alone.
   */
  #sync(): void {
    if (this.#stopped) return;
    this.#status.queue();
    const plan = this.#computePlan();
    if (plan.killPod) {
      this.#terminating ??= this.terminate();
      return;
    }
    if (this.#terminating || this.#isPreparing || !this.#hasImages) return;
    for (const name of plan.containersToKill) void this.#find(name)?.kill(gracePeriodMs(this.pod));
    if (plan.createSandbox) {
      if (this.#retry) return;
      this.#isPreparing = true;
      void this.#createSandbox().then(
        () => {
          this.#isPreparing = false;
          this.#sync();
        },
        (err: unknown) => {
          this.#isPreparing = false;
          this.#sandboxFailed(err);
        },
      );
      return;
    }
    if (plan.nextInit) this.#find(plan.nextInit)?.start();
    for (const name of plan.containersToStart) this.#find(name)?.start();
    for (const name of plan.ephemeralContainersToStart) this.#ephemeral.start(name);
  }

  #computePlan(): PodActions {
    return computePodActions({
      pod: this.pod,
      hasSandbox: this.sandbox !== undefined,
      init: this.#init.map((c) => c.observe()),
      containers: this.#containers.map((c) => c.observe()),
      ephemeral: this.#ephemeral.runners.map((c) => c.observe()),
    });
  }

  // The sandbox: pod IP, network, volumes and /etc files, cgroups, and the shim that builds it.
  async #createSandbox(): Promise<void> {
    const ctx = this.#ctx;
    const pod = this.pod;
    const hostNetwork = pod.spec?.hostNetwork === true;
    // The shim is a warm spare (or starts now, overlapping the network and volume set-up); the
    // pod IP is allocated first because /etc/hosts and the downward API need it.
    const pending = ctx.shims.take();
    // A spare namespace (made ahead, with its veth) saves the `ip` process; the shim renames it.
    const spare = hostNetwork || !ctx.isolated ? undefined : ctx.shims.takeNetns();
    const fromSpare = spare && ctx.network.adoptSpare(this.uid, spare);
    if (spare && !fromSpare) void ctx.shims.discardNetns(spare);
    try {
      this.podIP = hostNetwork ? ctx.hostIP : ctx.network.allocateIP(this.uid);
      const [net, volumes] = await Promise.all([
        hostNetwork
          ? { ip: ctx.hostIP }
          : (fromSpare ??
            ctx.network.setup(this.uid, { configureInside: ctx.isolated }).then((n) => {
              this.#profile.mark('network');
              return n;
            })),
        podMounts({
          ctx,
          pod,
          podDir: this.podDir,
          podIP: this.podIP,
          hostNetwork,
          containers: this.#all,
        }),
      ]);
      this.#profile.mark('network+volumes');
      this.#containerMounts = volumes.containers;
      writeFileSync(
        path.join(this.podDir, 'mounts.json'),
        JSON.stringify(Object.fromEntries(volumes.containers)),
      );
      // The shim builds the sandbox while the cgroups are made and the token arrives.
      const made = pending.configure({
        podDir: this.podDir,
        hostname: podHostname(pod, '').hostname,
        isolated: ctx.isolated,
        netnsPath: 'netnsPath' in net ? net.netnsPath : undefined,
        netnsFrom: 'renameFrom' in net ? net.renameFrom : undefined,
        network: 'inside' in net && net.inside ? { ip: net.ip, ...net.inside } : undefined,
        shareHostUTS: hostNetwork,
        mounts: volumes.mounts,
      });
      try {
        for (const c of this.#all) {
          mkdirSync(path.join(this.podDir, c.spec.name), { recursive: true });
          // The pod's current spec: a resize may have landed before the sandbox was made.
          const spec = this.pod.spec?.containers?.find((x) => x.name === c.spec.name) ?? c.spec;
          ctx.cgroups?.create(this.uid, c.spec.name, cgroupResources(spec));
          this.#allocated.set(c.spec.name, structuredClone(spec.resources ?? {}));
        }
      } finally {
        this.sandbox = await made;
      }
      await volumes.filled;
    } catch (err) {
      void pending.abandon();
      // Not renamed (the sandbox failed first): the spare is nobody's now.
      if (fromSpare && spare && existsSync(spare.netnsPath)) void ctx.shims.discardNetns(spare);
      throw err;
    }
    this.#profile.mark('sandbox');
    this.#watchSandbox(this.sandbox);
  }

  // kuberuntime_manager SyncPod: a failed createPodSandbox is a Warning event worded as upstream,
  // the containers stay waiting (here with the error as message, where upstream shows none), and
  // the pod worker syncs again after its back-off period (pod_workers.go: 10 s, jitter 0.5).
  #sandboxFailed(err: unknown): void {
    const message = `Failed to create pod sandbox: ${errorMessage(err)}`;
    this.#ctx.log.warn('pod sandbox failed', { key: this.#key, err: errorMessage(err) });
    this.#event('Warning', 'FailedCreatePodSandBox', message);
    this.podIP = undefined;
    this.sandbox = undefined;
    for (const c of this.#all) {
      const reason =
        c.view.state.waiting?.reason ?? (c.isInit ? 'PodInitializing' : 'ContainerCreating');
      c.view.state = { waiting: { reason, message } };
    }
    this.#status.queue();
    const random = this.#ctx.random ?? Math.random;
    this.#retry?.cancel();
    this.#retry = this.#ctx.clock.setTimeout(
      () => {
        this.#retry = undefined;
        this.#sync();
      },
      syncBackOffMs * (1 + syncBackOffJitter * random()),
    );
  }

  // A new sandbox for a pod that ran before (`skiff down` then `up`, a crash, a reboot): as the
  // kubelet after a node restart, every container that had run starts again as its next attempt
  // (restartCount + 1, from the count the API holds, where the kubelet reads the runtime's) with
  // its last run as lastState. A run whose end nobody saw (the node died under it) ends as
  // containerd then reports it: exit code 255, reason Unknown.
  #carryOverRestarts(): void {
    if (this.#hasCarriedOver) return;
    this.#hasCarriedOver = true;
    const prev = [
      ...(this.pod.status?.initContainerStatuses ?? []),
      ...(this.pod.status?.containerStatuses ?? []),
      ...(this.pod.status?.ephemeralContainerStatuses ?? []),
    ];
    const now = rfc3339(this.#ctx.clock.now());
    for (const c of this.#all) {
      const p = prev.find((s) => s.name === c.spec.name);
      if (!p?.containerID) continue; // never started
      const running = p.state?.running;
      const last = running
        ? {
            exitCode: 255,
            reason: 'Unknown',
            startedAt: running.startedAt,
            finishedAt: now,
            containerID: p.containerID,
          }
        : (p.state?.terminated ?? p.lastState?.terminated);
      // A debug container that ran keeps that run as its end: it is never started again.
      if (c.isEphemeral) {
        c.ranBefore({ terminated: last ?? { exitCode: 255, reason: 'Unknown' } });
        continue;
      }
      c.view.restartCount = p.restartCount + 1;
      c.attempt = c.view.restartCount;
      if (last) c.view.lastState = { terminated: last };
    }
  }

  #watchSandbox(sb: Sandbox | undefined): void {
    if (!sb) return;
    sb.client.onExit((s: ShimContainer) => this.#find(s.name)?.onExit(s));
    sb.client.onClose(() => {
      if (this.#isStopping) return;
      this.#ctx.log.warn('pod shim went away', { key: this.#key });
    });
  }

  // Takes over the containers a previous run left in the shim; the plan then starts what is
  // missing and restarts what exited meanwhile.
  async #adopt(sb: Sandbox): Promise<void> {
    this.#watchSandbox(sb);
    const saved = path.join(this.podDir, 'mounts.json');
    if (existsSync(saved))
      this.#containerMounts = new Map(
        Object.entries(JSON.parse(readFileSync(saved, 'utf8')) as Record<string, SandboxMount[]>),
      );
    const state = await sb.client.state();
    const prevStatuses = [
      ...(this.pod.status?.initContainerStatuses ?? []),
      ...(this.pod.status?.containerStatuses ?? []),
      ...(this.pod.status?.ephemeralContainerStatuses ?? []),
    ];
    for (const c of this.#all) {
      c.adopt(
        state[c.spec.name],
        prevStatuses.find((s) => s.name === c.spec.name),
      );
    }
  }

  /** Runs a command inside a container and collects its output (probes, hooks). */
  execCapture(
    name: string,
    argv: string[],
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string }> {
    const c = this.#find(name);
    if (!c) return Promise.reject(new Error(`container ${name} not found`));
    return c.exec(argv, timeoutMs);
  }

  /**
   * A configMap or secret the pod's volumes project changed: their files are rewritten with the
   * atomic ..data swap (one rewrite at a time; unchanged volumes are left alone). `objects` may be
   * shared by the pods one change concerns, so each object is read once for all of them.
   */
  refreshVolumes(objects = new ObjectCache({ client: this.#ctx.client })): void {
    if (!this.sandbox || this.#isStopping || !this.#ctx.isolated) return;
    this.#volumeRefresh = this.#volumeRefresh.then(async () => {
      if (this.#isStopping) return;
      const r = await refreshVolumes({
        podDir: this.podDir,
        pod: this.pod,
        podIP: this.podIP ?? '',
        objects,
      });
      if (r.updated.length > 0)
        this.#ctx.log.debug('volumes updated', { key: this.#key, volumes: r.updated });
      for (const err of r.errors)
        this.#ctx.log.warn('volume update failed', { key: this.#key, err });
    });
  }

  /** A newer version of the pod object arrived from the API. */
  update(pod: Pod): void {
    const prev = this.pod.metadata;
    this.pod = pod;
    // Labels and annotations feed downwardAPI volumes (the kubelet rewrites them at its next sync);
    // a pod without one has nothing to rewrite (its configMaps and secrets have their own watch).
    const meta = pod.metadata;
    if (
      hasDownwardAPIVolume(pod) &&
      (!isDeepStrictEqual(prev?.labels, meta?.labels) ||
        !isDeepStrictEqual(prev?.annotations, meta?.annotations))
    )
      this.refreshVolumes();
    if (pod.metadata?.deletionTimestamp) {
      this.#sync();
      return;
    }
    // New ephemeral containers (pods/ephemeralcontainers): their images, then the plan starts them.
    const added = this.#ephemeral.add(pod);
    if (added.length > 0) {
      this.#status.queue();
      void Promise.all(added.map((c) => this.#ensureImage(c))).then(() => this.#sync());
    }
    this.#resize();
  }

  #allocatedOf(name: string): ResourceRequirements {
    return this.#allocated.get(name) ?? this.#find(name)?.spec.resources ?? {};
  }

  /**
   * In-place resize (kubelet handlePodResourcesResize + UpdateContainerResources): a container
   * whose spec resources differ from what its cgroup holds gets the new values written, with no
   * restart, when the node can hold the pod's new requests; else the resize stays pending
   * (Infeasible). Before the sandbox exists there is nothing to resize: create applies the spec.
   */
  #resize(): void {
    if (!this.sandbox || this.#isStopping) return;
    const changed = (this.pod.spec?.containers ?? []).filter(
      (c) => !isDeepStrictEqual(c.resources ?? {}, this.#allocatedOf(c.name)),
    );
    if (changed.length === 0) {
      if (this.#resizePending) {
        this.#resizePending = undefined;
        this.#status.queue();
      }
      return;
    }
    const infeasible = resizeInfeasible(this.pod, this.#ctx.nodeCapacity);
    this.#resizePending = infeasible ? { reason: 'Infeasible', message: infeasible } : undefined;
    if (!infeasible) {
      for (const c of changed) {
        try {
          this.#ctx.cgroups?.update(this.uid, c.name, cgroupResources(c));
          this.#allocated.set(c.name, structuredClone(c.resources ?? {}));
        } catch (err) {
          // The cgroup refused the value (e.g. memory.max below what the container holds): the
          // resize stays pending and the next pod update tries again.
          this.#resizePending = { reason: 'Deferred', message: errorMessage(err) };
          this.#ctx.log.warn('in-place resize failed', { key: this.#key, container: c.name, err });
        }
      }
    }
    this.#status.queue();
  }

  /** Graceful termination: preStop, SIGTERM, grace period, SIGKILL; then the pod object is removed. */
  async terminate(): Promise<void> {
    const ctx = this.#ctx;
    const grace = gracePeriodMs(this.pod);
    for (const c of this.#all) {
      c.quiesce();
      c.view.ready = false;
      if (c.isRunning) this.#event('Normal', 'Killing', `Stopping container ${c.spec.name}`);
    }
    this.#status.queue();
    await Promise.all(this.#all.map((c) => c.kill(grace)));
    await this.#status.flush();
    await this.destroy();
    const m = this.pod.metadata;
    await ctx.client
      .delete(R.pods, m?.namespace, m?.name ?? '', {
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      })
      .catch((err) => ctx.log.debug('final pod delete', { key: this.#key, err }));
  }

  /**
   * `skiff down`: the node stops but the pod object stays (to start again at the next `skiff up`):
   * SIGTERM to every container at once, SIGKILL after the grace period, the final status (the
   * exits, for lastState next time) written, then the sandbox removed.
   */
  async shutdown(): Promise<void> {
    this.#terminating ??= (async () => {
      this.#retry?.cancel();
      for (const c of this.#all) c.quiesce();
      await Promise.all(this.#all.map((c) => c.kill(gracePeriodMs(this.pod))));
      await this.#status.flush();
      // The namespaces and the bridge go together afterwards (PodNetwork.cleanupAll: one process).
      await this.destroy({ keepNetwork: true });
    })();
    await this.#terminating;
  }

  /**
   * Stops everything and removes the sandbox, network, cgroups and files (pod gone); keepNetwork:
   * the caller removes every pod's network at once.
   */
  async destroy(opts: { keepNetwork?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    this.#retry?.cancel();
    this.#status.stop();
    for (const c of this.#all) c.quiesce();
    const sb = this.sandbox ?? (await attachSandbox(this.podDir));
    await sb?.stop(this.#ctx.clock);
    if (!opts.keepNetwork)
      await this.#ctx.network
        .teardown(this.uid)
        .catch((err) => this.#ctx.log.warn('network teardown', { err }));
    try {
      this.#ctx.cgroups?.remove(this.uid);
    } catch (err) {
      this.#ctx.log.warn('cgroup removal failed', { key: this.#key, err });
    }
    rmSync(this.podDir, { recursive: true, force: true });
  }

  /** Stops watching without touching the pod (Skiff shuts down; pods keep running). */
  detach(): void {
    this.#stopped = true;
    this.#retry?.cancel();
    this.#status.stop();
    for (const c of this.#all) c.quiesce();
    this.sandbox?.client.close();
  }

  // Every container's image (in parallel; concurrent pulls of one image share a download).
  async #ensureImages(): Promise<boolean> {
    const ctx = this.#ctx;
    let creds: Promise<RegistryCredential[]> | undefined;
    const credentials = () => {
      creds ??= pullCredentials(ctx.client, this.pod);
      return creds;
    };
    const ok = await Promise.all(this.#all.map((c) => this.#ensureImage(c, credentials)));
    return ok.every(Boolean);
  }

  // One container's image; false (and the container waiting with the pull error) when missing.
  async #ensureImage(
    c: ContainerRunner,
    credentials: () => Promise<RegistryCredential[]> = () =>
      pullCredentials(this.#ctx.client, this.pod),
  ): Promise<boolean> {
    try {
      c.image = await this.#ctx.images.ensure({
        container: c.spec,
        credentials,
        event: (e) => this.#event(e.type, e.reason, e.message),
      });
      c.view.imageID = c.image.imageID;
      return true;
    } catch (err) {
      const reason = err instanceof ImageError ? err.reason : 'ErrImagePull';
      c.view.state = { waiting: { reason, message: errorMessage(err) } };
      this.#event('Warning', 'Failed', `Error: ${reason}`);
      return false;
    }
  }

  // The kubelet's image back-off: ImagePullBackOff at once, the next attempt after 10 s,
  // doubling up to 5 min.
  #scheduleImageRetry(): void {
    this.#imageBackOffMs = Math.min(
      (this.#imageBackOffMs || backOff.initialMs / 2) * 2,
      backOff.maxMs,
    );
    const ms = this.#imageBackOffMs;
    for (const c of this.#all) {
      const w = c.view.state.waiting;
      if (w?.reason !== 'ErrImagePull') continue;
      c.view.state = {
        waiting: {
          reason: 'ImagePullBackOff',
          message: `Back-off pulling image "${c.spec.image}": ${w.message}`,
        },
      };
      this.#event('Normal', 'BackOff', `Back-off pulling image "${c.spec.image}"`);
    }
    // After the ErrImagePull write (the status writer coalesces per microtask).
    this.#ctx.clock.setTimeout(() => this.#status.queue(), 1000);
    this.#ctx.clock.setTimeout(() => {
      if (!this.#isStopping) void this.start();
    }, ms);
  }

  /** The status this worker would report now. */
  currentStatus(): PodStatus {
    const plan = this.#computePlan();
    return computePodStatus({
      pod: this.pod,
      init: this.#init.map((c) => c.view),
      containers: this.#containers.map((c) => c.view),
      ephemeral: this.#ephemeral.runners.map((c) => c.view),
      initDone: plan.isInitialized,
      podIP: this.podIP,
      hostIP: this.#ctx.hostIP,
      startTime: this.#startTime ?? rfc3339(this.#ctx.clock.now()),
      now: rfc3339(this.#ctx.clock.now()),
      terminalPhase: plan.hasInitFailed ? 'Failed' : undefined,
      message: this.#message,
      allocated: (name) => this.#allocatedOf(name),
      resizePending: this.#resizePending,
    });
  }
}
