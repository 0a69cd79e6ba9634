// Boots a whole Skiff (`skiff up` as a child process) on free ports with a temp data dir, and drives
// it with the real kubectl (k3s-style: each test file spins up and kills its own server).
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UP_NODE_FLAGS, withUpEnv } from '../../src/lib/node-flags.js';
import { freePort } from '../../src/lib/testing-ports.js';

const repo = resolve(import.meta.dirname, '..', '..');

/**
 * A random N in [lo, hi) such that no host address or route is in 10.N.0.0/16 yet: two clusters on
 * one service CIDR would both claim its ClusterIPs (the `kubernetes` one reaching the wrong API).
 */
export function unusedOctet(lo: number, hi: number): number {
  const used = new Set<number>();
  for (const cmd of [
    ['ip', '-4', '-o', 'addr', 'show'],
    ['ip', '-4', 'route', 'show', 'table', 'all'],
  ]) {
    const r = spawnSync(cmd[0] ?? 'ip', cmd.slice(1), { encoding: 'utf8' });
    for (const m of (r.stdout ?? '').matchAll(/\b10\.(\d+)\./g)) used.add(Number(m[1]));
  }
  const free = Array.from({ length: hi - lo }, (_, i) => lo + i).filter((n) => !used.has(n));
  const pool = free.length > 0 ? free : Array.from({ length: hi - lo }, (_, i) => lo + i);
  return pool[Math.floor(Math.random() * pool.length)] ?? lo;
}

/** Result of a kubectl (or other command) run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running Skiff under test. */
export interface SkiffUnderTest {
  dataDir: string;
  kubeconfig: string;
  apiPort: number;
  ingressPort: number;
  /** The ingress controller's status port (/healthz, /stats). */
  ingressStatusPort: number;
  /** Runs the real kubectl against this Skiff with its own cache dir. */
  kubectl(
    args: string[],
    opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> },
  ): Promise<RunResult>;
  /** Runs kubectl and throws with its output when it fails. */
  kubectlOk(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Everything the server printed so far. */
  logs(): string;
  /** Starts `skiff up` again on the same data dir and ports (after kill9 or stop with keepDataDir). */
  restart(): Promise<void>;
  /** Sends SIGKILL to the server process (crash test). */
  kill9(): Promise<void>;
  /** Closes the read ends of the server's stdout and stderr (its terminal went away). */
  closeOutput(): void;
  /** Sends a signal to the server; its exit code or signal once it exited (30 s at most). */
  signal(sig: NodeJS.Signals): Promise<number | string>;
  /** Stops the server gracefully and removes the data dir (unless keep). */
  stop(opts?: { keepDataDir?: boolean }): Promise<void>;
}

/** A free TCP port (src/lib/testing-ports.ts says why not port 0). */
export { freePort };
/** Runs a command and collects its output (never throws on a non-zero exit). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Polls fn until it returns a truthy value or the deadline passes (kwok-style bounded retry). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  opts: {
    timeoutMs?: number;
    intervalMs?: number;
    what?: string;
    /** What to print with the timeout (the state that explains it; a CI log is all we get). */
    diagnose?: () => Promise<string>;
  } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = opts.diagnose
        ? `\n--- diagnostics ---\n${await opts.diagnose().catch((e: unknown) => String(e))}`
        : '';
      throw new Error(
        `Timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${String(last)}` : ''}${why}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((r) => {
    const t = setTimeout(() => r(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      r(true);
    });
  });
}

/** Options of startSkiff. */
export interface StartOptions {
  args?: string[];
  dataDir?: string;
  kubeVersion?: string;
}

/** True when `skiff up` was refused because another cluster holds one of its CIDRs. */
function rangeTaken(err: unknown): boolean {
  return /CIDR \S+ is in use by skiff/.test(err instanceof Error ? err.message : '');
}

/**
 * Starts `skiff up` on free ports; resolves once the API answers. Its random CIDRs can meet those
 * of a test cluster starting at the same moment (unusedOctet cannot see a range not yet on the
 * host): Skiff refuses the second, and this draws again, unless the caller chose the CIDRs.
 */
export async function startSkiff(opts: StartOptions = {}): Promise<SkiffUnderTest> {
  const chosen = (opts.args ?? []).some((a) => a === '--pod-cidr' || a === '--service-cidr');
  return chosen ? startSkiffOnce(opts) : redrawWhileRangeTaken(() => startSkiffOnce(opts));
}

/** Runs start (which draws random CIDRs) up to 3 times while Skiff refuses its CIDRs as taken. */
export async function redrawWhileRangeTaken<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt === 3 || !rangeTaken(err)) throw err;
    }
  }
}

