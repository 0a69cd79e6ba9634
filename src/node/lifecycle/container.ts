// One container of a pod (kuberuntime_container.go startContainer/killContainer): start through the
// shim with CrashLoopBackOff between attempts, probes, exit recording, graceful kill with preStop.
// Whether it starts, restarts or is killed is the pod's plan (plan.ts), not the container's.

import path from 'node:path';
import type {
  Container,
  ContainerState,
  ContainerStatus,
  LifecycleHandler,
  Pod,
} from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../../api/time.js';
import type { KObject } from '../../client/rest.js';
import type { ResolvedImage } from '../../images/catalog.js';
import type { Timer } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import { containerEnv, expandVars, ObjectCache } from '../container-env.js';
import { containerUser, formatPod, verifyRunAsNonRoot } from '../image-user.js';
import type { NodeContext } from '../pod-context.js';
import type { ContainerView } from '../pod-status.js';
import { ContainerProber, type ProbeTarget, tcpProbe } from '../probes.js';
import type { ShimContainer } from '../runtime/shim-client.js';
import type { ShimExec, ShimExecOutput, ShimExecRequest } from '../runtime/shim-exec.js';
import { type ContainerRootfs, prepareRootfs, readImageFile } from '../sandbox/rootfs.js';
import type { Sandbox, SandboxMount } from '../sandbox/sandbox.js';
import { ContainerBackOff } from './backoff.js';
import { runLifecycleHandler } from './hooks.js';
import type { ObservedContainer } from './plan.js';
import type { StartProfile } from './profile.js';

// Upstream waits for a postStart hook without limit; a bound keeps a hung hook from wedging the
// container forever (it then fails like any other hook error and the container restarts).
const hookTimeoutMs = 120_000;

/** The pod a container belongs to, as its worker sees it now: data, and one notification. */
export interface PodHandle {
  readonly ctx: NodeContext;
  readonly uid: string;
  readonly pod: Pod;
  readonly podDir: string;
  readonly podIP: string | undefined;
  /** What each container with an image root mounts in it (pod-setup.ts podMounts). */
  readonly containerMounts: ReadonlyMap<string, SandboxMount[]>;
  readonly sandbox: Sandbox | undefined;
  /** True once the pod is terminating or its worker stopped: no more starts or restarts. */
  readonly isStopping: boolean;
  /** The pod's start-up profile. */
  readonly profile: StartProfile;
  /** The container's state changed: the worker writes the status and plans again. */
  changed(): void;
}

/** Termination grace period of a pod in milliseconds (deletion's, else the spec's, else 30 s). */
export function gracePeriodMs(pod: Pod): number {
  const s = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds;
  return (s ?? 30) * 1000;
}

/** Records an event about the pod, as the kubelet does. */
export function podEvent(
  host: PodHandle,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): void {
  host.ctx.events.event(host.pod as KObject, type, reason, message);
}

/** A container attempt's stdin FIFO, relative to the pod directory (beside its log). */
const stdinFile = (name: string, attempt: number) => `${name}/${attempt}.stdin`;

const trimNanos = (t: string) => t.replace(/\.\d+Z$/, 'Z');

/** Runs one container of a pod and keeps its status view. */
export class ContainerRunner {
  readonly spec: Container;
  readonly isInit: boolean;
  /** A debug container (kubectl debug): no probes, never restarted (the plan's rule). */
  readonly isEphemeral: boolean;
  image?: ResolvedImage;
  view: ContainerView;
  attempt = 0;
  current?: ShimContainer;
  env?: Record<string, string>;
  #host: PodHandle;
  #backOff = new ContainerBackOff();
  #restartTimer?: Timer;
  #prober?: ContainerProber;
  #isKilling = false;
  // A start is in flight, or a restart (or a retry after a config error) waits on a timer.
  #isBusy = false;
  // A liveness probe failed: the plan kills this attempt.
  #isUnhealthy = false;
  // An init container that finished before an adoption (the shim no longer knows it).
  #isCompleted = false;
  #lastRunMs = 0;
  // Who the current attempt runs as (exec runs as the same user).
  #user: { uid?: number; gid?: number } = {};
  #exitWaiters: Array<() => void> = [];

