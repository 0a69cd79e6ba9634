// The OpenAPI component schemas (kubectl explain, client-side apply's patch metadata).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenApiV3 } from './openapi.js';
import { apiSchemas, closure } from './openapi-schemas.js';

type S = Record<string, unknown>;
const props = (s: unknown) => (s as { properties: Record<string, S> }).properties;

test('every served group-version document carries its kinds with their group-version-kind', () => {
  const api = new OpenApiV3();
  const apps = JSON.parse(api.document('apis/apps/v1')!) as {
    components: { schemas: Record<string, S> };
  };
  const dep = apps.components.schemas['io.k8s.api.apps.v1.Deployment']!;
  assert.deepEqual(dep['x-kubernetes-group-version-kind'], [
    { group: 'apps', kind: 'Deployment', version: 'v1' },
  ]);
  // What it refers to is in the same document.
  assert.ok(apps.components.schemas['io.k8s.api.apps.v1.DeploymentStrategy']);
  assert.ok(apps.components.schemas['io.k8s.api.core.v1.Container']);
  assert.ok(apps.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
  const core = JSON.parse(api.document('api/v1')!) as {
    components: { schemas: Record<string, S> };
  };
  assert.ok(core.components.schemas['io.k8s.api.core.v1.Pod']?.['x-kubernetes-group-version-kind']);
});

test('fields: types, refs with descriptions, required, patch merge keys', () => {
  const all = apiSchemas();
  const strategy = props(all.get('io.k8s.api.apps.v1.DeploymentSpec'))['strategy']!;
  assert.deepEqual(strategy['allOf'], [
    { $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' },
  ]);
  assert.equal(typeof strategy['description'], 'string');
  const container = all.get('io.k8s.api.core.v1.Container')!;
  assert.deepEqual(container['required'], ['name']);
  assert.equal(props(container)['ports']!['x-kubernetes-patch-merge-key'], 'containerPort');
  assert.equal(props(container)['image']!['type'], 'string');
  const spec = props(all.get('io.k8s.api.core.v1.PodSpec'));
  assert.equal(spec['containers']!['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(spec['volumes']!['x-kubernetes-patch-strategy'], 'merge,retainKeys');
  assert.deepEqual(
    props(all.get('io.k8s.api.core.v1.ContainerPort'))['containerPort']!['type'],
    'integer',
  );
  const meta = props(all.get('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'));
  assert.equal(meta['creationTimestamp']!['format'], 'date-time');
  assert.equal(meta['labels']!['type'], 'object');
  const c = closure(['io.k8s.api.core.v1.Pod'], all);
  assert.ok(c['io.k8s.apimachinery.pkg.util.intstr.IntOrString']);
});

test('the v2 JSON document: definitions with v2 refs and the group-version-kind', () => {
  const doc = JSON.parse(new OpenApiV3().v2('v1.32.0')) as { definitions: Record<string, S> };
  const dep = doc.definitions['io.k8s.api.apps.v1.Deployment']!;
  assert.deepEqual(dep['x-kubernetes-group-version-kind'], [
    { group: 'apps', kind: 'Deployment', version: 'v1' },
  ]);
  const strategy = props(doc.definitions['io.k8s.api.apps.v1.DeploymentSpec'])['strategy']!;
  assert.equal(strategy['$ref'], '#/definitions/io.k8s.api.apps.v1.DeploymentStrategy');
  assert.equal(strategy['allOf'], undefined);
  assert.equal(typeof strategy['description'], 'string');
  assert.ok(doc.definitions['io.k8s.api.core.v1.Pod']?.['x-kubernetes-group-version-kind']);
});
