import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addonAnnotation,
  appliedConfiguration,
  isAddonStandIn,
  lastAppliedAnnotation,
  standInSkeleton,
  takeOver,
} from './addon-takeover.js';

const standIn = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'metrics-server',
    namespace: 'kube-system',
    uid: 'u1',
    resourceVersion: '7',
    creationTimestamp: '2026-01-01T00:00:00Z',
    labels: { skiff: 'yes' },
    annotations: { [addonAnnotation]: 'metrics-server', keep: 'no' },
  },
  spec: {
    clusterIP: '10.96.0.9',
    clusterIPs: ['10.96.0.9'],
    ports: [{ name: 'https', port: 443, targetPort: 4443 }],
  },
};

describe('add-on stand-in take-over', () => {
  test('the user object replaces the stand-in: identity and ClusterIP kept, nothing merged', () => {
    assert.ok(isAddonStandIn(standIn));
    const user = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'metrics-server', namespace: 'kube-system', labels: { k8s: 'app' } },
      spec: { ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
    };
    const out = takeOver(standIn, user);
    assert.equal(out.metadata?.uid, 'u1');
    assert.equal(out.metadata?.resourceVersion, '7');
    assert.deepEqual(out.metadata?.labels, { k8s: 'app' });
    assert.equal(out.metadata?.annotations, undefined);
    assert.equal(isAddonStandIn(out), false);
    assert.deepEqual(out['spec'], {
      clusterIP: '10.96.0.9',
      clusterIPs: ['10.96.0.9'],
      ports: [{ name: 'https', port: 443, targetPort: 'https' }],
    });
  });

  test('a skeleton keeps no content of the stand-in (server-side apply starts from it)', () => {
    const sk = standInSkeleton({ ...standIn, kind: 'Deployment', spec: { replicas: 1 } });
    assert.deepEqual(Object.keys(sk).sort(), ['apiVersion', 'kind', 'metadata']);
    assert.equal(sk.metadata?.annotations, undefined);
  });

  test("a kubectl apply patch means its last-applied configuration; other patches don't", () => {
    const config = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } };
    const text = JSON.stringify(config);
    const applied = appliedConfiguration({
      metadata: { annotations: { [lastAppliedAnnotation]: text } },
      spec: { $setElementOrder: [] },
    });
    assert.equal(applied?.metadata?.name, 'x');
    assert.equal(applied?.metadata?.annotations?.[lastAppliedAnnotation], text);
    assert.equal(appliedConfiguration({ spec: { replicas: 2 } }), undefined);
    assert.equal(
      appliedConfiguration({ metadata: { annotations: { [lastAppliedAnnotation]: '{bad' } } }),
      undefined,
    );
  });
});