  constructor(opts: { host: PodHandle; spec: Container; isInit: boolean; isEphemeral?: boolean }) {
    this.#host = opts.host;
    this.spec = opts.spec;
    this.isInit = opts.isInit;
    this.isEphemeral = opts.isEphemeral === true;
    const hasInit =
      !this.isEphemeral && (opts.isInit || (opts.host.pod.spec?.initContainers?.length ?? 0) > 0);
    this.view = {
      name: opts.spec.name,
      image: opts.spec.image ?? '',
      imageID: '',
      restartCount: 0,
      // Upstream shows PodInitializing for every container while init containers remain.
      state: { waiting: { reason: hasInit ? 'PodInitializing' : 'ContainerCreating' } },
      lastState: {},
      ready: false,
      started: false,
    };
  }

  /** The runtime's container id of the current attempt. */
  get containerID(): string {
    return `skiff://${this.#host.uid.slice(0, 8)}-${this.spec.name}-${this.attempt}`;
  }

  /** True while the current attempt's process runs. */
  get isRunning(): boolean {
    return this.current !== undefined && !this.current.exit;
  }

  /** Stops timers and probes (termination, detach). */
  quiesce(): void {
    this.#restartTimer?.cancel();
    this.#prober?.stop();
    this.#prober = undefined;
  }

