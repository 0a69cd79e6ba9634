// Patches, server-side apply, dry run, status/scale subresources, Tables, discovery, limits and
// deletion semantics of the API server over a MemoryBackend.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KObject } from '../api/object.js';
import { R } from '../client/resources.js';
import { startTestApiServer, type TestApiServer } from './testing.js';

type Obj = KObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

const deployment = (name: string, replicas = 1): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'web', image: 'nginx', env: [{ name: 'A', value: '1' }] }] },
    },
  },
});

function json(body: Buffer): Record<string, unknown> {
  return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
}

describe('API server features', () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(() => api.close());

  it('applies JSON, merge and strategic merge patches; no-op patches keep the resourceVersion', async () => {
    const d = await api.client.create<Obj>(R.deployments, deployment('p'));
    assert.equal(d.metadata?.generation, 1);
    const jp = await api.client.patch<Obj>(
      R.deployments,
      'default',
      'p',
      [
        {
          op: 'add',
          path: '/spec/template/spec/containers/0/resources',
          value: { requests: { cpu: '100m' } },
        },
      ],
      { type: 'json' },
    );
    assert.equal(jp.metadata?.generation, 2);
    const mp = await api.client.patch<Obj>(
      R.deployments,
      'default',
      'p',
      { spec: { replicas: 3 } },
      { type: 'merge' },
    );
    assert.equal(mp.spec?.['replicas'], 3);
    const again = await api.client.patch<Obj>(
      R.deployments,
      'default',
      'p',
      { spec: { replicas: 3 } },
      { type: 'merge' },
    );
    assert.equal(again.metadata?.resourceVersion, mp.metadata?.resourceVersion);
    const sp = await api.client.patch<Obj>(
      R.deployments,
      'default',
      'p',
      {
        spec: {
          template: { spec: { containers: [{ name: 'web', env: [{ name: 'B', value: '2' }] }] } },
        },
      },
      { type: 'strategic' },
    );
    const tmpl = sp.spec!['template'] as { spec: { containers: Record<string, unknown>[] } };
    const containers = tmpl.spec.containers;
    assert.equal(containers.length, 1);
    assert.equal(containers[0]!['image'], 'nginx');
    assert.deepEqual(containers[0]!['env'], [
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    assert.deepEqual(containers[0]!['resources'], { requests: { cpu: '100m' } });
    const del = await api.client.patch<Obj>(
      R.deployments,
      'default',
      'p',
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'web', env: [{ name: 'A', $patch: 'delete' }] }] },
          },
        },
      },
      { type: 'strategic' },
    );
    const delTmpl = del.spec!['template'] as { spec: { containers: { env: unknown[] }[] } };
    const env = delTmpl.spec.containers[0]!.env;
    assert.deepEqual(env, [{ name: 'B', value: '2' }]);
    const bad = await api.client.request(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/p',
      {
        body: [{ op: 'replace', path: '/spec/nope/x', value: 1 }],
        contentType: 'application/json-patch+json',
      },
    );
    assert.equal(bad.status, 422);
  });

  it('server-side apply creates (201) then merges, recording managedFields', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/ssa';
    const first = await api.client.request('PATCH', path, {
      body: deployment('ssa', 2),
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'kubectl', force: 'false' },
    });
    assert.equal(first.status, 201, first.body.toString());
    const created = json(first.body) as Obj;
    assert.equal(created.metadata?.managedFields?.[0]?.operation, 'Apply');
    assert.equal(created.metadata?.managedFields?.[0]?.manager, 'kubectl');
    const second = await api.client.request('PATCH', path, {
      body: deployment('ssa', 2),
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'kubectl' },
    });
    assert.equal(second.status, 200);
    assert.equal(
      (json(second.body) as Obj).metadata?.resourceVersion,
      created.metadata?.resourceVersion,
    );
    const third = await api.client.request('PATCH', path, {
      body: deployment('ssa', 4),
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'kubectl' },
    });
    assert.equal((json(third.body) as Obj).spec?.['replicas'], 4);
    const noManager = await api.client.request('PATCH', path, {
      body: deployment('ssa', 4),
      contentType: 'application/apply-patch+yaml',
    });
    assert.equal(noManager.status, 400);
  });

  it('dryRun=All validates without storing', async () => {
    const res = await api.client.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
      body: deployment('dry'),
      query: { dryRun: 'All' },
    });
    assert.equal(res.status, 201);
    assert.equal((json(res.body) as Obj).metadata?.name, 'dry');
    const get = await api.client.request('GET', '/apis/apps/v1/namespaces/default/deployments/dry');
    assert.equal(get.status, 404);
  });

  it('splits status from the main resource and serves scale', async () => {
    const d = await api.client.create<Obj>(R.deployments, deployment('s', 2));
    const withStatus = await api.client.updateStatus<Obj>(R.deployments, {
      ...d,
      spec: { ...d.spec, replicas: 9 },
      status: { replicas: 2 },
    });
    assert.deepEqual(withStatus.status, { replicas: 2 });
    assert.equal(withStatus.spec?.['replicas'], 2, 'status update must not change spec');
    const main = await api.client.update<Obj>(R.deployments, {
      ...withStatus,
      status: { replicas: 7 },
    });
    assert.deepEqual(main.status, { replicas: 2 }, 'main update must keep status');
    const scale = await api.client.requestJSON<Obj>(
      'GET',
      '/apis/apps/v1/namespaces/default/deployments/s/scale',
    );
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.apiVersion, 'autoscaling/v1');
    assert.deepEqual(scale.spec, { replicas: 2 });
    assert.deepEqual(scale.status, { replicas: 2, selector: 'app=s' });
    const scaled = await api.client.patch<Obj>(
      R.deployments,
      'default',
      's',
      { spec: { replicas: 5 } },
      { subresource: 'scale' },
    );
    assert.deepEqual(scaled.spec, { replicas: 5 });
    const after = await api.client.get<Obj>(R.deployments, 'default', 's');
    assert.equal(after.spec?.['replicas'], 5);
  });

  it('renders Tables for list, get and watch when asked', async () => {
    const accept =
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    const list = await api.client.request('GET', '/api/v1/namespaces', {
      accept,
      query: { limit: 500 },
    });
    assert.equal(list.headers['content-type'], 'application/json;as=Table;v=v1;g=meta.k8s.io');
    const table = json(list.body) as {
      kind: string;
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[]; object: KObject }[];
      metadata: { resourceVersion: string };
    };
    assert.equal(table.kind, 'Table');
    assert.ok(table.metadata.resourceVersion);
    assert.equal(table.columnDefinitions[0]?.name, 'Name');
    const row = table.rows.find((r) => r.cells[0] === 'default')!;
    assert.equal(row.object.kind, 'PartialObjectMetadata');
    assert.equal(row.object.metadata?.labels?.['kubernetes.io/metadata.name'], 'default');
    const one = await api.client.request('GET', '/api/v1/namespaces/default', { accept });
    assert.equal((json(one.body) as { rows: unknown[] }).rows.length, 1);
    const watch = await api.client.request('GET', '/api/v1/namespaces', {
      accept,
      query: { watch: 'true', fieldSelector: 'metadata.name=default', timeoutSeconds: 1 },
    });
    const ev = JSON.parse(watch.body.toString().split('\n')[0]!) as {
      type: string;
      object: { kind: string; rows: unknown[] };
    };
    assert.equal(ev.type, 'ADDED');
    assert.equal(ev.object.kind, 'Table');
    assert.equal(ev.object.rows.length, 1);
    const refused = await api.client.request('GET', '/api/v1/namespaces', {
      accept: 'application/vnd.kubernetes.protobuf',
    });
    assert.equal(refused.status, 406);
  });

  it('serves aggregated discovery with the exact content type, and legacy discovery', async () => {
    const accept =
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const apis = await api.client.request('GET', '/apis', { accept });
    assert.equal(
      apis.headers['content-type'],
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    const doc = json(apis.body) as {
      items: {
        metadata: { name: string };
        versions: { version: string; resources: { resource: string; shortNames?: string[] }[] }[];
      }[];
    };
    const apps = doc.items.find((i) => i.metadata.name === 'apps')!;
    assert.deepEqual(
      apps.versions[0]!.resources.find((r) => r.resource === 'deployments')?.shortNames,
      ['deploy'],
    );
    assert.deepEqual(
      doc.items.find((i) => i.metadata.name === 'autoscaling')!.versions.map((v) => v.version),
      ['v2', 'v1'],
    );
    const legacy = await api.client.requestJSON<{ kind: string }>('GET', '/api');
    assert.equal(legacy.kind, 'APIVersions');
    const core = await api.client.requestJSON<{ resources: { name: string }[] }>('GET', '/api/v1');
    const names = core.resources.map((r) => r.name);
    for (const n of [
      'pods',
      'pods/log',
      'pods/exec',
      'serviceaccounts/token',
      'namespaces/finalize',
    ])
      assert.ok(names.includes(n), n);
    const appsV1 = await api.client.requestJSON<{
      resources: { name: string; kind: string; group?: string }[];
    }>('GET', '/apis/apps/v1');
    const scale = appsV1.resources.find((r) => r.name === 'deployments/scale')!;
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.group, 'autoscaling');
    const version = await api.client.requestJSON<{
      major: string;
      minor: string;
      gitVersion: string;
    }>('GET', '/version');
    assert.deepEqual([version.major, version.minor, version.gitVersion], ['1', '32', 'v1.32.0']);
    const oa = await api.client.requestJSON<{
      paths: Record<string, { serverRelativeURL: string }>;
    }>('GET', '/openapi/v3');
    const url = oa.paths['apis/apps/v1']!.serverRelativeURL;
    const gvDoc = await api.client.requestJSON<{
      paths: Record<string, { patch?: { parameters: { name: string }[] } }>;
    }>('GET', url);
    const patch = gvDoc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']!.patch!;
    assert.ok(patch.parameters.some((p) => p.name === 'fieldValidation'));
    const health = await api.client.request('GET', '/readyz', { query: { verbose: '' } });
    assert.equal(health.status, 200);
    assert.equal(health.headers['cache-control'], 'no-cache, private');
  });

  it('refuses bodies over 3 MiB and unknown media types', async () => {
    const big = await api.client.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: Buffer.alloc(3 * 1024 * 1024 + 10, 0x61),
    });
    assert.equal(big.status, 413);
    assert.equal(json(big.body)['reason'], 'RequestEntityTooLarge');
    const odd = await api.client.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: 'x',
      contentType: 'text/plain',
    });
    assert.equal(odd.status, 415);
  });

  it('keeps finalized objects until their finalizers are gone', async () => {
    await api.client.create(R.configmaps, {
      metadata: { name: 'fin', namespace: 'default', finalizers: ['x/y'] },
    });
    const res = await api.client.delete<KObject>(R.configmaps, 'default', 'fin');
    assert.ok(res.metadata?.deletionTimestamp);
    const cur = await api.client.get<KObject>(R.configmaps, 'default', 'fin');
    await api.client.update(R.configmaps, {
      ...cur,
      metadata: { ...cur.metadata, finalizers: [] },
    });
    const gone = await api.client.request('GET', '/api/v1/namespaces/default/configmaps/fin');
    assert.equal(gone.status, 404);
  });

  it('deletes bound pods gracefully and unbound pods at once; binds pods', async () => {
    const pod = (name: string): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    await api.client.create(R.pods, pod('unbound'));
    const res = await api.client.delete<KObject>(R.pods, 'default', 'unbound');
    assert.equal(res.kind, 'Pod');
    assert.equal(
      (await api.client.request('GET', '/api/v1/namespaces/default/pods/unbound')).status,
      404,
    );
    await api.client.create(R.pods, pod('bound'));
    const bind = await api.client.request('POST', '/api/v1/namespaces/default/pods/bound/binding', {
      body: {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'bound' },
        target: { kind: 'Node', name: 'n1' },
      },
    });
    assert.equal(bind.status, 201);
    const bound = await api.client.get<Obj>(R.pods, 'default', 'bound');
    assert.equal(bound.spec?.['nodeName'], 'n1');
    const graceful = await api.client.delete<KObject>(R.pods, 'default', 'bound');
    assert.equal(graceful.metadata?.deletionGracePeriodSeconds, 30);
    assert.ok(graceful.metadata?.deletionTimestamp);
    await api.client.delete(R.pods, 'default', 'bound', { gracePeriodSeconds: 0 });
    assert.equal(
      (await api.client.request('GET', '/api/v1/namespaces/default/pods/bound')).status,
      404,
    );
  });

  it('marks a deleted namespace Terminating until finalized, refusing new content', async () => {
    await api.client.create(R.namespaces, { metadata: { name: 'gone' } });
    const ns = await api.client.delete<Obj>(R.namespaces, undefined, 'gone');
    assert.equal(ns.status?.['phase'], 'Terminating');
    const refused = await api.client.request('POST', '/api/v1/namespaces/gone/configmaps', {
      body: { metadata: { name: 'x' } },
    });
    assert.equal(refused.status, 403);
    assert.equal(
      json(refused.body)['message'],
      'configmaps "x" is forbidden: unable to create new content in namespace gone because it is being terminated',
    );
    const cur = await api.client.get<Obj>(R.namespaces, undefined, 'gone');
    const fin = await api.client.request('PUT', '/api/v1/namespaces/gone/finalize', {
      body: { ...cur, spec: { finalizers: [] } },
    });
    assert.equal(fin.status, 200, fin.body.toString());
    assert.equal((await api.client.request('GET', '/api/v1/namespaces/gone')).status, 404);
  });
});
