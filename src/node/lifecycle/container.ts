// One container of a pod (kuberuntime_container.go startContainer/killContainer + the restart
// decision of computePodActions): start through the shim, probes, exit handling with
// CrashLoopBackOff, graceful kill with preStop.
import type { Container, LifecycleHandler, Pod } from 'kubernetes-types/core/v1.js';
import type { ResolvedImage } from '../../images/catalog.js';
import type { Timer } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { NodeContext } from '../pod-context.js';
import { containerEnv, expandVars, ObjectCache } from '../pod-spec.js';
import { ContainerProber, type ProbeTarget, tcpProbe } from '../probes.js';
import type { ShimContainer } from '../runtime/shim-client.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { ContainerView } from '../status.js';
import { ContainerBackOff } from './backoff.js';
import { runLifecycleHandler } from './hooks.js';

// Upstream waits for a postStart hook without limit; a bound keeps a hung hook from wedging the
// container forever (it then fails like any other hook error and the container restarts).
const hookTimeoutMs = 120_000;

/** What a container needs from its pod worker. */
export interface ContainerHost {
  readonly ctx: NodeContext;
  readonly pod: Pod;
  readonly uid: string;
  readonly podIP: string | undefined;
  readonly sandbox: Sandbox | undefined;
  /** True once the pod is terminating or its worker stopped: no more starts or restarts. */
  readonly isStopping: boolean;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
  queueStatus(): void;
  /** Start-up profile record. */
  mark(step: string): void;
  /** Restart profile: the clock of the marks starts over. */
  markRestart(): void;
  execCapture(
    name: string,
    argv: string[],
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string }>;
  /** An init container succeeded: start the next one or the app containers. */
  initSucceeded(): void;
  /** An init container failed for good: the pod is Failed. */
  podFailed(): void;
  /** Termination grace period in milliseconds. */
  grace(): number;
}

/** RFC 3339 at second precision, as the API shows container times. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const trimNanos = (t: string) => t.replace(/\.\d+Z$/, 'Z');

/** Runs one container of a pod and keeps its status view. */
export class ContainerRunner {
  readonly spec: Container;
  readonly isInit: boolean;
  image?: ResolvedImage;
  view: ContainerView;
  attempt = 0;
  current?: ShimContainer;
  env?: Record<string, string>;
  #host: ContainerHost;
  #backOff = new ContainerBackOff();
  #restartTimer?: Timer;
  #prober?: ContainerProber;
  #isKilling = false;
  #exitWaiters: Array<() => void> = [];

