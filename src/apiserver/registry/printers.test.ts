// Golden-row tests for the Table printers (columns and cells as printers.go renders them).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/object.js';
import { strategyFor } from './index.js';

const now = Date.parse('2026-01-01T12:00:00Z');
const ago = (s: number): string => new Date(now - s * 1000).toISOString().replace('.000', '');
const meta = (name: string, ageSeconds = 5) => ({
  name,
  namespace: 'default',
  creationTimestamp: ago(ageSeconds),
});

function table(
  group: string,
  resource: string,
  obj: KObject,
): { headers: string; cells: unknown[] } {
  const t = strategyFor(group, resource).table;
  assert.ok(t, `no table for ${group}/${resource}`);
  const headers = t.columns.map((c) => (c.priority > 0 ? `(${c.name})` : c.name)).join(' | ');
  const cells = t.cells(obj, now);
  assert.equal(cells.length, t.columns.length, 'one cell per column');
  return { headers, cells };
}

const running = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  ready: true,
  started: true,
  restartCount: 0,
  state: { running: { startedAt: ago(3) } },
  ...extra,
});

describe('pod printer', () => {
  const pod = (status: Record<string, unknown>, extra: Partial<KObject> = {}): KObject => ({
    metadata: meta('web-1'),
    spec: { containers: [{ name: 'c' }], nodeName: 'skiff-node' },
    status,
    ...extra,
  });
  const cases: [string, KObject, unknown[]][] = [
    [
      'running with a recent restart',
      pod({
        phase: 'Running',
        podIP: '10.244.0.11',
        podIPs: [{ ip: '10.244.0.11' }],
        containerStatuses: [
          running('c', {
            restartCount: 1,
            lastState: { terminated: { exitCode: 137, finishedAt: ago(12) } },
          }),
        ],
      }),
      [
        'web-1',
        '1/1',
        'Running',
        '1 (12s ago)',
        '5s',
        '10.244.0.11',
        'skiff-node',
        '<none>',
        '<none>',
      ],
    ],
    [
      'pending while creating containers',
      pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'c',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ContainerCreating' } },
          },
        ],
      }),
      ['web-1', '0/1', 'ContainerCreating', '0', '5s', '<none>', 'skiff-node', '<none>', '<none>'],
    ],
    [
      'crash looping',
      pod({
        phase: 'Running',
        containerStatuses: [
          {
            name: 'c',
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(125) } },
          },
        ],
      }),
      [
        'web-1',
        '0/1',
        'CrashLoopBackOff',
        '4 (2m5s ago)',
        '5s',
        '<none>',
        'skiff-node',
        '<none>',
        '<none>',
      ],
    ],
    [
      'completed',
      pod({
        phase: 'Succeeded',
        containerStatuses: [
          {
            name: 'c',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, reason: 'Completed' } },
          },
        ],
      }),
      ['web-1', '0/1', 'Completed', '0', '5s', '<none>', 'skiff-node', '<none>', '<none>'],
    ],
    [
      'OOM killed',
      pod({
        phase: 'Running',
        containerStatuses: [
          {
            name: 'c',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
          },
        ],
      }),
      ['web-1', '0/1', 'OOMKilled', '0', '5s', '<none>', 'skiff-node', '<none>', '<none>'],
    ],
    [
      'exit code without reason',
      pod({
        phase: 'Failed',
        containerStatuses: [
          { name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } },
        ],
      }),
      ['web-1', '0/1', 'ExitCode:3', '0', '5s', '<none>', 'skiff-node', '<none>', '<none>'],
    ],
    [
      'terminating',
      {
        ...pod({ phase: 'Running', containerStatuses: [running('c')] }),
        metadata: { ...meta('web-1'), deletionTimestamp: ago(0) },
      },
      ['web-1', '1/1', 'Terminating', '0', '5s', '<none>', 'skiff-node', '<none>', '<none>'],
    ],
    [
      'waiting for an init container',
      {
        metadata: meta('web-1'),
        spec: { initContainers: [{ name: 'init' }], containers: [{ name: 'c' }] },
        status: {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'init', ready: false, restartCount: 0, state: { running: {} } },
          ],
          containerStatuses: [
            {
              name: 'c',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'PodInitializing' } },
            },
          ],
        },
      },
      ['web-1', '0/1', 'Init:0/1', '0', '5s', '<none>', '<none>', '<none>', '<none>'],
    ],
  ];
  for (const [name, obj, want] of cases) {
    it(name, () => assert.deepEqual(table('', 'pods', obj).cells, want));
  }
  it('has the upstream columns', () => {
    assert.equal(
      table('', 'pods', cases[0]?.[1] as KObject).headers,
      'Name | Ready | Status | Restarts | Age | (IP) | (Node) | (Nominated Node) | (Readiness Gates)',
    );
  });
});

