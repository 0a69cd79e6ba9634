// Table tests of the dashboard view model and HTML helpers: kubectl-style pod status, grouping of
// pods under Deployments, HPA samples, event order, escaping and ingress rates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Event, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { age, escapeHtml, renderIngress, renderWorkloads } from './html.js';
import { IngressRates, isIngressStats, SeriesTable } from './series.js';
import { groupWorkloads, hpaSample, podStatus, recentEvents } from './view.js';

const container = (state: Record<string, unknown>, ready = false, restartCount = 0) => ({
  name: 'app',
  image: 'img',
  imageID: '',
  ready,
  restartCount,
  state,
});

function pod(
  name: string,
  status: PodStatus,
  owner?: string,
  extra: Partial<Pod['metadata']> = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: owner
        ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: owner, controller: true }]
        : undefined,
      ...extra,
    },
    spec: { containers: [{ name: 'app' }] },
    status,
  };
}

describe('podStatus', () => {
  const cases: [string, Pod, string][] = [
    [
      'running and ready',
      pod('a', { phase: 'Running', containerStatuses: [container({ running: {} }, true)] }),
      'Running',
    ],
    ['pending with no status', pod('a', { phase: 'Pending' }), 'Pending'],
    [
      'waiting to be created',
      pod('a', {
        phase: 'Pending',
        containerStatuses: [container({ waiting: { reason: 'ContainerCreating' } })],
      }),
      'ContainerCreating',
    ],
    [
      'crash looping',
      pod('a', {
        phase: 'Running',
        containerStatuses: [container({ waiting: { reason: 'CrashLoopBackOff' } }, false, 3)],
      }),
      'CrashLoopBackOff',
    ],
    [
      'exited without a reason',
      pod('a', {
        phase: 'Running',
        containerStatuses: [container({ terminated: { exitCode: 137 } })],
      }),
      'ExitCode:137',
    ],
    [
      'being deleted',
      pod('a', { phase: 'Running' }, undefined, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
      'Terminating',
    ],
  ];
  for (const [name, p, want] of cases)
    test(`${name} → ${want}`, () => assert.equal(podStatus(p), want));
});

describe('groupWorkloads', () => {
  const dep = (ns: string, name: string): Deployment => ({
    metadata: { name, namespace: ns },
    spec: { replicas: 2, selector: {}, template: {} },
    status: { readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 },
  });
  const rs = (ns: string, name: string, owner: string): ReplicaSet => ({
    metadata: {
      name,
      namespace: ns,
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: owner, uid: owner, controller: true },
      ],
    },
    spec: { selector: {} },
  });

  test('puts pods under the Deployment of their ReplicaSet and the rest in "other pods"', () => {
    const groups = groupWorkloads(
      [dep('default', 'web'), dep('kube-system', 'metrics-server')],
      [rs('default', 'web-1', 'web'), rs('default', 'web-2', 'web')],
      [
        pod(
          'web-2-b',
          { phase: 'Running', containerStatuses: [container({ running: {} }, true, 2)] },
          'web-2',
        ),
        pod('web-1-a', { phase: 'Pending' }, 'web-1'),
        pod('bare', { phase: 'Running', containerStatuses: [container({ running: {} }, true)] }),
      ],
    );
    assert.deepEqual(
      groups.map((g) => [g.namespace, g.name, g.pods.map((p) => p.name)]),
      [
        ['default', 'web', ['web-1-a', 'web-2-b']],
        ['default', 'other pods', ['bare']],
        ['kube-system', 'metrics-server', []],
      ],
    );
    assert.equal(groups[0]?.desired, 2);
    assert.equal(groups[0]?.pods[1]?.restarts, 2);
    assert.equal(groups[1]?.ready, 1);
  });

  test('renders a flashing card for a restarted pod, escaping names', () => {
    const groups = groupWorkloads([], [], [pod('x<y', { phase: 'Running' })]);
    const html = renderWorkloads(
      groups,
      Date.parse('2026-01-01T00:00:00Z'),
      new Set(['default/x<y']),
    );
    assert.match(html, /class="pod warn flash" data-pod="default\/x&#60;y"/);
    assert.doesNotMatch(html, /x<y/);
  });
});

describe('hpaSample', () => {
  test('reads replicas, desired and CPU utilization vs target', () => {
    const s = hpaSample({
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web' },
        maxReplicas: 10,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      },
      status: {
        currentReplicas: 3,
        desiredReplicas: 5,
        currentMetrics: [
          { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 120 } } },
        ],
      },
    });
    assert.deepEqual(
      [
        s.target,
        s.minReplicas,
        s.maxReplicas,
        s.currentReplicas,
        s.desiredReplicas,
        s.cpu,
        s.cpuTarget,
      ],
      ['Deployment/web', 1, 10, 3, 5, 120, 50],
    );
  });
});

describe('recentEvents', () => {
  test('orders by last timestamp, newest first, and limits', () => {
    const ev = (name: string, ts: string): Event => ({
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'Pod', name },
      lastTimestamp: ts,
      reason: 'Started',
    });
    const out = recentEvents(
      [
        ev('a', '2026-01-01T00:00:01Z'),
        ev('b', '2026-01-01T00:00:03Z'),
        ev('c', '2026-01-01T00:00:02Z'),
      ],
      2,
    );
    assert.deepEqual(
      out.map((e) => e.object),
      ['pod/b', 'pod/c'],
    );
  });
});

describe('helpers', () => {
  test('escapeHtml escapes markup and quotes', () =>
    assert.equal(escapeHtml(`<a href="x">'&`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;'));
  const now = Date.parse('2026-01-01T12:00:00Z');
  const cases: [string, string][] = [
    ['2026-01-01T11:59:15Z', '45s'],
    ['2026-01-01T11:56:48Z', '3m12s'],
    ['2026-01-01T11:40:00Z', '20m'],
    ['2026-01-01T09:55:00Z', '2h5m'],
    ['2025-12-28T12:00:00Z', '4d'],
  ];
  for (const [from, want] of cases)
    test(`age ${from} → ${want}`, () => assert.equal(age(from, now), want));

  test('SeriesTable keeps aligned columns and drops the oldest point past capacity', () => {
    const t = new SeriesTable({ width: 2, capacity: 2 });
    t.push([1, 10]);
    t.push([2, null]);
    t.push([3, 30]);
    assert.deepEqual(t.columns, [
      [2, 3],
      [null, 30],
    ]);
  });

  test('IngressRates derives rates from counter differences and rebases after a restart', () => {
    const r = new IngressRates();
    assert.equal(r.next(1000, { requests: 100, errors: 1 }), undefined);
    const s = r.next(3000, { requests: 300, errors: 5, latencyMs: { p50: 1, p99: 4 } });
    assert.deepEqual(s, { t: 3, rps: 100, errorsPerSecond: 2, p50: 1, p99: 4, requests: 300 });
    assert.equal(r.next(4000, { requests: 10, errors: 0 }), undefined, 'counters went back');
    const cold = r.next(5000, { requests: 30, errors: 0, events: { held: 20, coldStart: 1 } });
    assert.equal(cold?.held, 20);
    assert.equal(cold?.coldStarts, 1);
    assert.match(renderIngress(cold, 'http://x/stats'), /held 20 · cold starts 1/);
    assert.equal(isIngressStats({ requests: 1 }), false);
  });
});
