// Table tests of the pure Endpoints and EndpointSlice computations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { computeEndpoints, findPort } from './endpoints.js';
import { managedByLabel, reconcileSlices, serviceNameLabel } from './endpointslice.js';

function svc(spec: Partial<Service['spec']> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', uid: 'svc-uid', labels: { app: 'web' } },
    spec: {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      clusterIP: '10.96.0.20',
      ...spec,
    },
  };
}

function pod(name: string, ip: string, opts: { ready?: boolean; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: { app: 'web' },
      ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: 'node1',
      containers: [{ name: 'c', ports: [{ name: 'web', containerPort: 8080 }] }],
    },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  };
}

describe('computeEndpoints', () => {
  const cases: {
    name: string;
    svc: Service;
    pods: Pod[];
    ready: string[];
    notReady: string[];
    port?: number;
  }[] = [
    {
      name: 'ready pods go to addresses sorted by IP',
      svc: svc(),
      pods: [pod('b', '10.244.0.3'), pod('a', '10.244.0.2')],
      ready: ['10.244.0.2', '10.244.0.3'],
      notReady: [],
      port: 8080,
    },
    {
      name: 'a pod whose Ready is False goes to notReadyAddresses',
      svc: svc(),
      pods: [pod('a', '10.244.0.2'), pod('b', '10.244.0.3', { ready: false })],
      ready: ['10.244.0.2'],
      notReady: ['10.244.0.3'],
    },
    {
      name: 'a terminating pod leaves the Endpoints',
      svc: svc(),
      pods: [pod('a', '10.244.0.2'), pod('b', '10.244.0.3', { deleting: true })],
      ready: ['10.244.0.2'],
      notReady: [],
    },
    {
      name: 'publishNotReadyAddresses keeps unready and terminating pods ready',
      svc: svc({ publishNotReadyAddresses: true }),
      pods: [pod('a', '10.244.0.2', { ready: false }), pod('b', '10.244.0.3', { deleting: true })],
      ready: ['10.244.0.2', '10.244.0.3'],
      notReady: [],
    },
    {
      name: 'a named targetPort resolves from the container ports',
      svc: svc({ ports: [{ name: 'http', port: 80, targetPort: 'web' }] }),
      pods: [pod('a', '10.244.0.2')],
      ready: ['10.244.0.2'],
      notReady: [],
      port: 8080,
    },
    {
      name: 'a pod without the named port is left out',
      svc: svc({ ports: [{ name: 'http', port: 80, targetPort: 'metrics' }] }),
      pods: [pod('a', '10.244.0.2')],
      ready: [],
      notReady: [],
    },
    {
      name: 'a pod without an IP is left out',
      svc: svc(),
      pods: [pod('a', '')],
      ready: [],
      notReady: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ep = computeEndpoints(c.svc, c.pods)!;
      const ready = ep.subsets?.flatMap((s) => s.addresses?.map((a) => a.ip) ?? []) ?? [];
      const notReady =
        ep.subsets?.flatMap((s) => s.notReadyAddresses?.map((a) => a.ip) ?? []) ?? [];
      assert.deepEqual(ready, c.ready);
      assert.deepEqual(notReady, c.notReady);
      if (c.port) assert.equal(ep.subsets?.[0]?.ports?.[0]?.port, c.port);
    });
  }

  test('a Service without a selector is not managed', () => {
    assert.equal(computeEndpoints(svc({ selector: undefined }), [pod('a', '1.1.1.1')]), undefined);
  });

  test('targetRef names the pod', () => {
    const ep = computeEndpoints(svc(), [pod('a', '10.244.0.2')])!;
    assert.deepEqual(ep.subsets?.[0]?.addresses?.[0]?.targetRef, {
      kind: 'Pod',
      namespace: 'default',
      name: 'a',
      uid: 'uid-a',
    });
  });

  test('findPort defaults targetPort to port', () => {
    assert.equal(findPort(pod('a', '1.1.1.1'), { port: 5000 }), 5000);
  });
});

describe('reconcileSlices', () => {
  test('creates one labelled slice with ready/serving/terminating conditions', () => {
    const plan = reconcileSlices(
      svc(),
      [
        pod('a', '10.244.0.2'),
        pod('b', '10.244.0.3', { ready: false }),
        pod('c', '10.244.0.4', { deleting: true }),
      ],
      [],
    );
    assert.equal(plan.create.length, 1);
    const s = plan.create[0]!;
    assert.equal(s.metadata?.labels?.[serviceNameLabel], 'web');
    assert.equal(s.metadata?.labels?.[managedByLabel], 'endpointslice-controller.k8s.io');
    assert.equal(s.metadata?.ownerReferences?.[0]?.uid, 'svc-uid');
    assert.deepEqual(
      s.endpoints.map((e) => [e.addresses[0], e.conditions]),
      [
        ['10.244.0.2', { ready: true, serving: true, terminating: false }],
        ['10.244.0.3', { ready: false, serving: false, terminating: false }],
        ['10.244.0.4', { ready: false, serving: true, terminating: true }],
      ],
    );
    assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });

  test('updates the existing slice in place, and is a no-op when nothing changed', () => {
    const first = reconcileSlices(svc(), [pod('a', '10.244.0.2')], []).create[0]!;
    const existing: EndpointSlice = {
      ...first,
      metadata: { ...first.metadata, name: 'web-abcde' },
    };
    assert.deepEqual(reconcileSlices(svc(), [pod('a', '10.244.0.2')], [existing]), {
      create: [],
      update: [],
      delete: [],
    });
    const plan = reconcileSlices(svc(), [pod('a', '10.244.0.2', { ready: false })], [existing]);
    assert.equal(plan.update.length, 1);
    assert.equal(plan.update[0]?.metadata?.name, 'web-abcde');
    assert.equal(plan.update[0]?.endpoints[0]?.conditions?.ready, false);
  });

  test('keeps an empty placeholder slice when no pod matches, and deletes extras', () => {
    const a = reconcileSlices(svc(), [pod('a', '10.244.0.2')], []).create[0]!;
    const s1 = { ...a, metadata: { ...a.metadata, name: 'web-1' } };
    const s2 = { ...a, metadata: { ...a.metadata, name: 'web-2' } };
    const plan = reconcileSlices(svc(), [], [s1, s2]);
    assert.equal(plan.create.length, 1);
    assert.deepEqual(plan.create[0]?.endpoints, []);
    assert.deepEqual(
      plan.delete.map((s) => s.metadata?.name),
      ['web-1', 'web-2'],
    );
  });

  test('splits endpoints beyond the per-slice maximum', () => {
    const pods = [1, 2, 3, 4, 5].map((i) => pod(`p${i}`, `10.244.0.${i}`));
    const plan = reconcileSlices(svc(), pods, [], 2);
    assert.deepEqual(
      plan.create.map((s) => s.endpoints.length),
      [2, 2, 1],
    );
  });
});
