// End-to-end test of the metrics-server add-on: a fake kubelet Summary server (HTTPS, bearer token),
// the test API server with a Node and Pods, and the add-on built from its flags.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { nanoValue } from '../api/quantity.js';
import { startTestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import type { KObject } from '../client/rest.js';
import { optionsFromFlags, parseFlags } from './main.js';
import { MetricsServer } from './server.js';
import type { Summary } from './summary.js';
import { generateSelfSignedCert } from './tls.js';

function getJSON(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      })
      .on('error', reject);
  });
}

test('parseFlags reads upstream-style flags with fast defaults', () => {
  const f = parseFlags(
    ['--metric-resolution=15s', '--secure-port', '10250', '--kubelet-insecure-tls'],
    {},
  );
  assert.equal(f.metricResolutionMs, 15_000);
  assert.equal(f.securePort, 10250);
  assert.equal(f.kubeletInsecureTLS, true);
  assert.equal(parseFlags([], {}).metricResolutionMs, 1000);
  assert.equal(parseFlags([], { SKIFF_KUBELET_TOKEN_FILE: '/t' }).kubeletTokenFile, '/t');
  assert.throws(() => parseFlags(['--nope=1'], {}), /Unknown flag "--nope"/);
  assert.throws(() => parseFlags(['--secure-port=x'], {}), RangeError);
});

test('scrapes the kubelet Summary and serves PodMetrics and NodeMetrics; ready after one window', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-ms-test-'));
  const api = await startTestApiServer();
  const ac = new AbortController();
  const kubeletCert = await generateSelfSignedCert({ commonName: 'kubelet', ips: ['127.0.0.1'] });
  const start = Date.now();
  let seenAuth = '';
  // A kubelet whose pod burns 50m and whose node burns 250m, counted from `start`.
  const kubelet = https.createServer(kubeletCert, (req, res) => {
    seenAuth = req.headers.authorization ?? '';
    if (seenAuth !== 'Bearer kubelet-secret') {
      res.writeHead(401).end('Unauthorized');
      return;
    }
    const now = Date.now();
    const elapsedNs = (now - start) * 1e6;
    const time = new Date(now).toISOString();
    const summary: Summary = {
      node: {
        nodeName: 'node1',
        cpu: { time, usageCoreNanoSeconds: 1e12 + elapsedNs * 0.25 },
        memory: { time, workingSetBytes: 2 * 1024 ** 3 },
      },
      pods: [
        {
          podRef: { name: 'web-1', namespace: 'default' },
          containers: [
            {
              name: 'web',
              startTime: new Date(start - 60_000).toISOString(),
              cpu: { time, usageCoreNanoSeconds: 5e9 + elapsedNs * 0.05 },
              memory: { time, workingSetBytes: 20975616 },
            },
          ],
        },
      ],
    };
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(summary));
  });
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r));
  const kubeletPort = (kubelet.address() as { port: number }).port;
  t.after(async () => {
    ac.abort();
    kubelet.close();
    kubelet.closeAllConnections();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  const node = await api.client.create<KObject>(R.nodes, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node1', labels: { 'kubernetes.io/hostname': 'node1' } },
  });
  node['status'] = {
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
  };
  await api.client.updateStatus(R.nodes, node);
  await api.client.create(R.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: 'x' }] },
  });
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: t, cluster: {server: "${api.url}"}}]\ncontexts: [{name: t, context: {cluster: t, user: t}}]\ncurrent-context: t\nusers: [{name: t, user: {}}]\n`,
  );
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'kubelet-secret\n');
  const flags = parseFlags([
    `--kubeconfig=${kubeconfig}`,
    '--secure-port=0',
    '--bind-address=127.0.0.1',
    '--metric-resolution=200ms',
    `--kubelet-token-file=${tokenFile}`,
  ]);
  const server = new MetricsServer(optionsFromFlags(flags));
  await server.start(ac.signal);
  const base = `https://127.0.0.1:${server.port}`;
  assert.equal((await getJSON(`${base}/livez`)).status, 200);

  let ready = 0;
  for (let i = 0; i < 100 && ready !== 200; i++) {
    ready = (await getJSON(`${base}/readyz`)).status;
    if (ready !== 200) await sleep(50);
  }
  assert.equal(ready, 200, 'ready after a full window');
  assert.equal(seenAuth, 'Bearer kubelet-secret');

  const pods = JSON.parse(
    (
      await getJSON(
        `${base}/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb`,
      )
    ).body,
  );
  assert.equal(pods.kind, 'PodMetricsList');
  assert.equal(pods.items.length, 1);
  const pod = pods.items[0];
  assert.equal(pod.metadata.name, 'web-1');
  assert.deepEqual(pod.metadata.labels, { app: 'web' });
  assert.match(pod.window, /^0\.\d+s$|^\d+ms$/);
  assert.equal(pod.containers[0].usage.memory, '20484Ki');
  const nanocores = nanoValue(pod.containers[0].usage.cpu);
  assert.ok(
    Math.abs(nanocores - 50_000_000) < 10_000_000,
    `cpu ~50m, got ${pod.containers[0].usage.cpu}`,
  );

  const nodes = JSON.parse((await getJSON(`${base}/apis/metrics.k8s.io/v1beta1/nodes`)).body);
  assert.equal(nodes.items[0].metadata.name, 'node1');
  assert.equal(nodes.items[0].usage.memory, '2Gi');
  const none = JSON.parse(
    (
      await getJSON(
        `${base}/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Ddb`,
      )
    ).body,
  );
  assert.deepEqual(none.items, []);
  ac.abort();
  await server.stopped();
});
