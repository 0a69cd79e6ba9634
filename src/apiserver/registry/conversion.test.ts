// Round-trip tests for the HPA autoscaling/v1 <-> v2 converter and for unknown-field detection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/object.js';
import { hpaAnnotations } from './hpa.js';
import { findUnknownFields, strategies } from './index.js';

const converter = strategies.get('autoscaling/horizontalpodautoscalers')?.converter;
assert.ok(converter);

const v1: KObject = {
  apiVersion: 'autoscaling/v1',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
    minReplicas: 2,
    maxReplicas: 10,
    targetCPUUtilizationPercentage: 50,
  },
  status: { currentReplicas: 2, desiredReplicas: 2, currentCPUUtilizationPercentage: 12 },
};

const v2: KObject = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
    minReplicas: 2,
    maxReplicas: 10,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
      },
      {
        type: 'Resource',
        resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } },
      },
    ],
    behavior: { scaleDown: { stabilizationWindowSeconds: 60 } },
  },
  status: {
    currentReplicas: 2,
    desiredReplicas: 2,
    currentMetrics: [
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 12 } } },
      { type: 'Resource', resource: { name: 'memory', current: { averageValue: '50Mi' } } },
    ],
    conditions: [{ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale' }],
  },
};

describe('HPA converter', () => {
  it('converts the v1 CPU target and current utilization to v2 metrics', () => {
    const out = converter.toStorage(v1);
    assert.equal(out.apiVersion, 'autoscaling/v2');
    assert.deepEqual((out.spec as Record<string, unknown>).metrics, [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
      },
    ]);
    assert.equal((out.spec as Record<string, unknown>).targetCPUUtilizationPercentage, undefined);
    assert.deepEqual((out.status as Record<string, unknown>).currentMetrics, [
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 12 } } },
    ]);
  });

  it('round-trips v1 → v2 → v1 unchanged', () => {
    assert.deepEqual(converter.fromStorage(converter.toStorage(v1), 'autoscaling/v1'), v1);
  });

  it('keeps v2-only data in v1 annotations so v2 → v1 → v2 loses nothing', () => {
    const asV1 = converter.fromStorage(v2, 'autoscaling/v1');
    assert.equal((asV1.spec as Record<string, unknown>).targetCPUUtilizationPercentage, 50);
    assert.equal((asV1.status as Record<string, unknown>).currentCPUUtilizationPercentage, 12);
    const ann = asV1.metadata?.annotations ?? {};
    assert.ok(ann[hpaAnnotations.metrics]);
    assert.ok(ann[hpaAnnotations.behavior]);
    assert.ok(ann[hpaAnnotations.conditions]);
    assert.ok(ann[hpaAnnotations.currentMetrics]);
    assert.deepEqual(converter.toStorage(asV1), v2);
  });

  it('serves the stored object unchanged for v2', () => {
    assert.deepEqual(converter.fromStorage(v2, 'autoscaling/v2'), v2);
  });
});

describe('findUnknownFields', () => {
  const cases: [string, string, string, unknown, string[]][] = [
    [
      'typos in a Deployment',
      'apps/v1',
      'Deployment',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x', labels: { any: 'thing' }, annotations: { 'a/b': 'c' }, nmae: 'y' },
        spec: {
          replicass: 2,
          template: {
            spec: {
              containers: [
                { name: 'a', image: 'b' },
                { name: 'c', imagee: 'd', resources: { limits: { cpu: '1' } } },
              ],
            },
          },
        },
      },
      ['metadata.nmae', 'spec.replicass', 'spec.template.spec.containers[1].imagee'],
    ],
    [
      'a clean Service',
      'v1',
      'Service',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's' },
        spec: { ports: [{ port: 80, targetPort: 'http' }], selector: { app: 'x' } },
      },
      [],
    ],
    [
      'free-form ConfigMap data and a stray top-level field',
      'v1',
      'ConfigMap',
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c' },
        data: { anything: 'goes' },
        spec: {},
      },
      ['spec'],
    ],
    [
      'HPA v1 vs v2 fields',
      'autoscaling/v1',
      'HorizontalPodAutoscaler',
      { spec: { maxReplicas: 3, targetCPUUtilizationPercentage: 50, metrics: [] } },
      ['spec.metrics'],
    ],
    [
      'an Ingress backend typo',
      'networking.k8s.io/v1',
      'Ingress',
      {
        spec: {
          rules: [
            {
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: 's', prot: {} } } },
                ],
              },
            },
          ],
        },
      },
      ['spec.rules[0].http.paths[0].backend.service.prot'],
    ],
    ['a kind without a schema', 'example.com/v1', 'Widget', { spec: { anything: 1 } }, []],
  ];
  for (const [name, apiVersion, kind, obj, want] of cases) {
    it(name, () => assert.deepEqual(findUnknownFields(apiVersion, kind, obj), want));
  }
});
