// Every served kind kubectl could send typed goes through a protobuf create and reads back as the
// same object (issue 15: creates of cronjob, role, quota, pdb, ... failed with "No protobuf schema").
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KObject } from '../../api/object.js';
import { builtinResources, resourcePath } from '../../api/resources.js';
import { startTestApiServer, type TestApiServer } from '../testing.js';
import { encodeProtobuf } from './testing.js';

const labels = { app: 'x' };
const podSpec = { containers: [{ name: 'c', image: 'busybox' }] };
const template = { metadata: { labels }, spec: podSpec };
const selector = { matchLabels: labels };
const rules = [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }];
const roleRef = (kind: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name: 'r' });
const webhook = {
  name: 'w.example.com',
  clientConfig: { url: 'https://example.com/hook' },
  sideEffects: 'None',
  admissionReviewVersions: ['v1'],
};

/** The smallest valid spec of each kind (beyond metadata), keyed "<group>/<resource>". */
const bodies: Record<string, Record<string, unknown>> = {
  '/pods': { spec: podSpec },
  '/services': { spec: { ports: [{ port: 80, targetPort: 8080 }], selector: labels } },
  '/endpoints': { subsets: [{ addresses: [{ ip: '10.244.0.9' }], ports: [{ port: 80 }] }] },
  '/events': { involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'R' },
  '/configmaps': { data: { k: 'v' } },
  '/secrets': { data: { k: Buffer.from('v').toString('base64') }, type: 'Opaque' },
  '/persistentvolumeclaims': {
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  },
  '/persistentvolumes': {
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      hostPath: { path: '/tmp/pv' },
    },
  },
  '/limitranges': { spec: { limits: [{ type: 'Container', default: { cpu: '500m' } }] } },
  '/resourcequotas': { spec: { hard: { pods: '10', cpu: '2' } } },
  '/replicationcontrollers': { spec: { replicas: 1, selector: labels, template } },
  '/podtemplates': { template },
  'apps/deployments': { spec: { replicas: 2, selector, template } },
  'apps/replicasets': { spec: { replicas: 1, selector, template } },
  'apps/statefulsets': { spec: { replicas: 1, serviceName: 's', selector, template } },
  'apps/daemonsets': { spec: { selector, template } },
  'apps/controllerrevisions': { revision: 1, data: { spec: {} } },
  'autoscaling/horizontalpodautoscalers': {
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' },
      minReplicas: 1,
      maxReplicas: 3,
    },
  },
  'batch/jobs': {
    spec: { template: { spec: { ...podSpec, restartPolicy: 'Never' } } },
  },
  'batch/cronjobs': {
    spec: {
      schedule: '*/1 * * * *',
      jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: 'OnFailure' } } } },
    },
  },
  'networking.k8s.io/ingresses': {
    spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
  },
  'networking.k8s.io/ingressclasses': { spec: { controller: 'example.com/ingress' } },
  'networking.k8s.io/networkpolicies': { spec: { podSelector: selector } },
  'discovery.k8s.io/endpointslices': {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.0.9'] }],
    ports: [{ port: 80 }],
  },
  'rbac.authorization.k8s.io/roles': { rules },
  'rbac.authorization.k8s.io/clusterroles': { rules },
  'rbac.authorization.k8s.io/rolebindings': {
    roleRef: roleRef('Role'),
    subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
  },
  'rbac.authorization.k8s.io/clusterrolebindings': {
    roleRef: roleRef('ClusterRole'),
    subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
  },
  'admissionregistration.k8s.io/validatingwebhookconfigurations': { webhooks: [webhook] },
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': { webhooks: [webhook] },
  'coordination.k8s.io/leases': { spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } },
  'policy/poddisruptionbudgets': { spec: { minAvailable: 1, selector } },
  'storage.k8s.io/storageclasses': { provisioner: 'example.com/disk' },
  'scheduling.k8s.io/priorityclasses': { value: 1000 },
  'authorization.k8s.io/selfsubjectaccessreviews': {
    spec: { resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } },
  },
  'authorization.k8s.io/selfsubjectrulesreviews': { spec: { namespace: 'default' } },
};

/**
 * Kinds kubectl has no Go type for: it always sends them as JSON (the VPA's autoscaling.k8s.io is a
 * CRD upstream).
 */
const jsonOnly = new Set(['apiextensions.k8s.io', 'apiregistration.k8s.io', 'autoscaling.k8s.io']);

describe('a protobuf create of every served kind', () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(() => api.close());

  const served = builtinResources.filter(
    (r) => !jsonOnly.has(r.group) && r.version === r.storageVersion,
  );
  for (const r of served) {
    const key = `${r.group}/${r.resource}`;
    it(`${key} (${r.kind})`, async () => {
      const body = bodies[key] ?? {};
      // events.k8s.io events are the core events: one name each so both creates succeed.
      const name = `pb-${r.group.split('.')[0] || 'core'}-${r.resource.slice(0, 12)}`;
      const obj: KObject = {
        apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
        kind: r.kind,
        metadata: { name, labels },
        ...structuredClone(body),
      };
      const namespace = r.namespaced ? 'default' : undefined;
      const res = await api.client.request('POST', resourcePath(r, { namespace }), {
        body: encodeProtobuf(obj),
        contentType: 'application/vnd.kubernetes.protobuf',
      });
      assert.equal(res.status, 201, res.body.toString());
      const created = JSON.parse(res.body.toString()) as KObject;
      assert.equal(created.metadata?.name, name);
      assert.deepEqual(pick(created.metadata?.labels, labels), labels);
      // Every field sent comes back (defaults may add more).
      for (const [field, value] of Object.entries(body)) {
        assert.deepEqual(pick(created[field], value), value, `${key} ${field}`);
      }
    });
  }
});

/** The part of `got` that has the shape of `want` (so defaults added by the server are ignored). */
function pick(got: unknown, want: unknown): unknown {
  if (Array.isArray(want) && Array.isArray(got)) return want.map((w, i) => pick(got[i], w));
  if (want && typeof want === 'object' && got && typeof got === 'object') {
    const g = got as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(want).map((k) => [k, pick(g[k], (want as Record<string, unknown>)[k])]),
    );
  }
  return got;
}