  /** What the pod's plan needs to know about this container. */
  observe(): ObservedContainer {
    const name = this.spec.name;
    if (this.#isBusy) return { name, state: 'busy' };
    if (this.#isCompleted) return { name, state: 'exited', exitCode: 0 };
    if (!this.current) return { name, state: 'never' };
    if (!this.current.exit) return { name, state: 'running', isUnhealthy: this.#isUnhealthy };
    return { name, state: 'exited', exitCode: this.current.exit.exitCode };
  }

  /** An ephemeral container that ran in an earlier sandbox: it keeps that end, never runs again. */
  ranBefore(state: ContainerState): void {
    this.#isCompleted = true;
    this.view.state = state;
  }

  /**
   * Takes over what a previous run left (adoption after a Skiff restart): the shim's record of the
   * container, and the restart count and last state the API has.
   */
  adopt(s: ShimContainer | undefined, prev: ContainerStatus | undefined): void {
    if (prev) {
      this.view.restartCount = prev.restartCount;
      this.view.lastState = prev.lastState ?? {};
    }
    if (!s) {
      // A debug container the shim no longer knows but the API saw start: it ran, and is done.
      if (this.isEphemeral && prev?.containerID) {
        const end = prev.state?.terminated ?? { exitCode: 255, reason: 'Unknown' };
        this.ranBefore({ terminated: end });
        return;
      }
      // An init container the shim does not know ran before the shim's last restart of state.
      if (this.isInit) {
        this.#isCompleted = true;
        this.view.state = prev?.state?.terminated
          ? prev.state
          : { terminated: { exitCode: 0, reason: 'Completed' } };
      }
      return;
    }
    this.attempt = s.attempt;
    this.current = s;
    this.view.containerID = this.containerID;
    // Exec runs as the container's user: the same lookup its start made.
    const layers = this.image?.layers;
    if (this.image && layers) {
      try {
        this.#user = this.#imageUser(this.image, layers);
      } catch {
        // The attempt started with this image, so its user resolved then; nothing to redo.
      }
    }
    if (s.exit) this.onExit(s);
    else {
      this.view.state = { running: { startedAt: trimNanos(s.startedAt) } };
      this.#startProbes();
    }
  }

  /**
   * Starts the container (the plan's containersToStart): its first attempt at once, a later one
   * after the CrashLoopBackOff delay; the first restart is immediate, with no timer turn between
   * the exit and the new process.
   */
  start(): void {
    const host = this.#host;
    if (this.#isBusy || !host.sandbox || !this.image || host.isStopping) return;
    const last = this.view.state.terminated;
    if (!this.current?.exit || !last) {
      void this.#run();
      return;
    }
    const delay = this.#backOff.next(this.#lastRunMs);
    this.view.lastState = { terminated: last };
    if (delay > 0) {
      const id = this.#podID;
      this.view.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${delay / 1000}s restarting failed container=${this.spec.name} pod=${id}`,
        },
      };
      podEvent(
        host,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${this.spec.name} in pod ${id}`,
      );
    }
    const restartNow = () => {
      this.attempt++;
      this.view.restartCount++;
      void this.#run();
    };
    this.#restartTimer?.cancel();
    if (delay === 0) restartNow();
    else {
      this.#isBusy = true;
      this.#restartTimer = host.ctx.clock.setTimeout(restartNow, delay);
      host.changed();
    }
  }

  /**
   * False while a command cannot run in this container: an image container's root exists only
   * while its process runs (a container of the pod's root takes commands even between attempts).
   */
  get canExec(): boolean {
    return !this.image?.layers || this.isRunning;
  }

  /**
   * Starts a command in this container (kubectl exec): the shim runs it with the env, cwd, user
   * and root it recorded at the container's start, so an adopted container's are right too.
   */
  startExec(req: Omit<ShimExecRequest, 'name'>, out: ShimExecOutput): ShimExec {
    const sb = this.#host.sandbox;
    if (!sb) throw new Error(`container ${this.spec.name} not found`);
    return sb.client.exec({ name: this.spec.name, ...req }, out);
  }

  /** Runs a command inside this container and collects its output (probes, hooks). */
  exec(argv: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
    const host = this.#host;
    const sb = host.sandbox;
    if (!sb) return Promise.reject(new Error(`container ${this.spec.name} not found`));
    if (!this.canExec)
      return Promise.reject(new Error(`container ${this.spec.name} is not running`));
    return sb.capture({ name: this.spec.name, argv }, host.ctx.clock, timeoutMs);
  }

  /** The host path of the current attempt's stdin FIFO (spec.stdin), for attach. */
  stdinPath(): string | undefined {
    if (!this.spec.stdin || !this.current || this.current.exit) return undefined;
    return path.join(this.#host.podDir, stdinFile(this.spec.name, this.current.attempt));
  }

  /** Ends the container's stdin once attached writers leave (stdinOnce after the first attach). */
  async closeStdin(): Promise<void> {
    await this.#host.sandbox?.client.closeStdin(this.spec.name);
  }

  /** Sets the terminal size of a TTY container (attach's resize stream). */
  async resize(width: number, height: number): Promise<void> {
    if (this.spec.tty) await this.#host.sandbox?.client.resize(this.spec.name, width, height);
  }

  // The working directory: the container's, else the image's (reduced mode: the image folder).
  #cwd(): string {
    const img = this.image;
    if (this.spec.workingDir) return this.spec.workingDir;
    if (!this.#host.ctx.isolated) return img?.rootDir ?? process.cwd();
    return img?.workingDir || '/';
  }

  // The root and user of an attempt of an image with layers: fresh directories, the image's
  // User resolved in its own /etc/passwd, runAsNonRoot checked (throws the kubelet's message).
  #imageRoot(img: ResolvedImage, layers: string[]): ContainerRootfs {
    const host = this.#host;
    if (!host.ctx.isolated)
      throw new Error(`image "${this.spec.image}" needs namespaces: run Skiff as root`);
    verifyRunAsNonRoot(host.pod, this.spec, img.user);
    this.#user = this.#imageUser(img, layers);
    return prepareRootfs({
      podDir: host.podDir,
      container: this.spec.name,
      attempt: this.attempt,
      layers,
      mode: host.ctx.rootfsMode,
      mounts: host.containerMounts.get(this.spec.name) ?? [],
    });
  }

  // The uid/gid of an image container: its User in its own /etc/passwd, runAs* on top.
  #imageUser(img: ResolvedImage, layers: string[]): { uid: number; gid: number } {
    return containerUser({
      pod: this.#host.pod,
      container: this.spec,
      imageUser: img.user,
      etc: {
        passwd: readImageFile(layers, 'etc/passwd'),
        group: readImageFile(layers, 'etc/group'),
      },
    });
  }

  // One attempt: environment, the shim's start, events, postStart, then Running and probes.
  async #run(): Promise<void> {
    const host = this.#host;
    const { ctx } = host;
    const sb = host.sandbox;
    if (!sb || !this.image || host.isStopping) return;
    this.#isBusy = true;
    let isRetrying = false;
    const img = this.image;
    const spec = this.spec;
    const cwd = this.#cwd();
    const extra: Record<string, string> = {};
    if (!ctx.isolated) {
      extra['POD_IP'] = host.podIP ?? '';
      extra['SKIFF_REDUCED_MODE'] = '1';
      const port = spec.ports?.[0]?.containerPort ?? img.ports[0];
      if (port) extra['PORT'] = String(port);
    }
    try {
      const env = await containerEnv({
        pod: host.pod,
        container: spec,
        imageEnv: img.env,
        podIP: host.podIP ?? '',
        services: ctx.services(),
        objects: new ObjectCache({ client: ctx.client }),
        node: ctx.nodeCapacity,
        extra,
      });
      this.env = env;
      const command = spec.command?.length ? spec.command : img.command;
      const args = spec.command?.length
        ? (spec.args ?? [])
        : spec.args?.length
          ? spec.args
          : img.args;
      const argv = [...command, ...args].map((a) => expandVars(a, env));
      const sc = { ...host.pod.spec?.securityContext, ...spec.securityContext };
      this.#user = { uid: sc.runAsUser ?? undefined, gid: sc.runAsGroup ?? undefined };
      const rootfs = img.layers ? this.#imageRoot(img, img.layers) : undefined;
      const attempt = this.attempt;
      const res = await sb.client.start({
        name: spec.name,
        attempt,
        argv,
        env,
        cwd,
        ...this.#user,
        rootfs,
        cgroupProcs: ctx.cgroups?.procsFiles(host.uid, spec.name) ?? [],
        logFile: `${spec.name}/${this.attempt}.log`,
        ...(spec.stdin ? { stdinFile: stdinFile(spec.name, attempt) } : {}),
        ...(spec.tty ? { tty: true } : {}),
      });
      // A fast-failing process can exit, and onExit record it (and even start the next attempt),
      // before the shim's start reply is processed here: never overwrite that newer state.
      const overtaken =
        this.attempt !== attempt || (this.current?.attempt === attempt && !!this.current.exit);
      if (!overtaken) this.current = res;
      host.profile.mark(`started ${spec.name}`);
      if (!overtaken) this.view.containerID = this.containerID;
      // The first attempt's image events came from the pod's image step (lifecycle/image-pull.ts).
      if (attempt > 0) {
        podEvent(
          host,
          'Normal',
          'Pulled',
          `Container image "${spec.image}" already present on machine`,
        );
      }
      podEvent(host, 'Normal', 'Created', `Created container ${spec.name}`);
      podEvent(host, 'Normal', 'Started', `Started container ${spec.name}`);
      if (!res.exit && !overtaken) {
        const startedAt = rfc3339(ctx.clock.now());
        // As upstream, the container is not Running (nor probed) until postStart completes.
        if (spec.lifecycle?.postStart && !(await this.#postStart(spec.lifecycle.postStart))) return;
        if (this.attempt !== attempt || !this.isRunning) return;
        this.view.state = { running: { startedAt } };
        this.#startProbes();
      }
    } catch (err) {
      this.view.state = {
        waiting: { reason: 'CreateContainerConfigError', message: errorMessage(err) },
      };
      podEvent(host, 'Warning', 'Failed', `Error: ${errorMessage(err)}`);
      isRetrying = true;
      this.#restartTimer = ctx.clock.setTimeout(() => void this.#run(), 10_000);
    } finally {
      // Busy until here: an exit during the start (or postStart) is planned for only now.
      if (!isRetrying) this.#isBusy = false;
      host.changed();
    }
  }

  // Runs the postStart hook; on failure reports FailedPostStartHook and kills the attempt, whose
  // exit then restarts it per restartPolicy (false).
  async #postStart(handler: LifecycleHandler): Promise<boolean> {
    const host = this.#host;
    const failure = await runLifecycleHandler({
      handler,
      target: this.#hookTarget(),
      clock: host.ctx.clock,
      timeoutMs: hookTimeoutMs,
      podID: this.#podID,
    });
    if (failure === undefined) return true;
    podEvent(host, 'Warning', 'FailedPostStartHook', failure);
    await this.kill(gracePeriodMs(host.pod));
    return false;
  }

  #hookTarget(): ProbeTarget {
    return {
      host: this.#host.podIP ?? '127.0.0.1',
      container: this.spec,
      exec: (argv, timeoutMs) => this.exec(argv, timeoutMs),
    };
  }

  /** The pod as the kubelet names it in messages: name_namespace(uid). */
  get #podID(): string {
    return formatPod(this.#host.pod);
  }

  #startProbes(): void {
    // Ephemeral containers have no probes and, as upstream reports them, are never Ready.
    if (this.isInit || this.isEphemeral) return;
    const host = this.#host;
    this.#prober?.stop();
    const declaredPort = this.spec.ports?.[0]?.containerPort ?? this.image?.ports[0];
    const prober = new ContainerProber({
      clock: host.ctx.clock,
      target: this.#hookTarget(),
      onResult: (type, ok, message) => {
        if (this.#prober !== prober) return;
        if (type === 'startup') {
          this.view.started = ok;
          if (ok && !this.spec.readinessProbe) void this.#implicitReady(prober, declaredPort);
        } else if (type === 'readiness') {
          this.view.ready = ok;
          if (!ok && message)
            podEvent(host, 'Warning', 'Unhealthy', `Readiness probe failed: ${message}`);
        } else if (!ok) {
          podEvent(host, 'Warning', 'Unhealthy', `Liveness probe failed: ${message}`);
          podEvent(
            host,
            'Normal',
            'Killing',
            `Container ${this.spec.name} failed liveness probe, will be restarted`,
          );
          this.#isUnhealthy = true;
        }
        host.changed();
      },
    });
    this.#prober = prober;
    prober.start();
  }

  // Without a readiness probe upstream reports Ready at once; Skiff waits (≤5 s) until the image's
  // declared port accepts connections, so load balancers never see a pod that refuses traffic.
  async #implicitReady(prober: ContainerProber, port: number | undefined): Promise<void> {
    const { clock } = this.#host.ctx;
    const ip = this.#host.podIP;
    const deadline = clock.now() + 5000;
    while (port && ip && clock.now() < deadline && this.#prober === prober) {
      if ((await tcpProbe(ip, port, 200)).ok) break;
      await clock.sleep(5);
    }
    if (this.#prober !== prober || !this.view.state.running) return;
    this.#host.profile.mark(`ready ${this.spec.name}`);
    this.view.ready = true;
    this.#host.changed();
  }

  /** The shim reported the exit of an attempt: record it (the plan decides about a restart). */
  onExit(s: ShimContainer): void {
    const host = this.#host;
    const { ctx } = host;
    if (!s.exit || s.attempt !== this.attempt) return;
    this.current = s;
    for (const w of this.#exitWaiters.splice(0)) w();
    host.profile.restart();
    this.#prober?.stop();
    this.#prober = undefined;
    this.#isUnhealthy = false;
    this.view.ready = false;
    this.view.started = false;
    const oom =
      (ctx.cgroups?.usage(host.uid, this.spec.name)?.oomKills ?? 0) > 0 && s.exit.signal === 9;
    const exitCode = s.exit.exitCode;
    this.view.state = {
      terminated: {
        exitCode,
        reason: oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
        startedAt: trimNanos(s.startedAt),
        finishedAt: trimNanos(s.exit.finishedAt),
        containerID: this.view.containerID,
        ...(s.exit.signal ? { signal: s.exit.signal } : {}),
      },
    };
    this.#lastRunMs = Date.parse(s.exit.finishedAt) - Date.parse(s.startedAt);
    host.changed();
  }

  /** preStop, SIGTERM, then SIGKILL of the process group after graceMs. */
  async kill(graceMs: number): Promise<void> {
    const host = this.#host;
    const sb = host.sandbox;
    if (!sb || !this.current || this.current.exit || this.#isKilling) return;
    this.#isKilling = true;
    const { clock } = host.ctx;
    const attempt = this.attempt;
    const name = this.spec.name;
    // Wait for the shim's exit report, not a poll: the pod is gone the moment its process is.
    const exited = new Promise<void>((resolve) => this.#exitWaiters.push(resolve));
    try {
      const pre = this.spec.lifecycle?.preStop;
      if (pre) {
        // The hook shares the grace period with SIGTERM, as upstream.
        const failure = await runLifecycleHandler({
          handler: pre,
          target: this.#hookTarget(),
          clock,
          timeoutMs: graceMs,
          podID: this.#podID,
        }).catch((err: unknown) => errorMessage(err));
        if (failure !== undefined) podEvent(host, 'Warning', 'FailedPreStopHook', failure);
      }
      await sb.client.signal(name, 15).catch(() => undefined);
      let timer: Timer | undefined;
      await Promise.race([
        exited,
        new Promise<void>((resolve) => {
          timer = clock.setTimeout(resolve, graceMs);
        }),
      ]);
      timer?.cancel();
      if (this.attempt === attempt && !this.view.state.terminated)
        await sb.client.signal(name, 9, true).catch(() => undefined);
    } finally {
      this.#isKilling = false;
    }
  }
}
