// Table tests for defaults, create/update preparation and validation messages of the strategies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/object.js';
import { FakeClock } from '../../lib/clock.js';
import { decodeProtobuf } from '../protobuf/decode.js';
import { registryConfig } from './config.js';
import { strategies } from './index.js';
import type { FieldError, RegistryConfig, StrategyContext } from './types.js';

const ctx = (stored: KObject[] = [], config: Partial<RegistryConfig> = {}): StrategyContext => ({
  clock: new FakeClock(),
  config: registryConfig(config),
  listStored: () => stored,
});

/** Runs defaults → prepareForCreate → validate like the create handler. */
function create(key: string, obj: KObject, c = ctx()): { obj: KObject; errs: FieldError[] } {
  const s = strategies.get(key);
  assert.ok(s, `no strategy ${key}`);
  const o = structuredClone(obj);
  s.defaults?.(o, c);
  s.prepareForCreate?.(o, c);
  return { obj: o, errs: s.validate?.(o, c) ?? [] };
}

const fixture = (name: string): KObject =>
  decodeProtobuf(readFileSync(new URL(`../protobuf/testdata/${name}.bin`, import.meta.url)));

const msg = (errs: FieldError[]): string[] =>
  errs.map(
    (e) =>
      `${e.field}: ${e.type}${e.value !== undefined ? ` ${JSON.stringify(e.value)}` : ''}: ${e.detail}`,
  );