/** A test cluster's `skiff up` command line (after the node binary) and the ports it serves on. */
export interface UpCommand {
  argv: string[];
  apiPort: number;
  ingressPort: number;
  ingressStatusPort: number;
}

/**
 * `skiff up` for a test cluster on dataDir: free ports, and a pod and service CIDR of its own so it
 * coexists with a developer's cluster (Skiff names its bridge, service device, netns and cgroups
 * after the pod CIDR). `extra` comes last, so it overrides any of these.
 */
export async function upCommand(dataDir: string, extra: string[] = []): Promise<UpCommand> {
  const [apiPort, ingressPort, kubeletPort, metricsPort, dashboardPort, statusPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const argv = [
    ...UP_NODE_FLAGS,
    join(repo, 'bin', 'skiff.js'),
    'up',
    '--data-dir',
    dataDir,
    '--no-kubeconfig',
    '--api-port',
    String(apiPort),
    '--ingress-port',
    String(ingressPort),
    '--kubelet-port',
    String(kubeletPort),
    '--metrics-port',
    String(metricsPort),
    '--dashboard-port',
    String(dashboardPort),
    '--ingress-status-port',
    String(statusPort),
    '--pod-cidr',
    `10.${unusedOctet(200, 250)}.0.0/16`,
    '--service-cidr',
    `10.${unusedOctet(64, 192)}.0.0/16`,
    ...extra,
  ];
  return { argv, apiPort, ingressPort, ingressStatusPort: statusPort };
}

async function startSkiffOnce(opts: StartOptions): Promise<SkiffUnderTest> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-it-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'skiff-kcache-'));
  const {
    argv: args,
    apiPort,
    ingressPort,
    ingressStatusPort: statusPort,
  } = await upCommand(dataDir, [
    ...(opts.kubeVersion ? ['--kube-version', opts.kubeVersion] : []),
    ...(opts.args ?? []),
  ]);
  let output = '';
  const start = (): ChildProcess => {
    const child = spawn(process.execPath, args, {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: withUpEnv({ ...process.env, SKIFF_LOG_LEVEL: process.env['SKIFF_LOG_LEVEL'] ?? 'info' }),
    });
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    return child;
  };
  let child = start();
  const kubeconfig = join(dataDir, 'kubeconfig');
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    KUBECONFIG: kubeconfig,
    KUBECACHEDIR: cacheDir,
    ...extra,
  });
  // Looks for the ready line printed after `from` (a restart appends to the same output).
  const waitReady = async (from: number) => {
    const state = await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) return 'exited';
        return output.indexOf('Skiff is ready', from) >= 0 && 'ready';
      },
      { timeoutMs: 120_000, intervalMs: 50, what: 'skiff up to be ready' },
    );
    if (state === 'exited') throw new Error(`skiff up exited with ${child.exitCode}`);
  };
  try {
    await waitReady(0);
  } catch (err) {
    child.kill('SIGKILL');
    await waitExit(child, 5000);
    // A start that failed late (e.g. a port in use) has already started add-on pods and the shim
    // reaper: `skiff down` stops them, as stop() does, or they outlive the test.
    await run(process.execPath, [join(repo, 'bin', 'skiff.js'), 'down', '--data-dir', dataDir], {
      timeoutMs: 60_000,
    });
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n--- skiff up output ---\n${output}`);
  }
  const self: SkiffUnderTest = {
    dataDir,
    kubeconfig,
    apiPort,
    ingressPort,
    ingressStatusPort: statusPort,
    kubectl: (a, o = {}) =>
      run('kubectl', a, { input: o.input, timeoutMs: o.timeoutMs, env: env(o.env) }),
    async kubectlOk(a, o = {}) {
      const r = await self.kubectl(a, o);
      if (r.code !== 0)
        throw new Error(`kubectl ${a.join(' ')} failed (${r.code}):\n${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    logs: () => output,
    async restart() {
      const from = output.length;
      child = start();
      await waitReady(from);
    },
    async kill9() {
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    },
    closeOutput() {
      // As a closed terminal or an ended `| tee`: skiff up's next write meets a broken pipe.
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
    async signal(sig) {
      child.kill(sig);
      if (!(await waitExit(child, 30_000))) return 'still running after 30 s';
      return child.exitCode ?? child.signalCode ?? 'unknown';
    },
    async stop(o = {}) {
      await stopRequestLoops();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if (!(await waitExit(child, 30_000))) {
          child.kill('SIGKILL');
          await waitExit(child, 5000);
        }
      }
      // A crashed run leaves pods and network behind: `skiff down` cleans them.
      await run(process.execPath, [join(repo, 'bin', 'skiff.js'), 'down', '--data-dir', dataDir], {
        timeoutMs: 60_000,
      });
      if (!o.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
  return self;
}

/** Reads a file of the data dir (e.g. to check modes). */
export function readDataFile(s: SkiffUnderTest, rel: string): string {
  return readFileSync(join(s.dataDir, rel), 'utf8');
}

/** The kubectl argument lists of SEED.md, exactly as the walkthrough types them. */
export const seedCommands = {
  createDeployment: [
    'create',
    'deployment',
    'hello-world-flask',
    '--image=lyzhang1999/hello-world-flask:latest',
    '--replicas=2',
  ],
  createService: ['create', 'service', 'clusterip', 'hello-world-flask', '--tcp=5000:5000'],
  createIngress: ['create', 'ingress', 'hello-world-flask', '--rule=/=hello-world-flask:5000'],
  waitMetricsServer: [
    'wait',
    'deployment',
    '-n',
    'kube-system',
    'metrics-server',
    '--for',
    'condition=Available=True',
    '--timeout=90s',
  ],
  autoscale: [
    'autoscale',
    'deployment',
    'hello-world-flask',
    '--cpu-percent=50',
    '--min=2',
    '--max=10',
  ],
  patchRequests: [
    'patch',
    'deployment',
    'hello-world-flask',
    '--type=json',
    '-p=[{"op": "add", "path": "/spec/template/spec/containers/0/resources", "value": {"requests": {"memory": "100Mi", "cpu": "100m"}}}]',
  ],
} as const;

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** One GET (keep-alive): the status and body; status -1 when it failed. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: -1, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: -1, body: '' }));
  });
}