  constructor(opts: { host: ContainerHost; spec: Container; isInit: boolean }) {
    this.#host = opts.host;
    this.spec = opts.spec;
    this.isInit = opts.isInit;
    this.view = {
      name: opts.spec.name,
      image: opts.spec.image ?? '',
      imageID: '',
      restartCount: 0,
      state: { waiting: { reason: opts.isInit ? 'PodInitializing' : 'ContainerCreating' } },
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

  /** Takes over a container the shim already runs (adoption after a Skiff restart). */
  adopt(s: ShimContainer): void {
    this.attempt = s.attempt;
    this.current = s;
    this.view.containerID = this.containerID;
    if (s.exit) this.onExit(s);
    else {
      this.view.state = { running: { startedAt: trimNanos(s.startedAt) } };
      this.#startProbes();
    }
  }

  /** Starts the current attempt in the sandbox. */
  async start(): Promise<void> {
    const host = this.#host;
    const { ctx } = host;
    const sb = host.sandbox;
    if (!sb || !this.image || host.isStopping) return;
    const img = this.image;
    const spec = this.spec;
    const cwd = spec.workingDir ?? (ctx.isolated ? img.workingDir : (img.rootDir ?? process.cwd()));
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
      const attempt = this.attempt;
      const res = await sb.client.start({
        name: spec.name,
        attempt,
        argv,
        env,
        cwd,
        uid: sc.runAsUser ?? undefined,
        gid: sc.runAsGroup ?? undefined,
        cgroupProcs: ctx.cgroups?.procsFiles(host.uid, spec.name) ?? [],
        logFile: `${spec.name}/${this.attempt}.log`,
      });
      // A fast-failing process can exit, and onExit record it (and even start the next attempt),
      // before the shim's start reply is processed here: never overwrite that newer state.
      const overtaken =
        this.attempt !== attempt || (this.current?.attempt === attempt && !!this.current.exit);
      if (!overtaken) this.current = res;
      host.mark(`started ${spec.name}`);
      if (!overtaken) this.view.containerID = this.containerID;
      if (attempt === 0 || this.view.restartCount === 0) {
        host.event(
          'Normal',
          'Pulled',
          `Container image "${spec.image}" already present on machine`,
        );
      }
      host.event('Normal', 'Created', `Created container ${spec.name}`);
      host.event('Normal', 'Started', `Started container ${spec.name}`);
      if (!res.exit && !overtaken) {
        const startedAt = rfc3339(ctx.clock.now());
        // As upstream, the container is not Running (nor probed) until postStart completes.
        if (spec.lifecycle?.postStart && !(await this.#postStart(spec.lifecycle.postStart))) return;
        if (this.attempt !== attempt || !this.isRunning) return;
        this.view.state = { running: { startedAt } };
        this.#startProbes();
      }
      host.queueStatus();
    } catch (err) {
      this.view.state = {
        waiting: { reason: 'CreateContainerConfigError', message: errorMessage(err) },
      };
      host.event('Warning', 'Failed', `Error: ${errorMessage(err)}`);
      host.queueStatus();
      this.#restartTimer = ctx.clock.setTimeout(() => void this.start(), 10_000);
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
    host.event('Warning', 'FailedPostStartHook', failure);
    await this.kill(host.grace());
    return false;
  }

  #hookTarget(): ProbeTarget {
    return {
      host: this.#host.podIP ?? '127.0.0.1',
      container: this.spec,
      exec: (argv, timeoutMs) => this.#host.execCapture(this.spec.name, argv, timeoutMs),
    };
  }

  /** The pod as the kubelet names it in messages: name_namespace(uid). */
  get #podID(): string {
    const m = this.#host.pod.metadata;
    return `${m?.name}_${m?.namespace}(${this.#host.uid})`;
  }

  #startProbes(): void {
    if (this.isInit) return;
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
            host.event('Warning', 'Unhealthy', `Readiness probe failed: ${message}`);
        } else if (!ok) {
          host.event('Warning', 'Unhealthy', `Liveness probe failed: ${message}`);
          host.event(
            'Normal',
            'Killing',
            `Container ${this.spec.name} failed liveness probe, will be restarted`,
          );
          void this.kill(host.grace());
        }
        host.queueStatus();
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
    this.#host.mark(`ready ${this.spec.name}`);
    this.view.ready = true;
    this.#host.queueStatus();
  }

  /** The shim reported the exit of an attempt: record it and restart per policy and back-off. */
  onExit(s: ShimContainer): void {
    const host = this.#host;
    const { ctx } = host;
    if (!s.exit || s.attempt !== this.attempt) return;
    this.current = s;
    for (const w of this.#exitWaiters.splice(0)) w();
    host.markRestart();
    this.#prober?.stop();
    this.#prober = undefined;
    this.view.ready = false;
    this.view.started = false;
    const oom =
      (ctx.cgroups?.usage(host.uid, this.spec.name)?.oomKills ?? 0) > 0 && s.exit.signal === 9;
    const exitCode = s.exit.exitCode;
    const terminated = {
      exitCode,
      reason: oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
      startedAt: trimNanos(s.startedAt),
      finishedAt: trimNanos(s.exit.finishedAt),
      containerID: this.view.containerID,
      ...(s.exit.signal ? { signal: s.exit.signal } : {}),
    };
    this.view.state = { terminated };
    if (host.isStopping) {
      host.queueStatus();
      return;
    }
    const policy = host.pod.spec?.restartPolicy ?? 'Always';
    const restart = this.isInit
      ? exitCode !== 0 && policy !== 'Never'
      : policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    if (this.isInit && exitCode === 0) {
      host.queueStatus();
      host.initSucceeded();
      return;
    }
    if (!restart) {
      if (this.isInit) host.podFailed();
      host.queueStatus();
      return;
    }
    const delay = this.#backOff.next(Date.parse(s.exit.finishedAt) - Date.parse(s.startedAt));
    this.view.lastState = { terminated };
    if (delay > 0) {
      const id = this.#podID;
      this.view.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${delay / 1000}s restarting failed container=${this.spec.name} pod=${id}`,
        },
      };
      host.event(
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${this.spec.name} in pod ${id}`,
      );
    }
    host.queueStatus();
    this.#restartTimer?.cancel();
    const restartNow = () => {
      this.attempt++;
      this.view.restartCount++;
      void this.start();
    };
    // The first restart is immediate: no timer turn between the exit and the new process.
    if (delay === 0) restartNow();
    else this.#restartTimer = ctx.clock.setTimeout(restartNow, delay);
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
        if (failure !== undefined) host.event('Warning', 'FailedPreStopHook', failure);
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
