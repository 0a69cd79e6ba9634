// Restarting a cluster on the same data dir (issue 12): `skiff down` then `skiff up`, kill -9 of
// Skiff and its shim reaper, a simulated reboot (processes, this cluster's /run/netns entries and
// bridge gone), and a fault injected in sandbox setup. Every time the same pod objects come back
// Ready and serving behind the ingress, with the restart counts the kubelet would report.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hostNames } from '../../src/cmd/components.js';
import { eventually, run, type SkiffUnderTest, startSkiff } from './harness.js';

// Bounds (loaded 2-core CI machine): from `skiff up` returning to every pod Ready and every one of
// a burst of requests through the ingress answered 200.
const readyBoundMs = { 2: 60_000, 10: 120_000 } as const;
const repo = join(import.meta.dirname, '..', '..');

let skiff: SkiffUnderTest;
let prefix: string;
let bridge: string;

const manifest = (replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: lyzhang1999/hello-world-flask:latest
        readinessProbe: { httpGet: { path: /, port: 5000 }, periodSeconds: 1 }
        livenessProbe:
          tcpSocket: { port: 5000 }
          initialDelaySeconds: 10
          periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 5000, targetPort: 5000 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  rules:
  - http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 5000 } } } }
`;

interface WebPod {
  uid: string;
  restartCount: number;
  lastExit?: number;
}

/** The web pods by name when all `n` are Ready, else undefined. */
async function readyPods(n: number): Promise<Map<string, WebPod> | undefined> {
  const out = await skiff.kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'json']);
  const items = (
    JSON.parse(out) as {
      items: Array<{
        metadata: { name: string; uid: string; deletionTimestamp?: string };
        status?: {
          conditions?: Array<{ type: string; status: string }>;
          containerStatuses?: Array<{
            restartCount: number;
            lastState?: { terminated?: { exitCode: number } };
          }>;
        };
      }>;
    }
  ).items.filter((p) => !p.metadata.deletionTimestamp);
  const ready = items.filter((p) =>
    p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  if (items.length !== n || ready.length !== n) return undefined;
  return new Map(
    items.map((p) => {
      const cs = p.status?.containerStatuses?.[0];
      return [
        p.metadata.name,
        {
          uid: p.metadata.uid,
          restartCount: cs?.restartCount ?? -1,
          lastExit: cs?.lastState?.terminated?.exitCode,
        },
      ];
    }),
  );
}

/** True when a burst of requests through the ingress all answer 200. */
async function serving(): Promise<boolean> {
  const codes = await Promise.all(
    Array.from({ length: 8 }, () =>
      fetch(`http://127.0.0.1:${skiff.ingressPort}/`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.text().then(() => r.status))
        .catch(() => -1),
    ),
  );
  return codes.every((c) => c === 200);
}

/** Waits until n pods are Ready and the ingress serves; returns them and the time it took. */
async function untilServing(n: 2 | 10): Promise<{ pods: Map<string, WebPod>; ms: number }> {
  const t0 = Date.now();
  const pods = await eventually(
    async () => {
      const p = await readyPods(n);
      return p && (await serving()) && p;
    },
    { timeoutMs: readyBoundMs[n], intervalMs: 250, what: `${n} web pods Ready and serving` },
  );
  return { pods, ms: Date.now() - t0 };
}

