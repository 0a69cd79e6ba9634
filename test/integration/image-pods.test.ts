// Real images in pods, end to end: a busybox-httpd image built by the test, pushed with skopeo to
// Debian's docker-registry on loopback, run by `kubectl create deployment`; pods Ready and serving
// through a Service and the ingress, the kubelet's pull events and imageID, files that are the
// image's, writes that stay in one pod, kubectl cp, the seed's self-heal (kill the main process:
// RESTARTS 1, no failed request), ErrImagePull/ImagePullBackOff for a missing tag, and the HPA
// scaling the Deployment on CPU.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeLayout } from '../../src/images/testing.js';
import {
  skopeoPush,
  startDockerRegistry,
  type TestRegistry,
} from '../../src/images/testing-registry.js';
import { busyboxImage } from '../../src/node/testing.js';
import {
  eventually,
  httpGet,
  networkDiagnostics,
  requestLoop,
  type SkiffUnderTest,
  startSkiff,
  waitingState,
} from './harness.js';

let skiff: SkiffUnderTest;
let registry: TestRegistry;
let image: string;
const work = mkdtempSync(join(tmpdir(), 'skiff-image-pods-'));

before(async () => {
  const layout = join(work, 'layout');
  // The page names the pod serving it: the first thing the container does is write it.
  writeLayout(layout, [
    {
      ref: '1',
      image: busyboxImage({
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: ['hostname > /www/host.txt; exec httpd -f -p 8080 -h /www'],
        Env: ['PATH=/bin', 'GREETING=from-image'],
        WorkingDir: '/www',
        ExposedPorts: { '8080/tcp': {} },
      }),
    },
  ]);
  [skiff, registry] = await Promise.all([
    startSkiff(),
    startDockerRegistry(join(work, 'registry')),
  ]);
  image = `${registry.host}/busybox-httpd:1`;
  await skopeoPush(layout, '1', image);
});
after(async () => {
  await skiff?.stop();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

const podNames = async () =>
  (
    await skiff.kubectlOk([
      'get',
      'pods',
      '-l',
      'app=web',
      '--field-selector=status.phase==Running',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    ])
  )
    .split(' ')
    .filter(Boolean);

test('create deployment from a registry image: Ready, pulled as the kubelet says, served', async () => {
  await skiff.kubectlOk([
    'create',
    'deployment',
    'web',
    `--image=${image}`,
    '--replicas=2',
    '--port=8080',
  ]);
  await skiff.kubectlOk(['expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
  await skiff.kubectlOk(['create', 'ingress', 'web', '--rule=/*=web:80']);
  await skiff.kubectlOk(['rollout', 'status', 'deployment', 'web', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  const ids = await skiff.kubectlOk([
    'get',
    'pods',
    '-l',
    'app=web',
    '-o',
    'jsonpath={.items[*].status.containerStatuses[0].imageID}',
  ]);
  for (const id of ids.split(' '))
    assert.match(id, new RegExp(`^${registry.host}/busybox-httpd@sha256:[0-9a-f]{64}$`));
  const events = await skiff.kubectlOk([
    'get',
    'events',
    '--field-selector=involvedObject.kind=Pod',
    '-o',
    'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
  ]);
  assert.match(events, new RegExp(`Pulling image "${image}"`));
  assert.match(
    events,
    /Successfully pulled image ".*busybox-httpd:1" in [\d.]+m?s \([\d.]+m?s including waiting\)\. Image size: \d+ bytes\./,
  );
  // Through the Service's ClusterIP (the service proxy on this host), and through the ingress.
  const ip = await skiff.kubectlOk(['get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
  const viaService = await eventually(
    async () => {
      const r = await httpGet(`http://${ip}/host.txt`);
      return r.status === 200 && r.body;
    },
    { what: 'an answer through the Service', timeoutMs: 20_000 },
  );
  assert.match(viaService, /^web-/);
  const seen = new Set<string>();
  await eventually(
    async () => {
      const r = await httpGet(`http://127.0.0.1:${skiff.ingressPort}/host.txt`);
      if (r.status === 200) seen.add(r.body.trim());
      return seen.size === 2;
    },
    {
      what: 'answers from both pods through the ingress',
      timeoutMs: 30_000,
      intervalMs: 50,
      diagnose: async () =>
        `seen through the ingress: ${[...seen].join(', ') || 'none'}\n${await networkDiagnostics(skiff, { port: 8080, path: '/host.txt' })}`,
    },
  );
});

test('the files are the image’s, a write stays in its pod, kubectl cp reads them', async () => {
  const [a, b] = await podNames();
  assert.ok(a && b);
  assert.match(
    await skiff.kubectlOk(['exec', a, '--', 'cat', '/etc/os-release']),
    /ID=skiff-busybox/,
  );
  assert.equal(
    await skiff.kubectlOk(['exec', a, '--', 'sh', '-c', 'echo $GREETING; pwd']),
    'from-image\n/www\n',
  );
  await skiff.kubectlOk(['exec', a, '--', 'sh', '-c', 'echo mine > /written']);
  assert.equal(
    await skiff.kubectlOk(['exec', b, '--', 'sh', '-c', 'test -e /written || echo absent']),
    'absent\n',
  );
  assert.equal(existsSync('/written'), false);
  const copy = join(work, 'os-release');
  await skiff.kubectlOk(['cp', `${a}:/etc/os-release`, copy]);
  assert.match(readFileSync(copy, 'utf8'), /ID=skiff-busybox/);
});

test('self-heal: killing the main process restarts it in place with no failed request', async () => {
  const [victim] = await podNames();
  assert.ok(victim);
  const loop = requestLoop(`http://127.0.0.1:${skiff.ingressPort}/host.txt`, 20);
  await new Promise((r) => setTimeout(r, 1000));
  await skiff.kubectlOk(['exec', victim, '--', 'killall', 'httpd']);
  await eventually(
    async () => {
      const row = await skiff.kubectlOk(['get', 'pod', victim, '--no-headers']);
      return /\s1\/1\s+Running\s+1 \(\d+s ago\)/.test(row);
    },
    { what: `${victim} Running again with 1 restart`, timeoutMs: 30_000 },
  );
  const before = loop.stats.pods.get(victim) ?? 0;
  await eventually(async () => (loop.stats.pods.get(victim) ?? 0) > before, {
    what: 'the healed pod to answer',
    timeoutMs: 20_000,
    diagnose: async () =>
      `answers per pod: ${JSON.stringify([...loop.stats.pods])}, failed ${loop.stats.failed}\n${await networkDiagnostics(skiff, { port: 8080, path: '/host.txt' })}`,
  });
  await loop.stop();
  assert.equal(loop.stats.failed, 0, 'no failed request while the pod restarted');
  assert.ok(loop.stats.ok > 20);
});

test('a tag the registry lacks: ErrImagePull, then ImagePullBackOff', async () => {
  await skiff.kubectlOk(['run', 'missing', `--image=${registry.host}/busybox-httpd:nope`]);
  const seen = await eventually(
    async () => {
      const out = await waitingState(skiff, 'missing');
      return out.startsWith('ImagePullBackOff') ? out : undefined;
    },
    { what: 'ImagePullBackOff', timeoutMs: 30_000 },
  );
  assert.match(seen, /failed to pull and unpack image/);
  const events = await skiff.kubectlOk([
    'get',
    'events',
    '--field-selector=involvedObject.name=missing',
    '-o',
    'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
  ]);
  assert.match(events, /Failed: Error: ErrImagePull/);
  assert.match(events, /BackOff: Back-off pulling image/);
});

test('the HPA scales the image’s Deployment on CPU, as in the seed', async () => {
  await skiff.kubectlOk(['set', 'resources', 'deployment', 'web', '--requests=cpu=50m']);
  await skiff.kubectlOk(['rollout', 'status', 'deployment', 'web', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  await skiff.kubectlOk([
    'autoscale',
    'deployment',
    'web',
    '--cpu-percent=50',
    '--min=2',
    '--max=4',
  ]);
  // CPU burnt in one pod's container (the image's own shell) is what metrics-server reports.
  const [busy] = await podNames();
  assert.ok(busy);
  await skiff.kubectlOk([
    'exec',
    busy,
    '--',
    'sh',
    '-c',
    'timeout 90 sh -c "while :; do :; done" </dev/null >/dev/null 2>&1 &',
  ]);
  const replicas = await eventually(
    async () => {
      const n = Number(
        await skiff.kubectlOk(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}']),
      );
      return n > 2 && n;
    },
    {
      what: 'the HPA to scale web above 2 replicas',
      timeoutMs: 60_000,
      diagnose: () => skiff.kubectlOk(['describe', 'hpa', 'web']),
    },
  );
  assert.ok(replicas <= 4);
  const reasons = await skiff.kubectlOk([
    'get',
    'events',
    '--field-selector=involvedObject.kind=HorizontalPodAutoscaler',
    '-o',
    'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
  ]);
  assert.match(reasons, /SuccessfulRescale: New size: [34]; reason: cpu resource utilization/);
  await skiff.kubectl(['exec', busy, '--', 'killall', 'timeout', 'sh']);
});
