// One worker per pod bound to this node (pkg/kubelet/pod_workers.go + kuberuntime_manager.go
// SyncPod): sandbox, init containers in order, containers, status, graceful termination. The
// per-container lifecycle is lifecycle/container.ts; the mounts are lifecycle/pod-setup.ts.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Container, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { R } from '../client/resources.js';
import type { KObject } from '../client/rest.js';
import { type ResolvedImage, resolveImage } from '../images/catalog.js';
import { errorMessage } from '../lib/errors.js';
import { backOff } from './lifecycle/backoff.js';
import { type ContainerHost, ContainerRunner, rfc3339 } from './lifecycle/container.js';
import { podMounts } from './lifecycle/pod-setup.js';
import { StatusWriter } from './lifecycle/status-writer.js';
import type { NodeContext } from './pod-context.js';
import { cgroupResources } from './pod-spec.js';
import type { ShimContainer } from './runtime/shim-client.js';
import { attachSandbox, type Sandbox } from './sandbox/sandbox.js';
import { computePodStatus } from './status.js';

export type { NodeContext } from './pod-context.js';

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
  #initDone = false;
  #startTime?: string;
  #status: StatusWriter;
  #terminating?: Promise<void>;
  #stopped = false;
  #terminal?: 'Succeeded' | 'Failed';
  #reason?: string;
  #message?: string;
  #t0 = 0;
  #phase: 'start' | 'restart' = 'start';

  constructor(opts: { ctx: NodeContext; pod: Pod }) {
    this.#ctx = opts.ctx;
    this.pod = opts.pod;
    this.uid = opts.pod.metadata?.uid ?? '';
    const m = opts.pod.metadata;
    this.podDir = path.join(opts.ctx.podsDir, `${m?.namespace}_${m?.name}_${this.uid}`);
    const host = this.#host();
    const mk = (spec: Container, isInit: boolean) => new ContainerRunner({ host, spec, isInit });
    this.#init = (opts.pod.spec?.initContainers ?? []).map((c) => mk(c, true));
    this.#containers = (opts.pod.spec?.containers ?? []).map((c) => mk(c, false));
    if (!this.#init.length) this.#initDone = true;
    this.#status = new StatusWriter({
      ctx: opts.ctx,
      compute: () => this.currentStatus(),
      target: () => this.pod,
      written: (updated, ready) => {
        this.#mark(`status written Ready=${ready}`);
        if (ready === 'True') opts.ctx.shims.fill();
        if (updated.metadata?.uid === this.uid) this.pod = { ...this.pod, status: updated.status };
      },
    });
  }

  // The worker as its containers see it (keeps the worker's own state private).
  #host(): ContainerHost {
    const w = this;
    return {
      ctx: this.#ctx,
      get pod() {
        return w.pod;
      },
      uid: this.uid,
      get podIP() {
        return w.podIP;
      },
      get sandbox() {
        return w.sandbox;
      },
      get isStopping() {
        return w.#stopped || w.#terminating !== undefined;
      },
      event: (type, reason, message) => this.#event(type, reason, message),
      queueStatus: () => this.#status.queue(),
      mark: (step) => this.#mark(step),
      markRestart: () => {
        this.#phase = 'restart';
        this.#t0 = performance.now();
      },
      execCapture: (name, argv, timeoutMs) => this.execCapture(name, argv, timeoutMs),
      initSucceeded: () => void this.#runInit(),
      podFailed: () => {
        this.#terminal = 'Failed';
      },
      grace: () => this.#grace(),
    };
  }

  get #all(): ContainerRunner[] {
    return [...this.#init, ...this.#containers];
  }

  #find(name: string): ContainerRunner | undefined {
    return [...this.#containers, ...this.#init].find((x) => x.spec.name === name);
  }

  #event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#ctx.events.event(this.pod as KObject, type, reason, message);
  }

  get #key(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** Container state by name (for the kubelet server). */
  container(
    name: string,
  ):
    | { spec: Container; attempt: number; env?: Record<string, string>; image?: ResolvedImage }
    | undefined {
    const c = this.#find(name);
    return c && { spec: c.spec, attempt: c.attempt, env: c.env, image: c.image };
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

  // Start-up profile: one debug record per step with the milliseconds since the worker started.
  #mark(step: string): void {
    this.#ctx.log.debug('pod start step', {
      key: this.#key,
      step: `${this.#phase}: ${step}`,
      ms: Math.round((performance.now() - this.#t0) * 10) / 10,
    });
  }

  async #start(): Promise<void> {
    const ctx = this.#ctx;
    const pod = this.pod;
    this.#t0 = performance.now();
    // Images first: an unknown image keeps the pod Pending with ErrImagePull.
    let missing = false;
    for (const c of this.#all) {
      try {
        c.image = resolveImage(c.spec.image ?? '', { local: ctx.images });
        c.view.imageID = c.image.imageID;
      } catch (err) {
        missing = true;
        c.view.state = { waiting: { reason: 'ErrImagePull', message: errorMessage(err) } };
        this.#event(
          'Warning',
          'Failed',
          `Failed to pull image "${c.spec.image}": ${errorMessage(err)}`,
        );
        this.#event('Warning', 'Failed', 'Error: ErrImagePull');
      }
    }
    if (missing) {
      this.#status.queue();
      this.#scheduleImageRetry(10_000);
      return;
    }
    this.#mark('images');
    const hostNetwork = pod.spec?.hostNetwork === true;
    mkdirSync(this.podDir, { recursive: true });
    this.#startTime = pod.status?.startTime ?? rfc3339(ctx.clock.now());
    const adopted = await attachSandbox(this.podDir);
    if (adopted) {
      const net = hostNetwork ? { ip: ctx.hostIP } : await ctx.network.setup(this.uid);
      this.podIP = net.ip;
      this.sandbox = adopted;
      await this.#adopt();
      return;
    }
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
              this.#mark('network');
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
      this.#mark('network+volumes');
      // The shim builds the sandbox while the cgroups are made and the token arrives.
      const made = pending.configure({
        podDir: this.podDir,
        hostname: pod.metadata?.name ?? '',
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
          ctx.cgroups?.create(this.uid, c.spec.name, cgroupResources(c.spec));
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
    this.#mark('sandbox');
    this.#watchSandbox();
    // ContainerCreating (with the pod IP) is written once the first start request is on its way:
    // the API write then overlaps the app's start instead of delaying it.
    ctx.clock.setTimeout(() => this.#status.queue(), 0);
    if (this.#init.length) await this.#runInit();
    else for (const c of this.#containers) await c.start();
  }

  #watchSandbox(): void {
    const sb = this.sandbox;
    if (!sb) return;
    sb.client.onExit((s: ShimContainer) => this.#find(s.name)?.onExit(s));
    sb.client.onClose(() => {
      if (this.#stopped || this.#terminating) return;
      this.#ctx.log.warn('pod shim went away', { key: this.#key });
    });
  }

  async #adopt(): Promise<void> {
    const sb = this.sandbox;
    if (!sb) return;
    this.#watchSandbox();
    const state = await sb.client.state();
    const prevStatuses = [
      ...(this.pod.status?.initContainerStatuses ?? []),
      ...(this.pod.status?.containerStatuses ?? []),
    ];
    this.#initDone = true;
    for (const c of this.#all) {
      const prev = prevStatuses.find((s) => s.name === c.spec.name);
      if (prev) {
        c.view.restartCount = prev.restartCount;
        c.view.lastState = prev.lastState ?? {};
      }
      const s = state[c.spec.name];
      if (!s) {
        if (!c.isInit) await c.start();
        continue;
      }
      c.adopt(s);
    }
    this.#status.queue();
  }

  async #runInit(): Promise<void> {
    const next = this.#init.find((c) => !(c.view.state.terminated?.exitCode === 0));
    if (!next) {
      this.#initDone = true;
      this.#status.queue();
      for (const c of this.#containers) await c.start();
      return;
    }
    await next.start();
  }

  #grace(): number {
    const p = this.pod;
    return (
      (p.metadata?.deletionGracePeriodSeconds ?? p.spec?.terminationGracePeriodSeconds ?? 30) * 1000
    );
  }

  /** Runs a command inside a container and collects its output (probes, hooks). */
  execCapture(
    name: string,
    argv: string[],
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string }> {
    const sb = this.sandbox;
    const c = this.container(name);
    if (!sb || !c) return Promise.reject(new Error(`container ${name} not found`));
    const spawnOpts = {
      argv,
      env: c.env ?? {},
      cwd: c.spec.workingDir ?? c.image?.workingDir ?? '/',
      cgroupProcs: this.#ctx.cgroups?.procsFiles(this.uid, name) ?? [],
    };
    return sb.capture(spawnOpts, this.#ctx.clock, timeoutMs);
  }

  /** A newer version of the pod object arrived from the API. */
  update(pod: Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.#terminating) this.#terminating = this.terminate();
  }

  /** Graceful termination: preStop, SIGTERM, grace period, SIGKILL; then the pod object is removed. */
  async terminate(): Promise<void> {
    const ctx = this.#ctx;
    const grace = this.#grace();
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

  /** Stops everything and removes the sandbox, network, cgroups and files (pod gone). */
  async destroy(): Promise<void> {
    this.#stopped = true;
    this.#status.stop();
    for (const c of this.#all) c.quiesce();
    const sb = this.sandbox ?? (await attachSandbox(this.podDir));
    await sb?.stop(this.#ctx.clock);
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
    this.#status.stop();
    for (const c of this.#all) c.quiesce();
    this.sandbox?.client.close();
  }

  #scheduleImageRetry(ms: number): void {
    this.#ctx.clock.setTimeout(() => {
      if (this.#stopped || this.#terminating) return;
      for (const c of this.#all) {
        if (c.view.state.waiting?.reason === 'ErrImagePull')
          c.view.state = {
            waiting: {
              ...c.view.state.waiting,
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${c.spec.image}": ${c.view.state.waiting.message}`,
            },
          };
      }
      this.#status.queue();
      this.#event(
        'Normal',
        'BackOff',
        `Back-off pulling image "${this.#containers[0]?.spec.image}"`,
      );
      try {
        for (const c of this.#all) resolveImage(c.spec.image ?? '', { local: this.#ctx.images });
        void this.start();
      } catch {
        this.#scheduleImageRetry(Math.min(ms * 2, backOff.maxMs));
      }
    }, ms);
  }

  /** The status this worker would report now. */
  currentStatus(): PodStatus {
    return computePodStatus({
      pod: this.pod,
      init: this.#init.map((c) => c.view),
      containers: this.#containers.map((c) => c.view),
      initDone: this.#initDone,
      podIP: this.podIP,
      hostIP: this.#ctx.hostIP,
      startTime: this.#startTime ?? rfc3339(this.#ctx.clock.now()),
      now: rfc3339(this.#ctx.clock.now()),
      terminalPhase: this.#terminal,
      message: this.#message,
      reason: this.#reason,
    });
  }
}
