// Checks of the add-on manifests the lead applies at `skiff up`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ingressAddonManifests } from './manifest.js';

test('the add-on has a default IngressClass and a host-network controller Deployment', () => {
  const objs = ingressAddonManifests({ httpPort: 8081 });
  const kinds = objs.map((o) => `${o.kind}/${o.metadata?.name}`);
  assert.ok(kinds.includes('Namespace/ingress-nginx'));
  assert.ok(kinds.includes('IngressClass/nginx'));
  assert.ok(kinds.includes('Service/ingress-nginx-controller'));
  const cls = objs.find((o) => o.kind === 'IngressClass')!;
  assert.equal(cls.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
  const dep = objs.find((o) => o.kind === 'Deployment') as {
    spec: {
      template: {
        spec: {
          hostNetwork: boolean;
          dnsPolicy: string;
          containers: { image: string; env: { name: string; value?: string }[] }[];
        };
      };
    };
  };
  const pod = dep.spec.template.spec;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  assert.equal(pod.containers[0]?.image, 'skiff/ingress-controller');
  assert.equal(pod.containers[0]?.env.find((e) => e.name === 'INGRESS_HTTP_PORT')?.value, '8081');
});

test('the data plane choice reaches the controller as INGRESS_DATA_PLANE (auto sets nothing)', () => {
  const env = (o: Parameters<typeof ingressAddonManifests>[0]) => {
    const dep = ingressAddonManifests(o).find((x) => x.kind === 'Deployment') as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    return dep.spec.template.spec.containers[0]?.env ?? [];
  };
  assert.equal(
    env({ dataPlane: 'node' }).find((e) => e.name === 'INGRESS_DATA_PLANE')?.value,
    'node',
  );
  assert.equal(
    env({ dataPlane: 'auto' }).find((e) => e.name === 'INGRESS_DATA_PLANE'),
    undefined,
  );
  assert.match(
    env({}).find((e) => e.name === 'NODE_OPTIONS')?.value ?? '',
    /--max-semi-space-size=1/,
  );
});
