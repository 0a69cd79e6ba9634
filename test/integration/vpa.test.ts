// The Vertical Pod Autoscaler end to end with the real kubectl and the seed app behind the ingress:
// a recommendation appears (get/describe vpa), `kubectl patch pod --subresource resize` rewrites
// the container's cgroup with no restart, InPlaceOrRecreate resizes the running pod to the
// recommendation with no failed request, Initial sizes a new pod at admission, and an HPA on the
// same resource gets a Warning event on the VPA.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  eventually,
  requestLoop,
  type SkiffUnderTest,
  seedCommands,
  startSkiff,
} from './harness.js';

const run = promisify(execFile);
let skiff: SkiffUnderTest;
let ingress: string;

const app = `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello-world-flask}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello-world-flask}}
  template:
    metadata: {labels: {app: hello-world-flask}}
    spec:
      containers:
      - name: hello-world-flask
        image: lyzhang1999/hello-world-flask:latest
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 500m, memory: 512Mi}
`;

const vpa = (mode: string) => `apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: hello-world-flask}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: hello-world-flask}
  updatePolicy: {updateMode: "${mode}"}
`;

before(async () => {
  // One-second sampling and no minimum pod age, so a minute is enough to see every step.
  skiff = await startSkiff({
    args: ['--vpa-recommender-interval=1s', '--vpa-pod-lifetime-update-threshold=0s'],
  });
  ingress = `http://127.0.0.1:${skiff.ingressPort}/`;
});
after(async () => {
  await skiff?.stop();
});

