// SEED.md end to end, as typed, with the real kubectl: workload + service + ingress; requests
// alternate between the two pods; `killall python3` in one pod restarts it in place with no failed
// request; metrics-server becomes Available; autoscale + the JSON patch roll out; ab inside a pod
// scales the Deployment up; it scales back down after the (shortened) stabilization window.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  eventually,
  httpGet as get,
  requestLoop,
  type SkiffUnderTest,
  seedCommands,
  startSkiff,
} from './harness.js';

let skiff: SkiffUnderTest;
let ingress: string;

before(async () => {
  skiff = await startSkiff();
  ingress = `http://127.0.0.1:${skiff.ingressPort}/`;
});
after(async () => {
  await skiff?.stop();
});

async function podNames(): Promise<string[]> {
  const out = await skiff.kubectlOk([
    'get',
    'pods',
    '-l',
    'app=hello-world-flask',
    '--field-selector=status.phase==Running',
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ]);
  return out.split(' ').filter(Boolean);
}

test('§1: deployment, service and ingress; requests alternate between the two pods', async () => {
  await skiff.kubectlOk([...seedCommands.createDeployment]);
  await skiff.kubectlOk([...seedCommands.createService]);
  await skiff.kubectlOk([...seedCommands.createIngress]);
  await skiff.kubectlOk(['rollout', 'status', 'deployment', 'hello-world-flask', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  const table = await skiff.kubectlOk(['get', 'pods', '-l', 'app=hello-world-flask']);
  const rows = table.trim().split('\n').slice(1);
  assert.equal(rows.length, 2, table);
  for (const row of rows)
    assert.match(row, /^hello-world-flask-[0-9a-z]{8,10}-[0-9a-z]{5}\s+1\/1\s+Running\s+0\s+\d+s$/);
  const seen = new Set<string>();
  await eventually(
    async () => {
      const r = await get(ingress);
      if (r.status === 200) {
        assert.match(r.body, /^Hello, my first docker images! hello-world-flask-/);
        seen.add(r.body.trim().split(' ').pop() ?? '');
      }
      return seen.size === 2;
    },
    { what: 'answers from both pods through the ingress', timeoutMs: 60_000, intervalMs: 50 },
  );
});

test('§2: killall python3 in one pod: no failed request, the same pod restarts in place', async () => {
  const [victim] = await podNames();
  assert.ok(victim);
  const loop = requestLoop(ingress, 20);
  await new Promise((r) => setTimeout(r, 1000));
  const killedAt = Date.now();
  await skiff.kubectlOk(['exec', victim, '--', 'bash', '-c', 'killall python3']);
  await eventually(
    async () => {
      const row = await skiff.kubectlOk(['get', 'pod', victim, '--no-headers']);
      return /\s1\/1\s+Running\s+1 \(\d+s ago\)/.test(row);
    },
    { what: `${victim} Running again with 1 restart`, timeoutMs: 30_000 },
  );
  const healMs = Date.now() - killedAt;
  // Keep the loop running until the healed pod answers again.
  const answeredBefore = loop.stats.pods.get(victim) ?? 0;
  await eventually(async () => (loop.stats.pods.get(victim) ?? 0) > answeredBefore, {
    what: 'the healed pod to answer',
    timeoutMs: 20_000,
  });
  await loop.stop();
  process.stdout.write(
    `# heal time ${healMs} ms, ${loop.stats.ok} ok, ${loop.stats.failed} failed\n`,
  );
  assert.equal(loop.stats.failed, 0, 'no failed request while the pod restarted');
  assert.ok(loop.stats.ok > 20);
});

test('§2: exec -- bash in a pod shows its hostname, /app, its own app and only its processes', async () => {
  const [pod] = await podNames();
  assert.ok(pod);
  const out = await skiff.kubectlOk([
    'exec',
    pod,
    '--',
    'bash',
    '-c',
    'hostname; pwd; curl -s 127.0.0.1:5000; echo; ps -e -o comm= | sort -u | tr "\\n" " "',
  ]);
  const [hostname, cwd, reply, procs] = out.split('\n');
  assert.equal(hostname, pod);
  assert.equal(cwd, '/app');
  assert.equal(reply, `Hello, my first docker images! ${pod}`);
  assert.ok(procs?.includes('python3'), procs);
  assert.ok(!procs?.includes('node'), `the host's processes are invisible: ${procs}`);
});

test('§3: metrics-server Available, autoscale, the JSON patch rolls out a new ReplicaSet', async () => {
  assert.match(
    await skiff.kubectlOk([...seedCommands.waitMetricsServer], { timeoutMs: 100_000 }),
    /deployment.apps\/metrics-server condition met/,
  );
  await skiff.kubectlOk([...seedCommands.autoscale]);
  // A short scale-down window so the test sees the way back (upstream default 300 s).
  await skiff.kubectlOk([
    'patch',
    'hpa',
    'hello-world-flask',
    '--type=merge',
    '-p',
    '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":10}}}}',
  ]);
  const before = await skiff.kubectlOk(['get', 'rs', '-l', 'app=hello-world-flask', '-o', 'name']);
  await skiff.kubectlOk([...seedCommands.patchRequests]);
  await skiff.kubectlOk(['rollout', 'status', 'deployment', 'hello-world-flask', '--timeout=90s'], {
    timeoutMs: 100_000,
  });
  const afterRs = await skiff.kubectlOk(['get', 'rs', '-l', 'app=hello-world-flask', '-o', 'name']);
  assert.equal(
    afterRs.trim().split('\n').length,
    before.trim().split('\n').length + 1,
    'a new ReplicaSet',
  );
  const running = await skiff.kubectlOk(['get', 'pod', '--field-selector=status.phase==Running']);
  assert.match(running, /hello-world-flask-\S+\s+1\/1\s+Running/);
  await eventually(
    async () => /cpu: \d+%\/50%/.test(await skiff.kubectlOk(['get', 'hpa', 'hello-world-flask'])),
    { what: 'the HPA to read CPU', timeoutMs: 30_000 },
  );
  const top = await skiff.kubectlOk(['top', 'pods']);
  assert.match(top, /hello-world-flask-\S+\s+\d+m\s+\d+Mi/);
});

test('§3: ab -c 50 -n 10000 inside a pod scales the Deployment up, then back to 2', async () => {
  const [pod] = await podNames();
  assert.ok(pod);
  const abOut = await skiff.kubectlOk(
    ['exec', pod, '--', 'ab', '-c', '50', '-n', '10000', 'http://127.0.0.1:5000/'],
    { timeoutMs: 180_000 },
  );
  assert.match(abOut, /Complete requests:\s+10000/);
  assert.match(abOut, /Failed requests:\s+0/);
  const replicas = async () =>
    Number(
      await skiff.kubectlOk([
        'get',
        'deploy',
        'hello-world-flask',
        '-o',
        'jsonpath={.spec.replicas}',
      ]),
    );
  const peak = await replicas();
  process.stdout.write(`# replicas after the load: ${peak}\n`);
  assert.ok(peak >= 3, `scaled up (replicas ${peak})`);
  const events = await skiff.kubectlOk(['describe', 'hpa', 'hello-world-flask']);
  assert.match(
    events,
    /SuccessfulRescale\s+.*New size: \d+; reason: cpu resource utilization \(percentage of request\) above target/,
  );
  await eventually(async () => (await replicas()) === 2, {
    what: 'scale-down to 2',
    timeoutMs: 120_000,
    intervalMs: 1000,
  });
});