describe('workload, service and other printers', () => {
  const template = {
    metadata: { labels: { app: 'web' } },
    spec: {
      containers: [
        { name: 'web', image: 'nginx:1.27' },
        { name: 'side', image: 'busybox' },
      ],
    },
  };
  const cases: [string, string, string, KObject, string, unknown[]][] = [
    [
      'deployment',
      'apps',
      'deployments',
      {
        metadata: meta('web', 218),
        spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template },
        status: { readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 },
      },
      'Name | Ready | Up-to-date | Available | Age | (Containers) | (Images) | (Selector)',
      ['web', '1/2', 2, 1, '3m38s', 'web,side', 'nginx:1.27,busybox', 'app=web'],
    ],
    [
      'replicaset',
      'apps',
      'replicasets',
      {
        metadata: meta('web-5d9c7b8f4', 8 * 3600),
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d9c7b8f4' } },
          template,
        },
        status: { replicas: 3, readyReplicas: 2 },
      },
      'Name | Desired | Current | Ready | Age | (Containers) | (Images) | (Selector)',
      [
        'web-5d9c7b8f4',
        3,
        3,
        2,
        '8h',
        'web,side',
        'nginx:1.27,busybox',
        'app=web,pod-template-hash=5d9c7b8f4',
      ],
    ],
    [
      'service',
      '',
      'services',
      {
        metadata: meta('web', 51 * 3600),
        spec: {
          type: 'NodePort',
          clusterIP: '10.96.12.7',
          clusterIPs: ['10.96.12.7'],
          ports: [
            { port: 80, protocol: 'TCP', nodePort: 30080 },
            { port: 53, protocol: 'UDP' },
          ],
          selector: { tier: 'fe', app: 'web' },
        },
      },
      'Name | Type | Cluster-IP | External-IP | Port(s) | Age | (Selector)',
      ['web', 'NodePort', '10.96.12.7', '<none>', '80:30080/TCP,53/UDP', '2d3h', 'app=web,tier=fe'],
    ],
    [
      'loadbalancer service pending',
      '',
      'services',
      {
        metadata: meta('lb'),
        spec: {
          type: 'LoadBalancer',
          clusterIPs: ['10.96.0.20'],
          ports: [{ port: 443, protocol: 'TCP', nodePort: 31000 }],
        },
        status: { loadBalancer: {} },
      },
      'Name | Type | Cluster-IP | External-IP | Port(s) | Age | (Selector)',
      ['lb', 'LoadBalancer', '10.96.0.20', '<pending>', '443:31000/TCP', '5s', '<none>'],
    ],
    [
      'endpoints',
      '',
      'endpoints',
      {
        metadata: meta('web'),
        subsets: [
          {
            addresses: [
              { ip: '10.244.0.1' },
              { ip: '10.244.0.2' },
              { ip: '10.244.0.3' },
              { ip: '10.244.0.4' },
            ],
            ports: [{ port: 5000 }],
          },
        ],
      },
      'Name | Endpoints | Age',
      ['web', '10.244.0.1:5000,10.244.0.2:5000,10.244.0.3:5000 + 1 more...', '5s'],
    ],
    [
      'endpointslice',
      'discovery.k8s.io',
      'endpointslices',
      {
        metadata: meta('web-abcde'),
        addressType: 'IPv4',
        ports: [{ port: 5000, name: '' }],
        endpoints: [{ addresses: ['10.244.0.1'] }, { addresses: ['10.244.0.2'] }],
      } as KObject,
      'Name | AddressType | Ports | Endpoints | Age',
      ['web-abcde', 'IPv4', '5000', '10.244.0.1,10.244.0.2', '5s'],
    ],
    [
      'ingress',
      'networking.k8s.io',
      'ingresses',
      {
        metadata: meta('web'),
        spec: { rules: [{ http: { paths: [] } }] },
        status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } },
      },
      'Name | Class | Hosts | Address | Ports | Age',
      ['web', '<none>', '*', '127.0.0.1', '80', '5s'],
    ],
    [
      'hpa with current utilization',
      'autoscaling',
      'horizontalpodautoscalers',
      {
        metadata: meta('web', 600),
        spec: {
          scaleTargetRef: { kind: 'Deployment', name: 'web' },
          minReplicas: 2,
          maxReplicas: 10,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
            },
          ],
        },
        status: {
          currentReplicas: 2,
          currentMetrics: [
            { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 12 } } },
          ],
        },
      },
      'Name | Reference | Targets | MinPods | MaxPods | Replicas | Age',
      ['web', 'Deployment/web', 'cpu: 12%/50%', '2', 10, 2, '10m'],
    ],
    [
      'hpa without metrics yet',
      'autoscaling',
      'horizontalpodautoscalers',
      {
        metadata: meta('web'),
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
        status: {},
      },
      'Name | Reference | Targets | MinPods | MaxPods | Replicas | Age',
      ['web', 'Deployment/web', 'cpu: <unknown>/50%', '<unset>', 10, 0, '5s'],
    ],
    [
      'namespace',
      '',
      'namespaces',
      { metadata: meta('team-a', 60 * 86400), status: { phase: 'Active' } },
      'Name | Status | Age',
      ['team-a', 'Active', '60d'],
    ],
    [
      'node',
      '',
      'nodes',
      {
        metadata: {
          ...meta('skiff', 3 * 86400 + 4 * 3600),
          labels: { 'node-role.kubernetes.io/control-plane': '' },
        },
        status: {
          conditions: [{ type: 'Ready', status: 'True' }],
          addresses: [{ type: 'InternalIP', address: '10.0.0.5' }],
          nodeInfo: {
            kubeletVersion: 'v1.32.4',
            osImage: 'Debian',
            kernelVersion: '6.1',
            containerRuntimeVersion: 'skiff://0.1.0',
          },
        },
      },
      'Name | Status | Roles | Age | Version | (Internal-IP) | (External-IP) | (OS-Image) | (Kernel-Version) | (Container-Runtime)',
      [
        'skiff',
        'Ready',
        'control-plane',
        '3d4h',
        'v1.32.4',
        '10.0.0.5',
        '<none>',
        'Debian',
        '6.1',
        'skiff://0.1.0',
      ],
    ],
    [
      'secret',
      '',
      'secrets',
      { metadata: meta('s'), type: 'Opaque', data: { a: 'YQ==', b: 'Yg==' } } as KObject,
      'Name | Type | Data | Age',
      ['s', 'Opaque', 2, '5s'],
    ],
    [
      'configmap',
      '',
      'configmaps',
      { metadata: meta('c'), data: { a: '1' } } as KObject,
      'Name | Data | Age',
      ['c', 1, '5s'],
    ],
    [
      'job',
      'batch',
      'jobs',
      {
        metadata: meta('once', 30),
        spec: {
          completions: 1,
          selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } },
          template,
        },
        status: {
          succeeded: 1,
          startTime: ago(30),
          completionTime: ago(20),
          conditions: [{ type: 'Complete', status: 'True' }],
        },
      },
      'Name | Status | Completions | Duration | Age | (Containers) | (Images) | (Selector)',
      [
        'once',
        'Complete',
        '1/1',
        '10s',
        '30s',
        'web,side',
        'nginx:1.27,busybox',
        'batch.kubernetes.io/controller-uid=u',
      ],
    ],
    [
      'custom resource definition (default table)',
      'apiextensions.k8s.io',
      'customresourcedefinitions',
      { metadata: meta('foos.example.com') },
      'Name | Created At',
      ['foos.example.com', ago(5)],
    ],
  ];
  for (const [name, group, resource, obj, headers, want] of cases) {
    it(name, () => {
      const t = table(group, resource, obj);
      assert.equal(t.headers, headers);
      assert.deepEqual(t.cells, want);
    });
  }

  it('prints events with object, source and counts', () => {
    const ev = {
      metadata: meta('web.17a'),
      type: 'Normal',
      reason: 'Scheduled',
      message: 'Successfully assigned default/web to skiff ',
      involvedObject: { kind: 'Pod', name: 'web' },
      source: { component: 'default-scheduler' },
      firstTimestamp: ago(70),
      lastTimestamp: ago(10),
      count: 2,
    } as KObject;
    const t = table('', 'events', ev);
    assert.equal(
      t.headers,
      'Last Seen | Type | Reason | Object | (Subobject) | (Source) | Message | (First Seen) | (Count) | (Name)',
    );
    assert.deepEqual(t.cells, [
      '10s',
      'Normal',
      'Scheduled',
      'pod/web',
      '',
      'default-scheduler',
      'Successfully assigned default/web to skiff',
      '70s',
      2,
      'web.17a',
    ]);
  });
});
