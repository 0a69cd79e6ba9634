// fieldValidation Strict/Warn/Ignore with the registry's unknown-field detection, and strategy
// hooks (defaults, validation → 422 Invalid with causes, table printers) wired by the handlers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KObject } from '../api/object.js';
import { defaultRegistry } from './registry/index.js';
import type { Registry } from './registry/storage.js';
import type { Strategy } from './registry/types.js';
import { startTestApiServer, type TestApiServer } from './testing.js';

const configMapStrategy: Strategy = {
  defaults(obj) {
    obj['data'] ??= { defaulted: 'yes' };
  },
  validate(obj) {
    const data = (obj['data'] ?? {}) as Record<string, string>;
    return data['bad'] !== undefined
      ? [
          {
            type: 'FieldValueInvalid',
            field: 'data[bad]',
            value: data['bad'],
            detail: 'must not be set',
          },
        ]
      : [];
  },
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name', priority: 0 },
      { name: 'Data', type: 'integer', priority: 0 },
    ],
    cells: (obj, _now) => [obj.metadata?.name, Object.keys((obj['data'] ?? {}) as object).length],
  },
};

/** The default registry with a test ConfigMap strategy and a simple unknown-field rule. */
const registry: Registry = {
  storageFor: (r) =>
    r.group === '' && r.resource === 'configmaps'
      ? { strategy: configMapStrategy, subresources: {} }
      : defaultRegistry.storageFor(r),
  findTypeErrors: () => [],
  findUnknownFields: (_apiVersion, _kind, obj) =>
    Object.keys(obj as object)
      .filter((k) => !['apiVersion', 'kind', 'metadata', 'data'].includes(k))
      .map((k) => k),
};

describe('field validation and strategies', () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer({ registry });
  });
  after(() => api.close());

  const post = (name: string, extra: Record<string, unknown>, fieldValidation?: string) =>
    api.client.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, ...extra },
      query: { fieldValidation },
    });

  it('Strict refuses unknown fields with the upstream message', async () => {
    const res = await post('s', { foo: 1, bar: 2 }, 'Strict');
    assert.equal(res.status, 400);
    const st = JSON.parse(res.body.toString()) as { message: string; reason: string };
    assert.equal(st.reason, 'BadRequest');
    assert.equal(
      st.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "foo", unknown field "bar"',
    );
  });

  it('Warn (the default) stores and answers a Warning header; Ignore is silent', async () => {
    const warn = await post('w', { foo: 1 });
    assert.equal(warn.status, 201);
    assert.equal(warn.headers['warning'], '299 - "unknown field \\"foo\\""');
    const ignore = await post('i', { foo: 1 }, 'Ignore');
    assert.equal(ignore.status, 201);
    assert.equal(ignore.headers['warning'], undefined);
  });

  it('applies strategy defaults and renders validation errors as 422 Invalid with causes', async () => {
    const ok = JSON.parse((await post('d', {}, 'Strict')).body.toString()) as KObject;
    assert.deepEqual(ok['data'], { defaulted: 'yes' });
    const res = await post('v', { data: { bad: 'x' } }, 'Strict');
    assert.equal(res.status, 422);
    const st = JSON.parse(res.body.toString()) as {
      message: string;
      details: { causes: { reason: string; message: string; field: string }[] };
    };
    assert.equal(
      st.message,
      'ConfigMap "v" is invalid: data[bad]: Invalid value: "x": must not be set',
    );
    assert.deepEqual(st.details.causes, [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "x": must not be set',
        field: 'data[bad]',
      },
    ]);
  });

  it('uses the strategy printer for Tables', async () => {
    const res = await api.client.request('GET', '/api/v1/namespaces/default/configmaps/d', {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    const table = JSON.parse(res.body.toString()) as {
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[] }[];
    };
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ['Name', 'Data'],
    );
    assert.deepEqual(table.rows[0]!.cells, ['d', 1]);
  });
});