describe('Deployment', () => {
  it('defaults kubectl create deployment like a real apiserver', () => {
    const { obj, errs } = create('apps/deployments', fixture('deployment'));
    assert.deepEqual(errs, []);
    assert.equal(obj.metadata?.generation, 1);
    assert.deepEqual(obj.spec, {
      replicas: 2,
      selector: { matchLabels: { app: 'hello-world-flask' } },
      template: {
        metadata: { labels: { app: 'hello-world-flask' } },
        spec: {
          containers: [
            {
              name: 'hello-world-flask',
              image: 'lyzhang1999/hello-world-flask:latest',
              resources: {},
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              imagePullPolicy: 'Always',
            },
          ],
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          securityContext: {},
          schedulerName: 'default-scheduler',
        },
      },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
      },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    assert.deepEqual(obj.status, {});
  });

  it('keeps status and bumps generation only on spec changes', () => {
    const s = strategies.get('apps/deployments');
    const { obj: old } = create('apps/deployments', fixture('deployment'));
    (old as { status: unknown }).status = { replicas: 2 };
    const same = structuredClone(old);
    (same as { status: unknown }).status = { replicas: 99 };
    s?.prepareForUpdate?.(same, old, ctx());
    assert.equal(same.metadata?.generation, 1);
    assert.deepEqual(same.status, { replicas: 2 });
    const scaled = structuredClone(old);
    (scaled.spec as { replicas: number }).replicas = 3;
    s?.prepareForUpdate?.(scaled, old, ctx());
    assert.equal(scaled.metadata?.generation, 2);
  });

  const base = fixture('deployment');
  const mutate = (f: (d: { spec: Record<string, unknown> } & KObject) => void): KObject => {
    const d = structuredClone(base) as { spec: Record<string, unknown> } & KObject;
    f(d);
    return d;
  };
  const cases: [string, KObject, string[]][] = [
    [
      'selector must match template labels',
      mutate((d) => {
        d.spec.selector = { matchLabels: { app: 'other' } };
      }),
      [
        'spec.template.metadata.labels: FieldValueInvalid {"app":"hello-world-flask"}: `selector` does not match template `labels`',
      ],
    ],
    [
      'negative replicas',
      mutate((d) => {
        d.spec.replicas = -1;
      }),
      ['spec.replicas: FieldValueInvalid -1: must be greater than or equal to 0'],
    ],
    [
      'missing image and bad container name',
      mutate((d) => {
        const c = (d.spec.template as { spec: { containers: Record<string, unknown>[] } }).spec
          .containers[0] as Record<string, unknown>;
        c.image = '';
        c.name = 'Web_1';
      }),
      [
        `spec.template.spec.containers[0].name: FieldValueInvalid "Web_1": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        'spec.template.spec.containers[0].image: FieldValueRequired: ',
      ],
    ],
    [
      'requests above limits and malformed quantities',
      mutate((d) => {
        const c = (d.spec.template as { spec: { containers: Record<string, unknown>[] } }).spec
          .containers[0] as Record<string, unknown>;
        c.resources = { limits: { cpu: '100m', memory: 'lots' }, requests: { cpu: '200m' } };
      }),
      [
        `spec.template.spec.containers[0].resources.limits[memory]: FieldValueInvalid "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
        'spec.template.spec.containers[0].resources.requests[cpu]: FieldValueInvalid "200m": must be less than or equal to cpu limit of 100m',
      ],
    ],
    [
      'container port out of range',
      mutate((d) => {
        const c = (d.spec.template as { spec: { containers: Record<string, unknown>[] } }).spec
          .containers[0] as Record<string, unknown>;
        c.ports = [{ containerPort: 70000, name: 'http' }];
      }),
      [
        'spec.template.spec.containers[0].ports[0].containerPort: FieldValueInvalid 70000: must be between 1 and 65535, inclusive',
      ],
    ],
  ];
  for (const [name, input, want] of cases) {
    it(`rejects ${name}`, () =>
      assert.deepEqual(msg(create('apps/deployments', input).errs), want));
  }

  it('keeps spec.selector immutable', () => {
    const s = strategies.get('apps/deployments');
    const { obj: old } = create('apps/deployments', base);
    const changed = structuredClone(old) as { spec: Record<string, unknown> } & KObject;
    changed.spec.selector = { matchLabels: { app: 'hello-world-flask', x: 'y' } };
    const tmpl = changed.spec.template as { metadata: { labels: Record<string, string> } };
    tmpl.metadata.labels.x = 'y';
    assert.deepEqual(msg(s?.validateUpdate?.(changed, old, ctx()) ?? []), [
      'spec.selector: FieldValueInvalid {"matchLabels":{"app":"hello-world-flask","x":"y"}}: field is immutable',
    ]);
  });
});

describe('Pod', () => {
  const pod: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web' },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx:1.27',
          ports: [{ containerPort: 80 }],
          resources: { limits: { cpu: '500m', memory: '64Mi' } },
          readinessProbe: { httpGet: { port: 80 } },
        },
      ],
    },
  };

  it('applies pod defaults, admission defaults and computes the QoS class', () => {
    const { obj, errs } = create('/pods', pod);
    assert.deepEqual(errs, []);
    const spec = obj.spec as Record<string, unknown>;
    const c = (spec.containers as Record<string, unknown>[])[0];
    assert.equal(c?.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(c?.ports, [{ containerPort: 80, protocol: 'TCP' }]);
    assert.deepEqual(c?.resources, {
      limits: { cpu: '500m', memory: '64Mi' },
      requests: { cpu: '500m', memory: '64Mi' },
    });
    assert.deepEqual(c?.readinessProbe, {
      httpGet: { port: 80, path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.equal(spec.enableServiceLinks, true);
    assert.equal(spec.serviceAccountName, 'default');
    assert.equal(spec.priority, 0);
    assert.equal(spec.preemptionPolicy, 'PreemptLowerPriority');
    assert.deepEqual(spec.tolerations, [
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
      {
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ]);
    assert.deepEqual(obj.status, { phase: 'Pending', qosClass: 'Guaranteed' });
  });

  it('computes BestEffort and Burstable', () => {
    const best = structuredClone(pod) as {
      spec: { containers: Record<string, unknown>[] };
    } & KObject;
    delete best.spec.containers[0]?.resources;
    assert.equal((create('/pods', best).obj.status as { qosClass: string }).qosClass, 'BestEffort');
    const burst = structuredClone(pod) as {
      spec: { containers: Record<string, unknown>[] };
    } & KObject;
    (burst.spec.containers[0] as Record<string, unknown>).resources = { requests: { cpu: '100m' } };
    assert.equal((create('/pods', burst).obj.status as { qosClass: string }).qosClass, 'Burstable');
  });

  it('allows image updates but forbids other spec changes', () => {
    const s = strategies.get('/pods');
    const { obj: old } = create('/pods', pod);
    const img = structuredClone(old) as {
      spec: { containers: Record<string, unknown>[] };
    } & KObject;
    (img.spec.containers[0] as Record<string, unknown>).image = 'nginx:1.28';
    assert.deepEqual(s?.validateUpdate?.(img, old, ctx()), []);
    const bad = structuredClone(old) as { spec: Record<string, unknown> } & KObject;
    bad.spec.restartPolicy = 'Never';
    const errs = s?.validateUpdate?.(bad, old, ctx()) ?? [];
    assert.equal(errs[0]?.field, 'spec');
    assert.match(
      errs[0]?.detail ?? '',
      /^pod updates may not change fields other than `spec.containers\[\*\].image`/,
    );
  });

  it('exposes the upstream selectable fields', () => {
    const { obj } = create('/pods', pod);
    const fields = strategies.get('/pods')?.selectableFields?.(obj);
    assert.equal(fields?.['status.phase'], 'Pending');
    assert.equal(fields?.['spec.nodeName'], '');
    assert.equal(fields?.['spec.restartPolicy'], 'Always');
  });
});

describe('Service', () => {
  it('defaults kubectl create service clusterip and allocates a free ClusterIP', () => {
    const stored: KObject[] = [
      {
        metadata: { name: 'kubernetes' },
        spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'] },
      },
      { metadata: { name: 'x' }, spec: { clusterIP: '10.96.0.2', clusterIPs: ['10.96.0.2'] } },
    ];
    const { obj, errs } = create('/services', fixture('service'), ctx(stored, { random: () => 0 }));
    assert.deepEqual(errs, []);
    assert.deepEqual(obj.spec, {
      ports: [{ name: '5000-5000', protocol: 'TCP', port: 5000, targetPort: 5000 }],
      selector: { app: 'hello-world-flask' },
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      clusterIP: '10.96.0.3',
      clusterIPs: ['10.96.0.3'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    });
    assert.deepEqual(obj.status, { loadBalancer: {} });
  });

  it('skips the reserved .10 and rejects an allocated or out-of-range IP', () => {
    const { obj } = create(
      '/services',
      fixture('service'),
      ctx([], { random: () => 10 / 2 ** 20 }),
    );
    assert.equal((obj.spec as { clusterIP: string }).clusterIP, '10.96.0.11');
    const taken = structuredClone(fixture('service')) as {
      spec: Record<string, unknown>;
    } & KObject;
    taken.spec.clusterIP = '10.96.0.10';
    const stored = [{ spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'] } }];
    assert.deepEqual(msg(create('/services', taken, ctx(stored)).errs), [
      'spec.clusterIPs: FieldValueInvalid ["10.96.0.10"]: failed to allocate IP 10.96.0.10: provided IP is already allocated',
    ]);
    taken.spec.clusterIP = '192.168.0.1';
    assert.match(
      msg(create('/services', taken).errs)[0] ?? '',
      /is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/12$/,
    );
    taken.spec.clusterIP = 'None';
    const headless = create('/services', taken).obj.spec as Record<string, unknown>;
    assert.deepEqual(headless.clusterIPs, ['None']);
  });

  it('allocates node ports and rejects used ones', () => {
    const np = fixture('service-nodeport') as {
      spec: { ports: Record<string, unknown>[] };
    } & KObject;
    delete np.spec.ports[0]?.nodePort;
    const stored = [{ spec: { ports: [{ port: 1, nodePort: 30000 }] } }];
    const ports = { random: () => 0, nodePortRange: { min: 30000, max: 30002 } };
    const { obj } = create('/services', np, ctx(stored, ports));
    const spec = obj.spec as { ports: Record<string, unknown>[]; externalTrafficPolicy: string };
    assert.equal(spec.ports[0]?.nodePort, 30001);
    assert.equal(spec.externalTrafficPolicy, 'Cluster');
    (np.spec.ports[0] as Record<string, unknown>).nodePort = 30000;
    assert.deepEqual(msg(create('/services', np, ctx(stored, ports)).errs), [
      'spec.ports[0].nodePort: FieldValueInvalid 30000: provided port is already allocated',
    ]);
  });

  it('keeps the ClusterIP on updates that omit it and forbids changing it', () => {
    const s = strategies.get('/services');
    const { obj: old } = create('/services', fixture('service'));
    const put = fixture('service');
    s?.defaults?.(put, ctx());
    s?.prepareForUpdate?.(put, old, ctx());
    assert.equal(
      (put.spec as { clusterIP: string }).clusterIP,
      (old.spec as { clusterIP: string }).clusterIP,
    );
    const changed = structuredClone(old) as { spec: Record<string, unknown> } & KObject;
    changed.spec.clusterIP = '10.96.0.99';
    changed.spec.clusterIPs = ['10.96.0.99'];
    assert.equal(s?.validateUpdate?.(changed, old, ctx())[0]?.detail, 'may not change once set');
  });
});

describe('other kinds', () => {
  it('defaults Namespace, Secret and Ingress', () => {
    const ns = create('/namespaces', fixture('namespace')).obj;
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(ns.status, { phase: 'Active' });
    assert.deepEqual(ns.metadata?.labels, { 'kubernetes.io/metadata.name': 'team-a' });
    assert.equal((create('/secrets', fixture('secret')).obj as { type: string }).type, 'Opaque');
    const ing = create('networking.k8s.io/ingresses', fixture('ingress'));
    assert.deepEqual(ing.errs, []);
    assert.equal(ing.obj.metadata?.generation, 1);
  });

  it('validates Ingress pathType and backends', () => {
    const ing = fixture('ingress') as {
      spec: { rules: { http: { paths: Record<string, unknown>[] } }[] };
    } & KObject;
    const path = ing.spec.rules[0]?.http.paths[0] as Record<string, unknown>;
    path.pathType = 'Regex';
    path.path = 'foo';
    assert.deepEqual(msg(create('networking.k8s.io/ingresses', ing).errs), [
      'spec.rules[0].http.paths[0].pathType: FieldValueNotSupported "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"',
    ]);
    path.pathType = 'Prefix';
    assert.deepEqual(msg(create('networking.k8s.io/ingresses', ing).errs), [
      'spec.rules[0].http.paths[0].path: FieldValueInvalid "foo": must be an absolute path',
    ]);
  });

  it('defaults and validates HPA (stored as v2)', () => {
    const s = strategies.get('autoscaling/horizontalpodautoscalers');
    const v2 = s?.converter?.toStorage(fixture('hpa-v1')) as KObject;
    const { obj, errs } = create('autoscaling/horizontalpodautoscalers', v2);
    assert.deepEqual(errs, []);
    assert.equal(obj.apiVersion, 'autoscaling/v2');
    assert.deepEqual(obj.spec, {
      scaleTargetRef: { kind: 'Deployment', name: 'hello-world-flask', apiVersion: 'apps/v1' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
        },
      ],
    });
    const noMetrics = create('autoscaling/horizontalpodautoscalers', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'h' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 1, minReplicas: 3 },
    });
    assert.deepEqual(msg(noMetrics.errs), [
      'spec.maxReplicas: FieldValueInvalid 1: must be greater than or equal to `minReplicas`',
    ]);
    // HPAScaleToZero is on: minReplicas 0 is valid (the ingress wakes the target), -1 is not.
    const hpaWithMin = (minReplicas: number) =>
      create('autoscaling/horizontalpodautoscalers', {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'h' },
        spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 3, minReplicas },
      }).errs;
    assert.deepEqual(hpaWithMin(0), []);
    assert.deepEqual(msg(hpaWithMin(-1)), [
      'spec.minReplicas: FieldValueInvalid -1: must be greater than or equal to 0',
    ]);
    assert.deepEqual((noMetrics.obj.spec as { metrics: unknown }).metrics, [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ]);
  });

  it('generates a Job selector from its uid', () => {
    const job = fixture('job');
    job.metadata = { ...job.metadata, uid: 'u-1' };
    const { obj, errs } = create('batch/jobs', job);
    assert.deepEqual(errs, []);
    const spec = obj.spec as Record<string, unknown>;
    assert.deepEqual(spec.selector, {
      matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' },
    });
    assert.equal(spec.backoffLimit, 6);
    assert.equal(spec.completions, 1);
  });
});