/**
 * A steady request loop (every intervalMs) until stopped; counts failures and answers per pod
 * (the body's last word names the pod).
 */
export function requestLoop(url: string, intervalMs: number) {
  const stats = { ok: 0, failed: 0, pods: new Map<string, number>() };
  let running = true;
  const done = (async () => {
    while (running) {
      const r = await httpGet(url);
      if (r.status === 200) {
        stats.ok++;
        const pod = r.body.trim().split(' ').pop() ?? '';
        stats.pods.set(pod, (stats.pods.get(pod) ?? 0) + 1);
      } else stats.failed++;
      await new Promise((res) => setTimeout(res, intervalMs));
    }
  })();
  const loop = {
    stats,
    stop: async () => {
      running = false;
      loops.delete(loop);
      await done;
    },
  };
  loops.add(loop);
  return loop;
}

/** Running request loops: a test that failed before stopping its loop must not keep its file alive. */
const loops = new Set<{ stop: () => Promise<void> }>();

/** Stops every request loop still running (SkiffUnderTest.stop calls it first). */
export async function stopRequestLoops(): Promise<void> {
  await Promise.all([...loops].map((l) => l.stop()));
}

/** A pod's first container's waiting state as "reason|message" (empty parts when not waiting). */
export function waitingState(s: SkiffUnderTest, pod: string): Promise<string> {
  return s.kubectlOk([
    'get',
    'pod',
    pod,
    '-o',
    'jsonpath={.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}',
  ]);
}

/**
 * What explains a request that does not reach a pod: pods with their IPs, the EndpointSlices, an
 * answer from each pod IP straight from the host, the ingress's stats and Skiff's warnings.
 */
export async function networkDiagnostics(
  s: SkiffUnderTest,
  opts: { port: number; path: string },
): Promise<string> {
  const out: string[] = [];
  const step = async (title: string, f: () => Promise<string>) => {
    out.push(`## ${title}`, await f().catch((e: unknown) => `(failed: ${String(e)})`));
  };
  await step('pods', () => s.kubectlOk(['get', 'pods', '-o', 'wide']));
  await step('endpointslices', () =>
    s.kubectlOk([
      'get',
      'endpointslices',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}: {range .endpoints[*]}{.addresses[0]} ready={.conditions.ready} {end}{"\\n"}{end}',
    ]),
  );
  const ips = (await s.kubectl(['get', 'pods', '-o', 'jsonpath={.items[*].status.podIP}'])).stdout
    .split(' ')
    .filter(Boolean);
  for (const ip of ips)
    await step(`GET http://${ip}:${opts.port}${opts.path} from the host`, async () => {
      const r = await httpGet(`http://${ip}:${opts.port}${opts.path}`);
      return `${r.status} ${r.body.trim().slice(0, 200)}`;
    });
  await step('ingress /stats', async () => {
    const r = await httpGet(`http://127.0.0.1:${s.ingressStatusPort}/stats`);
    return `${r.status} ${r.body.slice(0, 1500)}`;
  });
  const warnings = s
    .logs()
    .split('\n')
    .filter((l) => /warn|error|fail/i.test(l))
    .slice(-40)
    .join('\n');
  out.push('## skiff warnings (last 40)', warnings);
  return out.join('\n');
}