async function pod(): Promise<{
  name: string;
  uid: string;
  spec: { cpu?: string; memory?: string };
  status: { cpu?: string; memory?: string };
  restarts: number;
}> {
  const out = await skiff.kubectlOk(['get', 'pods', '-l', 'app=hello-world-flask', '-o', 'json']);
  const items = (JSON.parse(out) as { items: PodJSON[] }).items.filter(
    (p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp,
  );
  const p = items[0];
  assert.ok(p, 'a running pod');
  const cs = p.status?.containerStatuses?.[0];
  return {
    name: p.metadata.name,
    uid: p.metadata.uid,
    spec: p.spec.containers[0]?.resources?.requests ?? {},
    status: cs?.resources?.requests ?? {},
    restarts: cs?.restartCount ?? 0,
  };
}

interface PodJSON {
  metadata: {
    name: string;
    uid: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
  };
  spec: { containers: { resources?: { requests?: Record<string, string> } }[] };
  status?: {
    phase?: string;
    containerStatuses?: {
      restartCount?: number;
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    }[];
  };
}

/** The container cgroup's cpu.weight / cpu.max / memory.max (cgroup v2) or v1 equivalents. */
async function cgroupOf(uid: string): Promise<Record<string, string>> {
  const { stdout } = await run('find', [
    '/sys/fs/cgroup',
    '-maxdepth',
    '8',
    '-type',
    'd',
    '-name',
    `pod${uid}`,
  ]);
  const out: Record<string, string> = {};
  for (const dir of stdout.split('\n').filter(Boolean)) {
    for (const f of ['cpu.weight', 'cpu.max', 'memory.max', 'cpu.shares', 'cpu.cfs_quota_us']) {
      try {
        out[f] = readFileSync(join(dir, 'hello-world-flask', f), 'utf8').trim();
      } catch {
        // That controller's file lives in another hierarchy (v1) or does not exist.
      }
    }
  }
  return out;
}

const describeVPA = () =>
  skiff.kubectl(['describe', 'vpa', 'hello-world-flask']).then((r) => r.stdout + r.stderr);

test('a recommendation appears for the seed app (updateMode Off) and kubectl prints it', async () => {
  await skiff.kubectlOk(['apply', '-f', '-'], { input: app });
  await skiff.kubectlOk([...seedCommands.createService]);
  await skiff.kubectlOk([...seedCommands.createIngress]);
  await skiff.kubectlOk(['apply', '-f', '-'], { input: vpa('Off') });
  await skiff.kubectlOk(['rollout', 'status', 'deployment', 'hello-world-flask', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  const row = await eventually(
    async () => {
      const r = await skiff.kubectlOk(['get', 'vpa', 'hello-world-flask', '--no-headers']);
      return /^hello-world-flask\s+Off\s+\d+m\s+\d+\S*\s+True\s+\d+s$/.test(r.trim()) && r;
    },
    { what: 'a recommendation in kubectl get vpa', timeoutMs: 60_000, diagnose: describeVPA },
  );
  process.stdout.write(`# ${row.trim()}\n`);
  const d = await describeVPA();
  assert.match(
    d,
    /Recommendation:\s+Container Recommendations:\s+Container Name:\s+hello-world-flask/,
  );
  assert.match(d, /Lower Bound:/);
  assert.match(d, /Uncapped Target:/);
  assert.match(d, /Type:\s+RecommendationProvided/);
});

test('kubectl patch pod --subresource resize rewrites the cgroup in place, no restart', async () => {
  const before = await pod();
  await skiff.kubectlOk([
    'patch',
    'pod',
    before.name,
    '--subresource',
    'resize',
    '--patch',
    '{"spec":{"containers":[{"name":"hello-world-flask","resources":{"requests":{"cpu":"200m"},"limits":{"cpu":"400m"}}}]}}',
  ]);
  const after = await eventually(
    async () => {
      const p = await pod();
      return p.status.cpu === '200m' && p;
    },
    { what: 'status.containerStatuses[0].resources to show 200m', timeoutMs: 10_000 },
  );
  assert.equal(after.name, before.name);
  assert.equal(after.restarts, before.restarts);
  const cg = await cgroupOf(after.uid);
  // 200m → 204 shares → weight 8 (v2) / 204 shares (v1); a 400m limit is a 40 ms quota per 100 ms.
  if (cg['cpu.weight'] !== undefined) {
    assert.equal(cg['cpu.weight'], '8', JSON.stringify(cg));
    assert.equal(cg['cpu.max'], '40000 100000');
  } else {
    assert.equal(cg['cpu.shares'], '204', JSON.stringify(cg));
    assert.equal(cg['cpu.cfs_quota_us'], '40000');
  }
});

test('InPlaceOrRecreate resizes the running pod to the recommendation with no failed request', async () => {
  const before = await pod();
  const loop = requestLoop(ingress, 20);
  await skiff.kubectlOk(['apply', '-f', '-'], { input: vpa('InPlaceOrRecreate') });
  const target = JSON.parse(
    await skiff.kubectlOk([
      'get',
      'vpa',
      'hello-world-flask',
      '-o',
      'jsonpath={.status.recommendation.containerRecommendations[0].target}',
    ]),
  ) as { cpu: string; memory: string };
  const after = await eventually(
    async () => {
      const p = await pod();
      return (
        p.spec.cpu !== '200m' &&
        p.status.cpu === p.spec.cpu &&
        p.status.memory === p.spec.memory &&
        p
      );
    },
    { what: 'the pod resized in place', timeoutMs: 20_000, diagnose: describeVPA },
  );
  await new Promise((r) => setTimeout(r, 500));
  await loop.stop();
  process.stdout.write(
    `# resized ${before.spec.cpu}/${before.spec.memory} -> ${after.spec.cpu}/${after.spec.memory} (target ${target.cpu}/${target.memory}); ${loop.stats.ok} ok, ${loop.stats.failed} failed\n`,
  );
  assert.equal(after.name, before.name, 'the same pod');
  assert.equal(after.restarts, before.restarts, 'no restart');
  assert.equal(loop.stats.failed, 0);
  assert.ok(loop.stats.ok > 10);
  const events = await skiff.kubectlOk([
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${after.name},reason=InPlaceResizedByVPA`,
    '--no-headers',
  ]);
  assert.match(events, /Pod was resized in place by VPA Updater/);
});

test('Initial sizes a new pod at admission; an HPA on cpu gets a Warning on the VPA', async () => {
  await skiff.kubectlOk(['apply', '-f', '-'], { input: vpa('Initial') });
  await skiff.kubectlOk(['scale', 'deployment', 'hello-world-flask', '--replicas=2']);
  const fresh = await eventually(
    async () => {
      const out = await skiff.kubectlOk([
        'get',
        'pods',
        '-l',
        'app=hello-world-flask',
        '-o',
        'json',
      ]);
      const items = (JSON.parse(out) as { items: PodJSON[] }).items;
      return items.find((p) => p.metadata.annotations?.['vpaUpdates']);
    },
    { what: 'a pod admitted with vpaUpdates', timeoutMs: 20_000 },
  );
  const target = JSON.parse(
    await skiff.kubectlOk([
      'get',
      'vpa',
      'hello-world-flask',
      '-o',
      'jsonpath={.status.recommendation.containerRecommendations[0].target}',
    ]),
  ) as { cpu: string; memory: string };
  assert.match(
    fresh.metadata.annotations?.['vpaUpdates'] ?? '',
    /Pod resources updated by hello-world-flask: container 0: cpu request, memory request/,
  );
  assert.ok(fresh.spec.containers[0]?.resources?.requests?.['cpu'], 'a cpu request');
  process.stdout.write(
    `# admitted ${JSON.stringify(fresh.spec.containers[0]?.resources)} (target ${JSON.stringify(target)})\n`,
  );
  await skiff.kubectlOk([
    'autoscale',
    'deployment',
    'hello-world-flask',
    '--cpu-percent=50',
    '--max=3',
  ]);
  const warning = await eventually(
    async () => {
      const out = await skiff.kubectlOk([
        'get',
        'events',
        '--field-selector',
        'involvedObject.kind=VerticalPodAutoscaler,reason=HPAConflict',
        '--no-headers',
      ]);
      return out.includes('Warning') && out;
    },
    { what: 'an HPAConflict Warning event', timeoutMs: 20_000, diagnose: describeVPA },
  );
  assert.match(warning, /should not be used with the HPA on the same resource metric/);
});
