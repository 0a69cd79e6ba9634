// Tests of metrics-server storage: CPU as a rate between the last two points, memory as the last
// working set, restarts, repeats, and decoding of the kubelet Summary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsStorage, resourceUsage } from './storage.js';
import { decodeSummary, newBatch, type Summary } from './summary.js';

const t0 = Date.UTC(2026, 0, 1, 0, 0, 0);

function summary(at: number, nodeCpuNs: number, pods: Record<string, [number, number][]>): Summary {
  const iso = new Date(at).toISOString();
  return {
    node: {
      nodeName: 'node1',
      startTime: new Date(t0 - 3_600_000).toISOString(),
      cpu: { time: iso, usageCoreNanoSeconds: nodeCpuNs },
      memory: { time: iso, workingSetBytes: 1024 * 1024 * 1024 },
    },
    pods: Object.entries(pods).map(([name, containers]) => ({
      podRef: { name, namespace: 'default' },
      containers: containers.map(([cpu, mem], i) => ({
        name: `c${i}`,
        startTime: new Date(t0 - 60_000).toISOString(),
        cpu: { time: iso, usageCoreNanoSeconds: cpu },
        memory: { time: iso, workingSetBytes: mem },
      })),
    })),
  };
}

function store(s: MetricsStorage, sum: Summary): void {
  const batch = newBatch();
  decodeSummary(sum, batch);
  s.store(batch);
}

test('resourceUsage is (cpu2 - cpu1) / (t2 - t1) in nanocores over window t2 - t1', () => {
  const u = resourceUsage(
    { timestamp: t0 + 1002, startTime: 0, cumulativeCpuUsed: 3_000_000_000, memoryUsage: 20975616 },
    { timestamp: t0, startTime: 0, cumulativeCpuUsed: 2_949_900_000, memoryUsage: 1 },
  );
  assert.deepEqual(u, {
    cpuNanoCores: 50_000_000,
    memoryBytes: 20975616,
    timestamp: t0 + 1002,
    window: 1002,
  });
  assert.throws(
    () =>
      resourceUsage(
        { timestamp: t0 + 1000, startTime: 0, cumulativeCpuUsed: 1, memoryUsage: 0 },
        { timestamp: t0, startTime: 0, cumulativeCpuUsed: 2, memoryUsage: 0 },
      ),
    /unexpected decrease in cumulative CPU usage value/,
  );
});

test('storage needs two points, then serves the latest pair', () => {
  const s = new MetricsStorage({ resolutionMs: 1000 });
  store(s, summary(t0, 1e9, { web: [[1e8, 5e6]] }));
  assert.equal(s.isReady(), false);
  assert.equal(s.podUsage('default/web'), undefined);
  store(s, summary(t0 + 1000, 1.5e9, { web: [[1.5e8, 6e6]] }));
  assert.equal(s.isReady(), true);
  assert.deepEqual(s.nodeUsage('node1'), {
    cpuNanoCores: 500_000_000,
    memoryBytes: 1024 ** 3,
    timestamp: t0 + 1000,
    window: 1000,
  });
  const pod = s.podUsage('default/web');
  assert.equal(pod?.containers[0]?.usage.cpuNanoCores, 50_000_000);
  assert.equal(pod?.containers[0]?.usage.memoryBytes, 6e6);
  // The same sample again (kubelet cache) keeps the older pair rather than losing the window.
  store(s, summary(t0 + 1000, 1.5e9, { web: [[1.5e8, 6e6]] }));
  assert.equal(s.podUsage('default/web')?.window, 1000);
  store(s, summary(t0 + 3000, 2.5e9, { web: [[1.7e8, 6e6]] }));
  assert.equal(s.podUsage('default/web')?.containers[0]?.usage.cpuNanoCores, 10_000_000);
  assert.equal(s.podUsage('default/web')?.window, 2000);
});

test('a restarted container and a pod missing from a scrape have no usage', () => {
  const s = new MetricsStorage({ resolutionMs: 1000 });
  store(s, summary(t0, 1e9, { web: [[5e8, 1]], db: [[1e8, 1]] }));
  store(s, summary(t0 + 1000, 2e9, { web: [[1e7, 1]], db: [[2e8, 1]] }));
  assert.equal(s.podUsage('default/web'), undefined, 'counter went backwards');
  assert.ok(s.podUsage('default/db'));
  store(s, summary(t0 + 2000, 3e9, { web: [[2e7, 1]] }));
  assert.equal(s.podUsage('default/db'), undefined, 'gone from the last scrape');
  assert.equal(s.podUsage('default/web')?.containers[0]?.usage.cpuNanoCores, 10_000_000);
});

test('a pod is served only when every container has a pair; times are the earliest', () => {
  const s = new MetricsStorage({ resolutionMs: 1000 });
  store(s, summary(t0, 1e9, { two: [[1e8, 1]] }));
  store(
    s,
    summary(t0 + 1000, 2e9, {
      two: [
        [2e8, 1],
        [1e8, 1],
      ],
    }),
  );
  assert.equal(s.podUsage('default/two'), undefined, 'c1 has one point only');
  store(
    s,
    summary(t0 + 2000, 3e9, {
      two: [
        [3e8, 1],
        [2e8, 1],
      ],
    }),
  );
  const u = s.podUsage('default/two');
  assert.deepEqual(
    u?.containers.map((c) => [c.name, c.usage.cpuNanoCores]),
    [
      ['c0', 100_000_000],
      ['c1', 100_000_000],
    ],
  );
});

test('decodeSummary drops a pod whose container lacks stats', () => {
  const sum = summary(t0, 1e9, { web: [[1, 1]] });
  delete sum.pods?.[0]?.containers?.[0]?.memory;
  const batch = newBatch();
  decodeSummary(sum, batch);
  assert.equal(batch.pods.size, 0);
  assert.equal(batch.nodes.size, 1);
});
