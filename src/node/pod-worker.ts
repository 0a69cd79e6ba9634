// One worker per pod bound to this node (pkg/kubelet/pod_workers.go + kuberuntime_manager.go
// SyncPod): sandbox, init containers, containers, restarts with CrashLoopBackOff, probes, status,
// graceful termination.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Container, Pod, PodStatus, Service } from 'kubernetes-types/core/v1.js';
import type { EventRecorder } from '../client/events.js';
import { R } from '../client/resources.js';
import type { KObject, KubeClient } from '../client/rest.js';
import { type ImageSource, type ResolvedImage, resolveImage } from '../images/catalog.js';
import type { Clock, Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { CgroupManager } from './cgroups/cgroups.js';
import type { PodNetwork } from './network/pod-network.js';
import {
  cgroupResources,
  containerEnv,
  containerMounts,
  expandVars,
  ObjectCache,
  prepareVolumes,
  serviceAccountMountPath,
  writeEtcFiles,
} from './pod-spec.js';
import { ContainerProber, tcpProbe } from './probes.js';
import type { ShimContainer } from './runtime/shim-client.js';
import {
  attachSandbox,
  launchSandbox,
  type Sandbox,
  type ShimPool,
  type SandboxMount,
} from './sandbox/sandbox.js';
import { type ContainerView, computePodStatus } from './status.js';

/** Restart back-off (pkg/kubelet: containerBackOffPeriod 10 s, MaxContainerBackOff 300 s). */
export const backOff = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** What every worker shares. */
export interface NodeContext {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  events: EventRecorder;
  network: PodNetwork;
  cgroups?: CgroupManager;
  images?: ImageSource;
  /** Warm spare shims (none: each pod starts its own). */
  shims?: ShimPool;
  podsDir: string;
  nodeName: string;
  hostIP: string;
  clusterDNS: string;
  clusterDomain: string;
  isolated: boolean;
  caCert?: string;
  services: () => Service[];
  nodeCapacity: { cpu: number; memory: number };
}

interface CState {
  spec: Container;
  isInit: boolean;
  image?: ResolvedImage;
  view: ContainerView;
  attempt: number;
  current?: ShimContainer;
  backoffMs: number;
  restartTimer?: Timer;
  prober?: ContainerProber;
  isKilling: boolean;
  env?: Record<string, string>;
}

function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Runs and reports one pod. */
export class PodWorker {
  pod: Pod;
  readonly uid: string;
  readonly podDir: string;
  sandbox?: Sandbox;
  podIP?: string;
  #ctx: NodeContext;
  #init: CState[];
  #containers: CState[];
  #initDone = false;
  #startTime?: string;
  #lastWritten = '';
  #statusQueued = false;
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
    const mk = (spec: Container, isInit: boolean): CState => ({
      spec,
      isInit,
      attempt: 0,
      backoffMs: 0,
      isKilling: false,
      view: {
        name: spec.name,
        image: spec.image ?? '',
        imageID: '',
        restartCount: 0,
        state: { waiting: { reason: isInit ? 'PodInitializing' : 'ContainerCreating' } },
        lastState: {},
        ready: false,
        started: false,
      },
    });
    this.#init = (opts.pod.spec?.initContainers ?? []).map((c) => mk(c, true));
    this.#containers = (opts.pod.spec?.containers ?? []).map((c) => mk(c, false));
    if (!this.#init.length) this.#initDone = true;
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
    const c = [...this.#containers, ...this.#init].find((x) => x.spec.name === name);
    return c && { spec: c.spec, attempt: c.attempt, env: c.env, image: c.image };
  }

  /** Main process id of a running container (host PID in reduced mode). */
  containerPid(name: string): number | undefined {
    const c = [...this.#containers, ...this.#init].find((x) => x.spec.name === name);
    return c?.current && !c.current.exit ? c.current.pid : undefined;
  }

  /** Log file of a container attempt (relative attempts: 0 = current, -1 = previous). */
  logFile(name: string, previous: boolean): string | undefined {
    const c = [...this.#containers, ...this.#init].find((x) => x.spec.name === name);
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
      this.#queueStatus();
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
    for (const c of [...this.#init, ...this.#containers]) {
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
      this.#queueStatus();
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
    // The shim's start-up (a Python interpreter) overlaps the network and volume set-up; the pod
    // IP is allocated first because /etc/hosts and the downward API need it.
    const pending = ctx.shims?.take() ?? launchSandbox();
    try {
      this.podIP = hostNetwork ? ctx.hostIP : ctx.network.allocateIP(this.uid);
      const [net, mounts] = await Promise.all([
        hostNetwork
          ? { ip: ctx.hostIP }
          : ctx.network.setup(this.uid, { configureInside: ctx.isolated }),
        this.#mounts(hostNetwork),
      ]);
      this.#mark('network+volumes');
      for (const c of [...this.#init, ...this.#containers]) {
        mkdirSync(path.join(this.podDir, c.spec.name), { recursive: true });
        ctx.cgroups?.create(this.uid, c.spec.name, cgroupResources(c.spec));
      }
      this.sandbox = await pending.configure({
        podDir: this.podDir,
        hostname: pod.metadata?.name ?? '',
        isolated: ctx.isolated,
        netnsPath: 'netnsPath' in net ? net.netnsPath : undefined,
        network: 'inside' in net && net.inside ? { ip: net.ip, ...net.inside } : undefined,
        shareHostUTS: hostNetwork,
        mounts,
      });
    } catch (err) {
      pending.abandon();
      throw err;
    }
    this.#mark('sandbox');
    this.#watchSandbox();
    this.#queueStatus();
    if (this.#init.length) await this.#runInit();
    else for (const c of this.#containers) await this.#startContainer(c);
  }

  async #mounts(hostNetwork: boolean): Promise<SandboxMount[]> {
    const ctx = this.#ctx;
    const pod = this.pod;
    if (!ctx.isolated) return [];
    const mounts: SandboxMount[] = [];
    const first = this.#containers[0]?.image;
    for (const c of [...this.#init, ...this.#containers]) {
      if (c.image?.rootDir)
        mounts.push({ source: c.image.rootDir, target: c.image.workingDir, readOnly: true });
      if (c === this.#containers[0] || c.image?.rootDir !== first?.rootDir) continue;
    }
    if (!hostNetwork) {
      mounts.push(
        ...writeEtcFiles({
          podDir: this.podDir,
          pod,
          podIP: this.podIP ?? '',
          clusterDNS: ctx.clusterDNS,
          clusterDomain: ctx.clusterDomain,
        }),
      );
    }
    const objects = new ObjectCache({ client: ctx.client });
    const volumes = await prepareVolumes({
      podDir: this.podDir,
      pod,
      podIP: this.podIP ?? '',
      objects,
      serviceAccountToken: () => this.#token(),
    });
    for (const c of [...this.#init, ...this.#containers])
      mounts.push(...containerMounts(c.spec, volumes));
    const hasSA = mounts.some((m) => m.target === serviceAccountMountPath);
    if (!hasSA && pod.spec?.automountServiceAccountToken !== false) {
      const dir = path.join(this.podDir, 'volumes', 'kube-api-access');
      mkdirSync(dir, { recursive: true });
      const t = await this.#token();
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path.join(dir, 'token'), t.token, { mode: 0o644 });
      writeFileSync(path.join(dir, 'ca.crt'), t.ca);
      writeFileSync(path.join(dir, 'namespace'), pod.metadata?.namespace ?? 'default');
      mounts.push({ source: dir, target: serviceAccountMountPath, readOnly: true });
    }
    return mounts;
  }

  async #token(): Promise<{ token: string; ca: string }> {
    const pod = this.pod;
    const ns = pod.metadata?.namespace ?? 'default';
    const sa = pod.spec?.serviceAccountName ?? 'default';
    try {
      const res = await this.#ctx.client.requestJSON<{ status?: { token?: string } }>(
        'POST',
        `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
        {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: {
              expirationSeconds: 3607,
              boundObjectRef: {
                apiVersion: 'v1',
                kind: 'Pod',
                name: pod.metadata?.name,
                uid: this.uid,
              },
            },
          },
        },
      );
      return { token: res.status?.token ?? '', ca: this.#ctx.caCert ?? '' };
    } catch (err) {
      this.#ctx.log.warn('token request failed', { key: this.#key, err });
      return { token: '', ca: this.#ctx.caCert ?? '' };
    }
  }

  #watchSandbox(): void {
    const sb = this.sandbox;
    if (!sb) return;
    sb.client.onExit((c) => this.#onExit(c));
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
    for (const c of [...this.#init, ...this.#containers]) {
      const prev = prevStatuses.find((s) => s.name === c.spec.name);
      if (prev) {
        c.view.restartCount = prev.restartCount;
        c.view.lastState = prev.lastState ?? {};
      }
      const s = state[c.spec.name];
      if (!s) {
        if (!c.isInit) await this.#startContainer(c);
        continue;
      }
      c.attempt = s.attempt;
      c.current = s;
      c.view.containerID = this.#containerID(c);
      if (s.exit) this.#onExit(s);
      else {
        c.view.state = { running: { startedAt: s.startedAt.replace(/\.\d+Z$/, 'Z') } };
        this.#startProbes(c);
      }
    }
    this.#queueStatus();
  }

  #containerID(c: CState): string {
    return `skiff://${this.uid.slice(0, 8)}-${c.spec.name}-${c.attempt}`;
  }

  async #runInit(): Promise<void> {
    const next = this.#init.find((c) => !(c.view.state.terminated?.exitCode === 0));
    if (!next) {
      this.#initDone = true;
      this.#queueStatus();
      for (const c of this.#containers) await this.#startContainer(c);
      return;
    }
    await this.#startContainer(next);
  }

  async #startContainer(c: CState): Promise<void> {
    const ctx = this.#ctx;
    const sb = this.sandbox;
    if (!sb || !c.image || this.#terminating || this.#stopped) return;
    const img = c.image;
    const spec = c.spec;
    const cwd = spec.workingDir ?? (ctx.isolated ? img.workingDir : (img.rootDir ?? process.cwd()));
    const extra: Record<string, string> = {};
    if (!ctx.isolated) {
      extra['POD_IP'] = this.podIP ?? '';
      extra['SKIFF_REDUCED_MODE'] = '1';
      const port = spec.ports?.[0]?.containerPort ?? img.ports[0];
      if (port) extra['PORT'] = String(port);
    }
    try {
      const env = await containerEnv({
        pod: this.pod,
        container: spec,
        imageEnv: img.env,
        podIP: this.podIP ?? '',
        services: ctx.services(),
        objects: new ObjectCache({ client: ctx.client }),
        node: ctx.nodeCapacity,
        extra,
      });
      c.env = env;
      const command = spec.command?.length ? spec.command : img.command;
      const args = spec.command?.length
        ? (spec.args ?? [])
        : spec.args?.length
          ? spec.args
          : img.args;
      const argv = [...command, ...args].map((a) => expandVars(a, env));
      const sc = { ...this.pod.spec?.securityContext, ...spec.securityContext };
      const res = await sb.client.start({
        name: spec.name,
        attempt: c.attempt,
        argv,
        env,
        cwd,
        uid: sc.runAsUser ?? undefined,
        gid: sc.runAsGroup ?? undefined,
        cgroupProcs: ctx.cgroups?.procsFiles(this.uid, spec.name) ?? [],
        logFile: `${spec.name}/${c.attempt}.log`,
      });
      c.current = res;
      this.#mark(`started ${spec.name}`);
      c.view.containerID = this.#containerID(c);
      if (c.attempt === 0 || c.view.restartCount === 0) {
        this.#event(
          'Normal',
          'Pulled',
          `Container image "${spec.image}" already present on machine`,
        );
      }
      this.#event('Normal', 'Created', `Created container ${spec.name}`);
      this.#event('Normal', 'Started', `Started container ${spec.name}`);
      if (!res.exit) {
        c.view.state = { running: { startedAt: rfc3339(ctx.clock.now()) } };
        this.#startProbes(c);
      }
      this.#queueStatus();
    } catch (err) {
      c.view.state = {
        waiting: { reason: 'CreateContainerConfigError', message: errorMessage(err) },
      };
      this.#event('Warning', 'Failed', `Error: ${errorMessage(err)}`);
      this.#queueStatus();
      c.restartTimer = ctx.clock.setTimeout(() => void this.#startContainer(c), 10_000);
    }
  }

  #startProbes(c: CState): void {
    if (c.isInit) return;
    const ctx = this.#ctx;
    c.prober?.stop();
    const declaredPort = c.spec.ports?.[0]?.containerPort ?? c.image?.ports[0];
    const prober = new ContainerProber({
      clock: ctx.clock,
      target: {
        host: this.podIP ?? '127.0.0.1',
        container: c.spec,
        exec: (argv, timeoutMs) => this.execCapture(c.spec.name, argv, timeoutMs),
      },
      onResult: (type, ok, message) => {
        if (c.prober !== prober) return;
        if (type === 'startup') {
          c.view.started = ok;
          if (ok && !c.spec.readinessProbe) void this.#implicitReady(c, prober, declaredPort);
        } else if (type === 'readiness') {
          c.view.ready = ok;
          if (!ok && message)
            this.#event('Warning', 'Unhealthy', `Readiness probe failed: ${message}`);
        } else if (!ok) {
          this.#event('Warning', 'Unhealthy', `Liveness probe failed: ${message}`);
          this.#event(
            'Normal',
            'Killing',
            `Container ${c.spec.name} failed liveness probe, will be restarted`,
          );
          void this.#kill(c, this.#grace());
        }
        this.#queueStatus();
      },
    });
    c.prober = prober;
    prober.start();
  }

  // Without a readiness probe upstream reports Ready at once; Skiff waits (≤5 s) until the image's
  // declared port accepts connections, so load balancers never see a pod that refuses traffic.
  async #implicitReady(
    c: CState,
    prober: ContainerProber,
    port: number | undefined,
  ): Promise<void> {
    const deadline = this.#ctx.clock.now() + 5000;
    while (port && this.podIP && this.#ctx.clock.now() < deadline && c.prober === prober) {
      if ((await tcpProbe(this.podIP, port, 200)).ok) break;
      await this.#ctx.clock.sleep(5);
    }
    if (c.prober !== prober || !c.view.state.running) return;
    this.#mark(`ready ${c.spec.name}`);
    c.view.ready = true;
    this.#queueStatus();
  }

  #onExit(s: ShimContainer): void {
    const ctx = this.#ctx;
    const c = [...this.#init, ...this.#containers].find((x) => x.spec.name === s.name);
    if (!c || !s.exit || s.attempt !== c.attempt) return;
    c.current = s;
    this.#phase = 'restart';
    this.#t0 = performance.now();
    c.prober?.stop();
    c.prober = undefined;
    c.view.ready = false;
    c.view.started = false;
    const oom =
      (ctx.cgroups?.usage(this.uid, c.spec.name)?.oomKills ?? 0) > 0 && s.exit.signal === 9;
    const exitCode = s.exit.exitCode;
    const terminated = {
      exitCode,
      reason: oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
      startedAt: s.startedAt.replace(/\.\d+Z$/, 'Z'),
      finishedAt: s.exit.finishedAt.replace(/\.\d+Z$/, 'Z'),
      containerID: c.view.containerID,
      ...(s.exit.signal ? { signal: s.exit.signal } : {}),
    };
    c.view.state = { terminated };
    if (this.#terminating || this.#stopped) {
      this.#queueStatus();
      return;
    }
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    const restart = c.isInit
      ? exitCode !== 0 && policy !== 'Never'
      : policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    if (c.isInit && exitCode === 0) {
      this.#queueStatus();
      void this.#runInit();
      return;
    }
    if (!restart) {
      if (c.isInit) this.#terminal = 'Failed';
      this.#queueStatus();
      return;
    }
    // Back-off (client-go flowcontrol.Backoff): the first restart is immediate, then 10 s doubling
    // to 300 s; a container that ran cleanly for 10 minutes starts over.
    const ranMs = Date.parse(s.exit.finishedAt) - Date.parse(s.startedAt);
    if (ranMs > backOff.resetAfterMs) c.backoffMs = 0;
    const delay = c.backoffMs;
    c.backoffMs = c.backoffMs === 0 ? backOff.initialMs : Math.min(c.backoffMs * 2, backOff.maxMs);
    c.view.lastState = { terminated };
    if (delay > 0) {
      const pod = this.pod;
      const id = `${pod.metadata?.name}_${pod.metadata?.namespace}(${this.uid})`;
      c.view.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${delay / 1000}s restarting failed container=${c.spec.name} pod=${id}`,
        },
      };
      this.#event(
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${c.spec.name} in pod ${id}`,
      );
    }
    this.#queueStatus();
    c.restartTimer?.cancel();
    c.restartTimer = ctx.clock.setTimeout(() => {
      c.attempt++;
      c.view.restartCount++;
      void this.#startContainer(c);
    }, delay);
  }

  #grace(): number {
    const p = this.pod;
    return (
      (p.metadata?.deletionGracePeriodSeconds ?? p.spec?.terminationGracePeriodSeconds ?? 30) * 1000
    );
  }

  async #kill(c: CState, graceMs: number): Promise<void> {
    const sb = this.sandbox;
    if (!sb || !c.current || c.current.exit || c.isKilling) return;
    c.isKilling = true;
    const attempt = c.attempt;
    try {
      const pre = c.spec.lifecycle?.preStop;
      if (pre?.exec?.command)
        await this.execCapture(c.spec.name, pre.exec.command, graceMs).catch(() => undefined);
      else if (pre?.sleep?.seconds) await this.#ctx.clock.sleep(pre.sleep.seconds * 1000);
      await sb.client.signal(c.spec.name, 15).catch(() => undefined);
      const deadline = this.#ctx.clock.now() + graceMs;
      while (
        c.attempt === attempt &&
        !c.view.state.terminated &&
        this.#ctx.clock.now() < deadline
      ) {
        await this.#ctx.clock.sleep(10);
      }
      if (c.attempt === attempt && !c.view.state.terminated)
        await sb.client.signal(c.spec.name, 9, true).catch(() => undefined);
    } finally {
      c.isKilling = false;
    }
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
    const child = sb.spawnIn({
      argv,
      env: c.env ?? {},
      cwd: c.spec.workingDir ?? c.image?.workingDir ?? '/',
      cgroupProcs: this.#ctx.cgroups?.procsFiles(this.uid, name) ?? [],
    });
    return new Promise((resolve) => {
      let output = '';
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      const t = this.#ctx.clock.setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        t.cancel();
        resolve({ exitCode: code ?? 137, output });
      });
    });
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
    for (const c of [...this.#init, ...this.#containers]) {
      c.restartTimer?.cancel();
      c.prober?.stop();
      c.view.ready = false;
      if (c.current && !c.current.exit)
        this.#event('Normal', 'Killing', `Stopping container ${c.spec.name}`);
    }
    this.#queueStatus();
    await Promise.all([...this.#init, ...this.#containers].map((c) => this.#kill(c, grace)));
    await this.#flushStatus();
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
    for (const c of [...this.#init, ...this.#containers]) {
      c.restartTimer?.cancel();
      c.prober?.stop();
    }
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
    for (const c of [...this.#init, ...this.#containers]) {
      c.restartTimer?.cancel();
      c.prober?.stop();
    }
    this.sandbox?.client.close();
  }

  #scheduleImageRetry(ms: number): void {
    this.#ctx.clock.setTimeout(() => {
      if (this.#stopped || this.#terminating) return;
      for (const c of [...this.#init, ...this.#containers]) {
        if (c.view.state.waiting?.reason === 'ErrImagePull')
          c.view.state = {
            waiting: {
              ...c.view.state.waiting,
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${c.spec.image}": ${c.view.state.waiting.message}`,
            },
          };
      }
      this.#queueStatus();
      this.#event(
        'Normal',
        'BackOff',
        `Back-off pulling image "${this.#containers[0]?.spec.image}"`,
      );
      try {
        for (const c of [...this.#init, ...this.#containers])
          resolveImage(c.spec.image ?? '', { local: this.#ctx.images });
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

  #queueStatus(): void {
    if (this.#statusQueued) return;
    this.#statusQueued = true;
    queueMicrotask(() => {
      this.#statusQueued = false;
      void this.#flushStatus();
    });
  }

  async #flushStatus(): Promise<void> {
    const status = this.currentStatus();
    const text = JSON.stringify(status);
    if (text === this.#lastWritten) return;
    this.#lastWritten = text;
    const ready = status.conditions?.find((x) => x.type === 'Ready')?.status;
    const m = this.pod.metadata;
    try {
      const updated = await this.#ctx.client.patch<Pod>(
        R.pods,
        m?.namespace,
        m?.name ?? '',
        { status },
        { type: 'merge', subresource: 'status' },
      );
      this.#mark(`status written Ready=${ready}`);
      if (updated.metadata?.uid === this.uid) this.pod = { ...this.pod, status: updated.status };
    } catch (err) {
      this.#lastWritten = '';
      this.#ctx.log.debug('status update failed', { key: this.#key, err });
    }
  }
}
