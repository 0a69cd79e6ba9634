// Tests of the metrics.k8s.io REST surface: PodMetrics/NodeMetrics shapes, selectors, NotFound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGoDuration, parseGoDuration } from '../api/exact-quantity.js';
import { handleMetricsRequest, type MetricsObjects } from './api.js';
import { MetricsStorage } from './storage.js';

const t0 = Date.UTC(2026, 0, 1, 0, 0, 15);

function setup() {
  const storage = new MetricsStorage({ resolutionMs: 1000 });
  const pt = (ts: number, cpu: number, mem: number) => ({
    timestamp: ts,
    startTime: t0 - 60_000,
    cumulativeCpuUsed: cpu,
    memoryUsage: mem,
  });
  const batch = (ts: number, k: number) => ({
    nodes: new Map([['node1', pt(ts, k * 123_000_000, 1073741824)]]),
    pods: new Map([
      ['default/web-1', new Map([['web', pt(ts, k * 12_000_000, 20975616)]])],
      ['default/web-2', new Map([['web', pt(ts, k * 123_456, 20975616)]])],
      ['kube-system/dns', new Map([['dns', pt(ts, k * 1_000_000, 1048576)]])],
    ]),
  });
  storage.store(batch(t0 - 1002, 1));
  storage.store(batch(t0, 2));
  const objects: MetricsObjects = {
    listPods: (ns) =>
      (
        [
          { namespace: 'default', name: 'web-1', labels: { app: 'web', tier: 'a' } },
          { namespace: 'default', name: 'web-2', labels: { app: 'web', tier: 'b' } },
          { namespace: 'default', name: 'no-metrics', labels: { app: 'web' } },
          { namespace: 'kube-system', name: 'dns', labels: { k8s: 'dns' } },
        ] as { namespace: string; name: string; labels: Record<string, string> }[]
      ).filter((p) => ns === undefined || p.namespace === ns),
    listNodes: () => [{ name: 'node1', labels: { role: 'x' } }],
  };
  const get = (path: string) => {
    const u = new URL(path, 'https://x');
    return handleMetricsRequest(
      { method: 'GET', path: u.pathname, query: u.searchParams },
      { storage, objects, now: t0 + 500 },
    );
  };
  return { get };
}

const names = (body: unknown) =>
  (body as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);

test('PodMetricsList in a namespace has the upstream shape', () => {
  const { get } = setup();
  const res = get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods');
  assert.equal(res.status, 200);
  const body = res.body as { kind: string; items: unknown[] };
  assert.equal(body.kind, 'PodMetricsList');
  assert.deepEqual(body.items[0], {
    kind: 'PodMetrics',
    apiVersion: 'metrics.k8s.io/v1beta1',
    metadata: {
      name: 'web-1',
      namespace: 'default',
      labels: { app: 'web', tier: 'a' },
      creationTimestamp: '2026-01-01T00:00:15Z',
    },
    timestamp: '2026-01-01T00:00:15Z',
    window: '1.002s',
    containers: [{ name: 'web', usage: { cpu: '11976047n', memory: '20484Ki' } }],
  });
  assert.deepEqual(names(res.body), ['web-1', 'web-2'], 'pods without a window are left out');
});

test('label and field selectors filter pods; all namespaces list', () => {
  const { get } = setup();
  assert.deepEqual(
    names(get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=tier%3Db').body),
    ['web-2'],
  );
  assert.deepEqual(
    names(
      get(
        '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%20in%20(web),tier!%3Db',
      ).body,
    ),
    ['web-1'],
  );
  assert.deepEqual(names(get('/apis/metrics.k8s.io/v1beta1/pods').body), ['web-1', 'web-2', 'dns']);
  assert.deepEqual(
    names(
      get('/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace%3Dkube-system').body,
    ),
    ['dns'],
  );
  assert.deepEqual(
    names(get('/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.name!%3Ddns').body),
    ['web-1', 'web-2'],
  );
  assert.equal(
    get('/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=spec.nodeName%3Dx').status,
    400,
  );
  assert.equal(get('/apis/metrics.k8s.io/v1beta1/pods?labelSelector=%3D%3D').status, 400);
});

test('get one pod or node, and NotFound with the upstream message', () => {
  const { get } = setup();
  const one = get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-2');
  assert.equal((one.body as { kind: string }).kind, 'PodMetrics');
  const missing = get('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/no-metrics');
  assert.equal(missing.status, 404);
  assert.equal(
    (missing.body as { message: string }).message,
    'podmetrics.metrics.k8s.io "default/no-metrics" not found',
  );
  const node = get('/apis/metrics.k8s.io/v1beta1/nodes/node1').body as {
    usage: Record<string, string>;
  };
  assert.deepEqual(node.usage, { cpu: '122754491n', memory: '1Gi' });
  assert.equal(get('/apis/metrics.k8s.io/v1beta1/nodes/nope').status, 404);
  assert.deepEqual(names(get('/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=role%3Dx').body), [
    'node1',
  ]);
  assert.deepEqual(
    names(get('/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=role%3Dy').body),
    [],
  );
});

test('discovery lists pods and nodes', () => {
  const { get } = setup();
  const d = get('/apis/metrics.k8s.io/v1beta1').body as {
    resources: { name: string; kind: string }[];
  };
  assert.deepEqual(
    d.resources.map((r) => [r.name, r.kind]),
    [
      ['nodes', 'NodeMetrics'],
      ['pods', 'PodMetrics'],
    ],
  );
  assert.equal(get('/apis/metrics.k8s.io/v1beta1/services').status, 404);
});

test('formatGoDuration matches time.Duration.String()', () => {
  assert.equal(formatGoDuration(1002), '1.002s');
  assert.equal(formatGoDuration(15_000), '15s');
  assert.equal(formatGoDuration(500), '500ms');
  assert.equal(formatGoDuration(60_000), '1m0s');
  assert.equal(formatGoDuration(3_723_500), '1h2m3.5s');
  assert.equal(parseGoDuration('1.002s'), 1002);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('250ms'), 250);
  assert.throws(() => parseGoDuration('15'), SyntaxError);
});
