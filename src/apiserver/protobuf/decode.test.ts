// Tests for the protobuf body decoder: real kubectl 1.32 request bodies (testdata/*.bin, captured
// by scripts/capture-kubectl-bodies.ts) and hand-encoded messages for kinds kubectl sends as JSON.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeProtobuf, isProtobuf, protobufMagic, protoRoot } from './decode.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`./testdata/${name}.bin`, import.meta.url));

/** Wraps an encoded message into the "k8s\0" + runtime.Unknown envelope. */
function envelope(apiVersion: string, kind: string, typeName: string, obj: object): Buffer {
  const type = protoRoot.lookupType(typeName);
  const raw = type.encode(type.fromObject(obj)).finish();
  const unknown = protoRoot.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
  const body = unknown.encode(unknown.fromObject({ typeMeta: { apiVersion, kind }, raw })).finish();
  return Buffer.concat([protobufMagic, body]);
}

describe('decodeProtobuf with kubectl 1.32 bodies', () => {
  const cases: [string, unknown][] = [
    [
      'deployment',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'hello-world-flask', labels: { app: 'hello-world-flask' } },
        spec: {
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
                },
              ],
            },
          },
          strategy: {},
        },
        status: {},
      },
    ],
    [
      'service',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'hello-world-flask', labels: { app: 'hello-world-flask' } },
        spec: {
          ports: [{ name: '5000-5000', protocol: 'TCP', port: 5000, targetPort: 5000 }],
          selector: { app: 'hello-world-flask' },
          type: 'ClusterIP',
        },
        status: { loadBalancer: {} },
      },
    ],
    [
      'ingress',
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'hello-world-flask' },
        spec: {
          rules: [
            {
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Exact',
                    backend: { service: { name: 'hello-world-flask', port: { number: 5000 } } },
                  },
                ],
              },
            },
          ],
        },
        status: { loadBalancer: {} },
      },
    ],
    [
      'hpa-v1',
      {
        apiVersion: 'autoscaling/v1',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'hello-world-flask' },
        spec: {
          scaleTargetRef: { kind: 'Deployment', name: 'hello-world-flask', apiVersion: 'apps/v1' },
          minReplicas: 2,
          maxReplicas: 10,
          targetCPUUtilizationPercentage: 50,
        },
        status: {},
      },
    ],
    [
      'configmap',
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cfg' },
        data: { a: '1', b: 'two' },
      },
    ],
    [
      'secret',
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'sec' },
        data: { password: Buffer.from('s3cr3t').toString('base64') },
      },
    ],
    [
      'namespace',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' }, spec: {}, status: {} },
    ],
    ['serviceaccount', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot' } }],
  ];
  for (const [name, want] of cases) {
    it(`decodes ${name}`, () => {
      const body = fixture(name);
      assert.ok(isProtobuf(body));
      assert.deepEqual(decodeProtobuf(body), want);
    });
  }

  it('keeps an explicit --replicas=0 and containerPort', () => {
    const d = decodeProtobuf(fixture('deployment-zero')) as { spec: Record<string, unknown> };
    assert.equal(d.spec.replicas, 0);
    const tmpl = d.spec.template as { spec: { containers: { ports: unknown }[] } };
    assert.deepEqual(tmpl.spec.containers[0]?.ports, [{ containerPort: 80 }]);
  });

  it('decodes NodePort services and named IntOrString ports', () => {
    const s = decodeProtobuf(fixture('service-nodeport')) as { spec: Record<string, unknown> };
    assert.equal(s.spec.type, 'NodePort');
    assert.deepEqual(s.spec.ports, [
      { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 },
    ]);
    const ing = decodeProtobuf(fixture('ingress-tls')) as { spec: Record<string, unknown> };
    assert.equal(ing.spec.ingressClassName, 'nginx');
    assert.deepEqual(ing.spec.tls, [{ hosts: ['foo.com'], secretName: 'secret1' }]);
    const rules = ing.spec.rules as { host: string; http: { paths: unknown[] } }[];
    assert.equal(rules[0]?.host, 'foo.com');
    assert.deepEqual(rules[0]?.http.paths[0], {
      path: '/path',
      pathType: 'Prefix',
      backend: { service: { name: 'svc', port: { name: 'https' } } },
    });
  });

  it('decodes a Job', () => {
    const j = decodeProtobuf(fixture('job')) as { spec: { template: { spec: unknown } } };
    assert.deepEqual(j.spec.template.spec, {
      containers: [{ name: 'once', image: 'busybox', command: ['echo', 'hi'], resources: {} }],
      restartPolicy: 'Never',
    });
  });
});

describe('decodeProtobuf with hand-encoded messages', () => {
  it('flattens inline structs and converts Quantity, IntOrString and Time', () => {
    const body = envelope('v1', 'Pod', 'k8s.io.api.core.v1.Pod', {
      metadata: { name: 'p', creationTimestamp: { seconds: 1700000000 } },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'nginx',
            resources: {
              limits: { cpu: { string: '500m' } },
              requests: { memory: { string: '64Mi' } },
            },
            readinessProbe: {
              handler: { httpGet: { path: '/', port: { type: 1, strVal: 'http' } } },
              periodSeconds: 5,
            },
            env: [
              {
                name: 'K',
                valueFrom: { secretKeyRef: { localObjectReference: { name: 's' }, key: 'k' } },
              },
            ],
          },
        ],
        volumes: [{ name: 'v', volumeSource: { emptyDir: {} } }],
      },
    });
    assert.deepEqual(decodeProtobuf(body), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', creationTimestamp: '2023-11-14T22:13:20Z' },
      spec: {
        volumes: [{ name: 'v', emptyDir: {} }],
        containers: [
          {
            name: 'c',
            image: 'nginx',
            env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
            resources: { limits: { cpu: '500m' }, requests: { memory: '64Mi' } },
            readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
          },
        ],
      },
    });
  });

  it('decodes meta/v1 DeleteOptions under any group version', () => {
    const body = envelope(
      'v1',
      'DeleteOptions',
      'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions',
      {
        gracePeriodSeconds: 0,
        propagationPolicy: 'Foreground',
        preconditions: { uid: 'abc' },
      },
    );
    // gracePeriodSeconds 0 (force delete) must survive the zero-value heuristic.
    assert.deepEqual(decodeProtobuf(body), {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      preconditions: { uid: 'abc' },
      propagationPolicy: 'Foreground',
    });
  });

  it('decodes an autoscaling/v2 HPA with metrics', () => {
    const body = envelope(
      'autoscaling/v2',
      'HorizontalPodAutoscaler',
      'k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler',
      {
        metadata: { name: 'h' },
        spec: {
          scaleTargetRef: { kind: 'Deployment', name: 'd', apiVersion: 'apps/v1' },
          maxReplicas: 5,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
            },
          ],
        },
      },
    );
    const h = decodeProtobuf(body) as { spec: Record<string, unknown> };
    assert.deepEqual(h.spec.metrics, [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
      },
    ]);
  });

  it('rejects bodies without the magic and kinds without a schema', () => {
    assert.throws(() => decodeProtobuf(Buffer.from('{}')), SyntaxError);
    const body = envelope('example.com/v1', 'Widget', 'k8s.io.api.core.v1.ConfigMap', {});
    assert.throws(() => decodeProtobuf(body), RangeError);
  });
});