/** `skiff down` as a user runs it; returns how long it took. */
async function down(): Promise<number> {
  const t0 = Date.now();
  const r = await run(process.execPath, [
    join(repo, 'bin', 'skiff.js'),
    'down',
    '--data-dir',
    skiff.dataDir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return Date.now() - t0;
}

/** This cluster's entries in /run/netns (pods' and spares'); other clusters' are never looked at. */
function ourNetns(): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter(
    (f) => f.startsWith(`${prefix}-`) || f.startsWith(`${prefix}.spare-`),
  );
}

/** Host processes whose command line names this data dir (the reaper; shims are its children). */
function processesOf(dataDir: string): Array<{ pid: number; ppid: number; args: string }> {
  const found = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state = '', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z' && args.includes(dataDir))
        found.push({ pid: Number(d), ppid: Number(ppid), args });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function reaperPid(): number {
  const r = processesOf(join(skiff.dataDir, 'reaper.sock')).find((p) =>
    p.args.includes('reaper.py'),
  );
  assert.ok(r, 'the shim reaper runs');
  return r.pid;
}

async function bridgeExists(): Promise<boolean> {
  return (await run('ip', ['-br', 'link', 'show', 'dev', bridge])).code === 0;
}

/** Checks that nothing of this cluster is left on the host after `skiff down`. */
async function assertNothingLeft(): Promise<void> {
  assert.deepEqual(ourNetns(), [], 'no network namespace left');
  assert.equal(await bridgeExists(), false, 'no bridge left');
  await eventually(async () => processesOf(skiff.dataDir).length === 0, {
    timeoutMs: 5000,
    what: 'no process of the data dir left',
  });
}

/** Each pod the same object as before, its restart count `delta` higher. */
function assertSamePods(before: Map<string, WebPod>, after: Map<string, WebPod>, delta: number) {
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'same pods');
  for (const [name, p] of after) {
    const prev = before.get(name);
    assert.equal(p.uid, prev?.uid, `${name}: same pod object`);
    assert.equal(p.restartCount, (prev?.restartCount ?? 0) + delta, `${name}: restart count`);
  }
}

before(async () => {
  skiff = await startSkiff({ args: ['--dashboard-port', '0'] });
  const record = JSON.parse(readFileSync(join(skiff.dataDir, 'cluster.json'), 'utf8')) as {
    podCIDR: string;
  };
  const names = hostNames(record.podCIDR);
  prefix = names.netnsPrefix ?? 'skiff';
  bridge = names.bridgeName ?? 'skiff0';
  await skiff.kubectlOk(['apply', '-f', '-'], { input: manifest(2) });
});

after(async () => {
  await skiff?.stop();
});

test('down/up five times with 2 pods: same pods Ready and serving, one restart each time', async (t) => {
  let { pods, ms } = await untilServing(2);
  t.diagnostic(`first start: serving after ${ms} ms`);
  for (let cycle = 1; cycle <= 5; cycle++) {
    const downMs = await down();
    await assertNothingLeft();
    const t0 = Date.now();
    await skiff.restart();
    const upMs = Date.now() - t0;
    const next = await untilServing(2);
    assertSamePods(pods, next.pods, 1);
    // lastState is the run `skiff down` stopped: its exit, as the final status recorded it.
    for (const p of next.pods.values()) assert.notEqual(p.lastExit, undefined);
    t.diagnostic(
      `cycle ${cycle}: down ${downMs} ms, up ${upMs} ms, then Ready and serving in ${next.ms} ms`,
    );
    pods = next.pods;
  }
});

test('kill -9 of Skiff and its reaper: pods are adopted, not restarted', async (t) => {
  const { pods } = await untilServing(2);
  const reaper = reaperPid();
  // The reaper first: Skiff (its parent) still runs and reaps it.
  process.kill(reaper, 'SIGKILL');
  await skiff.kill9();
  assert.ok(ourNetns().length >= 2, 'the pods kept their namespaces');
  const t0 = Date.now();
  await skiff.restart();
  const next = await untilServing(2);
  assertSamePods(pods, next.pods, 0);
  t.diagnostic(`after kill -9: up ${Date.now() - t0 - next.ms} ms, serving in ${next.ms} ms`);
});

test('reboot: processes, /run/netns entries and bridge of this cluster gone; pods start again', async (t) => {
  const { pods } = await untilServing(2);
  // Everything dies as with the machine: shims (and their pods) first, reaped by the reaper,
  // then the reaper, reaped by Skiff, then Skiff.
  // Shims are forks of the reaper (same command line); those adopted after the kill -9 above
  // have PID 1 as parent now.
  const reaper = reaperPid();
  const shims = () =>
    processesOf(join(skiff.dataDir, 'reaper.sock')).filter((p) => p.pid !== reaper);
  for (const s of shims()) process.kill(s.pid, 'SIGKILL');
  await eventually(async () => shims().length === 0, { timeoutMs: 10_000, what: 'shims gone' });
  process.kill(reaper, 'SIGKILL');
  await skiff.kill9();
  // /run is a tmpfs: after a reboot none of this cluster's namespaces or links exist. Only names
  // with this cluster's prefix are touched (other clusters may run on this machine).
  for (const ns of ourNetns()) await run('ip', ['netns', 'del', ns]);
  await run('ip', ['link', 'del', bridge]);
  assert.deepEqual(ourNetns(), []);
  const t0 = Date.now();
  await skiff.restart();
  const next = await untilServing(2);
  assertSamePods(pods, next.pods, 1);
  // The runs nobody saw end are reported as containerd does after a reboot.
  for (const p of next.pods.values()) assert.equal(p.lastExit, 255);
  t.diagnostic(`after reboot: up ${Date.now() - t0 - next.ms} ms, serving in ${next.ms} ms`);
});

test('down/up with 10 pods: same pods Ready and serving', async (t) => {
  await skiff.kubectlOk(['scale', 'deployment', 'web', '--replicas=10']);
  const { pods } = await untilServing(10);
  const downMs = await down();
  await assertNothingLeft();
  const t0 = Date.now();
  await skiff.restart();
  const upMs = Date.now() - t0;
  const next = await untilServing(10);
  assertSamePods(pods, next.pods, 1);
  t.diagnostic(
    `10 pods: down ${downMs} ms, up ${upMs} ms, then Ready and serving in ${next.ms} ms`,
  );
  await skiff.kubectlOk(['scale', 'deployment', 'web', '--replicas=2']);
});

test('a failing sandbox setup: FailedCreatePodSandBox, retried with back-off, Ready once fixed', async () => {
  const fault = join(skiff.dataDir, 'test-fault-sandbox-setup');
  writeFileSync(fault, 'injected by the restart test\n');
  try {
    await skiff.kubectlOk([
      'run',
      'faulty',
      '--image=lyzhang1999/hello-world-flask:latest',
      '--restart=Never',
    ]);
    const wording =
      'Failed to create pod sandbox: skiff-shim: sandbox setup failed: injected by the restart test';
    // Two failures: the first, and the retry after the back-off (10-15 s, as the kubelet's).
    await eventually(
      async () => {
        const out = await skiff.kubectlOk([
          'get',
          'events',
          '--field-selector=involvedObject.name=faulty,reason=FailedCreatePodSandBox',
          '-o',
          'jsonpath={range .items[*]}{.type} {.count} {.message}{"\\n"}{end}',
        ]);
        let seen = 0;
        for (const line of out.trim().split('\n')) {
          const [type, count, ...msg] = line.split(' ');
          if (type === 'Warning' && msg.join(' ') === wording) seen += Number(count);
        }
        return seen >= 2;
      },
      { timeoutMs: 30_000, what: 'FailedCreatePodSandBox twice' },
    );
    const waiting = JSON.parse(
      await skiff.kubectlOk([
        'get',
        'pod',
        'faulty',
        '-o',
        'jsonpath={.status.containerStatuses[0].state.waiting}',
      ]),
    ) as { reason: string; message: string };
    assert.deepEqual(waiting, { reason: 'ContainerCreating', message: wording });
  } finally {
    rmSync(fault, { force: true });
  }
  await skiff.kubectlOk(['wait', 'pod', 'faulty', '--for=condition=Ready', '--timeout=30s'], {
    timeoutMs: 40_000,
  });
  await skiff.kubectlOk(['delete', 'pod', 'faulty', '--wait=false']);
});
