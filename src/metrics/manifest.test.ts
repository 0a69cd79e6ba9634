// Tests of the metrics-server add-on manifests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricsAddonManifests } from './manifest.js';

test('manifests: ServiceAccount, RBAC, Deployment, Service and APIService as upstream', () => {
  const objs = metricsAddonManifests();
  assert.deepEqual(
    objs.map((o) => `${o.kind}/${o.metadata?.name}`),
    [
      'ServiceAccount/metrics-server',
      'ClusterRole/system:metrics-server',
      'ClusterRoleBinding/system:metrics-server',
      'Deployment/metrics-server',
      'Service/metrics-server',
      'APIService/v1beta1.metrics.k8s.io',
    ],
  );
  const apiService = objs[5] as { spec: Record<string, unknown> };
  assert.deepEqual(apiService.spec, {
    group: 'metrics.k8s.io',
    version: 'v1beta1',
    service: { name: 'metrics-server', namespace: 'kube-system', port: 443 },
    insecureSkipTLSVerify: true,
    groupPriorityMinimum: 100,
    versionPriority: 100,
  });
  const deploy = objs[3] as {
    metadata: { namespace: string };
    spec: {
      template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
    };
  };
  assert.equal(deploy.metadata.namespace, 'kube-system');
  const pod = deploy.spec.template.spec;
  assert.equal(pod['hostNetwork'], true);
  const c = pod.containers[0] ?? {};
  assert.equal(c['image'], 'skiff/metrics-server');
  assert.deepEqual(c['args'], [
    '--secure-port=4443',
    '--metric-resolution=1s',
    '--kubelet-insecure-tls',
    '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
    '--kubelet-token-file=/var/run/secrets/skiff/kubelet/token',
  ]);
  assert.deepEqual((c['readinessProbe'] as { httpGet: unknown }).httpGet, {
    path: '/readyz',
    port: 'https',
    scheme: 'HTTPS',
  });
  assert.deepEqual(pod['volumes'], [
    { name: 'kubelet-client', secret: { secretName: 'skiff-kubelet-client' } },
  ]);
  const svc = objs[4] as { spec: { ports: unknown[] } };
  assert.deepEqual(svc.spec.ports, [
    { name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' },
  ]);
});

test('manifests: options change port, resolution and drop the token Secret', () => {
  const objs = metricsAddonManifests({
    securePort: 14443,
    metricResolution: '15s',
    kubeletTokenSecret: null,
  });
  const deploy = objs[3] as {
    spec: {
      template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
    };
  };
  const c = deploy.spec.template.spec.containers[0] ?? {};
  assert.deepEqual((c['args'] as string[]).slice(0, 2), [
    '--secure-port=14443',
    '--metric-resolution=15s',
  ]);
  assert.ok(!(c['args'] as string[]).some((a) => a.startsWith('--kubelet-token-file')));
  assert.equal(deploy.spec.template.spec['volumes'], undefined);
  assert.deepEqual(c['ports'], [{ name: 'https', containerPort: 14443, protocol: 'TCP' }]);
});
