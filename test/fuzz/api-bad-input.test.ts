// Bad input to the API server (issue #8, API side): huge and deeply nested bodies, invalid names,
// bad selectors, patches, unknown fields, content types, Accept and resourceVersion values. Every
// answer must be a well-formed metav1.Status with the upstream code; the server must stay up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../../src/apiserver/testing.js';
import { deployment, service } from './fixtures.js';
import {
  type Answer,
  assertClientError,
  assertStatus,
  closeAgent,
  Failures,
  type RawRequest,
  send,
} from './lib.js';

const ns = 'default';
const cmPath = `/api/v1/namespaces/${ns}/configmaps`;
const deployPath = `/apis/apps/v1/namespaces/${ns}/deployments`;
const svcPath = `/api/v1/namespaces/${ns}/services`;

const configMap = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
  data: { a: 'b' },
});

const nested = (depth: number, open: string, close: string, inner = '1') =>
  open.repeat(depth) + inner + close.repeat(depth);

describe('API server bad input', () => {
  let api: TestApiServer;
  const req = (r: RawRequest): Promise<Answer> => send(api.url, r);

  before(async () => {
    api = await startTestApiServer();
    for (const r of [
      { method: 'POST', path: cmPath, body: configMap('target') },
      { method: 'POST', path: deployPath, body: deployment('target') },
    ]) {
      const a = await req(r);
      assert.equal(a.status, 201, a.body.toString());
    }
  });
  after(async () => {
    // The server must still answer normally after everything below.
    const a = await req({ path: `${cmPath}/target` });
    closeAgent();
    await api.close();
    assert.equal(a.status, 200);
  });

  it('answers 413 RequestEntityTooLarge for bodies over 3 MiB, declared or chunked', async () => {
    const f = new Failures();
    const big = Buffer.alloc(3 * 1024 * 1024 + 10, 'a');
    const declared = await req({ method: 'POST', path: cmPath, body: big });
    f.check(() => assertStatus(declared, 413, 'RequestEntityTooLarge', 'content-length body'));
    const chunked = await req({
      method: 'POST',
      path: cmPath,
      body: big,
      headers: { 'Transfer-Encoding': 'chunked' },
    });
    f.check(() => assertStatus(chunked, 413, 'RequestEntityTooLarge', 'chunked body'));
    // A valid object just over the limit (a big data value) is refused the same way.
    const obj = { ...configMap('huge'), data: { a: 'x'.repeat(3 * 1024 * 1024) } };
    {
      const ans = await req({ method: 'POST', path: cmPath, body: obj });
      f.check(() => assertStatus(ans, 413));
    }
    const patch = await req({
      method: 'PATCH',
      path: `${cmPath}/target`,
      body: { data: { a: 'x'.repeat(3 * 1024 * 1024) } },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    f.check(() => assertStatus(patch, 413, 'RequestEntityTooLarge', 'merge patch'));
    f.done();
  });

  it('answers 400 for 10,000 levels of nesting, not a stack overflow', async () => {
    const f = new Failures();
    const head = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":';
    const bodies: [string, string][] = [
      ['array data', `${head}${nested(10_000, '[', ']')}}`],
      ['object data', `${head}${nested(10_000, '{"a":', '}')}}`],
      [
        'unknown field',
        `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":${nested(10_000, '[', ']')}}`,
      ],
    ];
    for (const [what, body] of bodies) {
      {
        const ans = await req({ method: 'POST', path: cmPath, body });
        f.check(() => assertStatus(ans, 400, 'BadRequest', what));
      }
    }
    const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${nested(10_000, '[', ']')}\n`;
    const y = await req({
      method: 'POST',
      path: cmPath,
      body: yaml,
      headers: { 'Content-Type': 'application/yaml' },
    });
    f.check(() => assertStatus(y, 400, 'BadRequest', 'yaml'));
    const p = await req({
      method: 'PATCH',
      path: `${cmPath}/target`,
      body: `{"data":${nested(10_000, '{"a":', '}')}}`,
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    f.check(() => assertStatus(p, 400, 'BadRequest', 'merge patch'));
    f.done();
  });

  it('answers 422 Invalid for invalid names', async () => {
    const f = new Failures();
    const cases: [string, string, object][] = [
      ['uppercase configmap', cmPath, configMap('Bad-Name')],
      ['254-char configmap', cmPath, configMap('a'.repeat(254))],
      ['underscore deployment', deployPath, deployment('bad_name')],
      ['uppercase deployment', deployPath, deployment('BadName')],
      ['64-char service (DNS-1035 label)', svcPath, service('s'.repeat(64))],
      ['service starting with a digit', svcPath, service('1svc')],
    ];
    for (const [what, path, body] of cases) {
      const ans = await req({ method: 'POST', path, body });
      f.check(() => {
        const s = assertStatus(ans, 422, 'Invalid', what);
        assert.ok(
          s.details?.causes?.some((c) => c.field === 'metadata.name'),
          `${what}: no metadata.name cause in ${JSON.stringify(s)}`,
        );
      });
    }
    // A name that is not a valid path segment in the URL itself.
    {
      const ans = await req({ path: `${cmPath}/Bad..Name` });
      f.check(() => assertClientError(ans, 'GET invalid name'));
    }
    f.done();
  });

  it('answers 400 BadRequest for bad label and field selectors', async () => {
    const f = new Failures();
    const label = [
      'a in (b',
      'a=b=c',
      '!',
      '=x',
      'a in b',
      '-a=b',
      `a=${'v'.repeat(64)}`,
      'a,,b',
      'a notin',
    ];
    for (const s of label) {
      const a = await req({ path: `${cmPath}?labelSelector=${encodeURIComponent(s)}` });
      f.check(() => assertStatus(a, 400, 'BadRequest', `labelSelector ${s}`));
    }
    const field = ['metadata.foo=bar', 'metadata.name', 'a==b==c', 'spec.bogus!=x', '=x'];
    for (const s of field) {
      const a = await req({ path: `${cmPath}?fieldSelector=${encodeURIComponent(s)}` });
      f.check(() => assertStatus(a, 400, 'BadRequest', `fieldSelector ${s}`));
      const w = await req({
        path: `${cmPath}?watch=true&fieldSelector=${encodeURIComponent(s)}`,
        isWatch: true,
      });
      f.check(() => assertStatus(w, 400, 'BadRequest', `watch fieldSelector ${s}`));
    }
    f.done();
  });

  it('answers 4xx for bad patches of every patch type', async () => {
    const f = new Failures();
    const cases: [string, string, string | object][] = [
      ['application/json-patch+json', 'not an array', { op: 'add' }],
      ['application/json-patch+json', 'unknown op', [{ op: 'frobnicate', path: '/data/a' }]],
      ['application/json-patch+json', 'missing path', [{ op: 'add', value: 1 }]],
      ['application/json-patch+json', 'remove missing', [{ op: 'remove', path: '/data/nope' }]],
      ['application/json-patch+json', 'failed test', [{ op: 'test', path: '/data/a', value: 'z' }]],
      ['application/json-patch+json', 'bad pointer', [{ op: 'add', path: 'data', value: 1 }]],
      ['application/json-patch+json', 'type change', [{ op: 'replace', path: '/data', value: 7 }]],
      ['application/json-patch+json', 'not JSON', '[{"op":'],
      ['application/merge-patch+json', 'not JSON', '{"data":'],
      ['application/merge-patch+json', 'rename', { metadata: { name: 'other' } }],
      ['application/merge-patch+json', 'wrong kind', { kind: 'Secret' }],
      ['application/merge-patch+json', 'data not a map', { data: 'x' }],
      ['application/strategic-merge-patch+json', 'not JSON', '}'],
      ['application/strategic-merge-patch+json', 'array body', [1, 2]],
      ['application/strategic-merge-patch+json', 'data list', { data: [1] }],
      ['application/strategic-merge-patch+json', 'bad directive', { $patch: 'explode' }],
      ['application/apply-patch+yaml', 'not YAML', 'a: [b'],
      ['application/apply-patch+yaml', 'no kind', 'metadata: {name: target}\n'],
      [
        'application/apply-patch+yaml',
        'wrong kind',
        'apiVersion: v1\nkind: Secret\nmetadata: {name: target}\n',
      ],
    ];
    for (const [type, what, body] of cases) {
      const path = `${cmPath}/target${type.startsWith('application/apply') ? '?fieldManager=fuzz' : ''}`;
      const a = await req({ method: 'PATCH', path, body, headers: { 'Content-Type': type } });
      f.check(() => assertClientError(a, `${type} ${what}`));
    }
    // Strategic merge patch on a Deployment: wrong types of typed fields are 4xx (422 or 400).
    for (const body of [
      { spec: { replicas: 'two' } },
      { spec: { template: { spec: { containers: { name: 'x' } } } } },
      { spec: { template: { spec: { containers: [{ image: 'no-name' }] } } } },
    ]) {
      const a = await req({
        method: 'PATCH',
        path: `${deployPath}/target`,
        body,
        headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
      });
      f.check(() => assertClientError(a, `deployment strategic ${JSON.stringify(body)}`));
    }
    // Apply without a fieldManager: upstream requires one.
    const noManager = await req({
      method: 'PATCH',
      path: `${cmPath}/target`,
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: target}\n',
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
    });
    f.check(() => assertStatus(noManager, 400, 'BadRequest', 'apply without fieldManager'));
    f.done();
  });

  it('rejects unknown fields with fieldValidation=Strict using the upstream wording', async () => {
    const f = new Failures();
    const body = { ...deployment('strict'), bogus: 1 } as Record<string, unknown>;
    (body['spec'] as Record<string, unknown>)['foo'] = 'bar';
    const a = await req({ method: 'POST', path: `${deployPath}?fieldValidation=Strict`, body });
    const s = assertStatus(a, 400, 'BadRequest', 'strict create');
    f.check(() => assert.match(s.message, /strict decoding error: /));
    f.check(() => assert.match(s.message, /unknown field "spec\.foo"/));
    f.check(() => assert.match(s.message, /unknown field "bogus"/));
    f.check(() =>
      assert.match(
        s.message,
        /^Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: /,
      ),
    );
    const put = await req({
      method: 'PUT',
      path: `${deployPath}/target?fieldValidation=Strict`,
      body: { ...deployment('target'), bogus: 1 },
    });
    f.check(() =>
      assert.match(
        assertStatus(put, 400, 'BadRequest', 'strict update').message,
        /unknown field "bogus"/,
      ),
    );
    const patch = await req({
      method: 'PATCH',
      path: `${deployPath}/target?fieldValidation=Strict`,
      body: { spec: { foo: 1 } },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    f.check(() =>
      assert.match(
        assertStatus(patch, 400, 'BadRequest', 'strict patch').message,
        /strict decoding error: unknown field "spec\.foo"/,
      ),
    );
    // Warn (the default) creates and warns; Ignore creates silently; anything else is 400.
    const warn = await req({
      method: 'POST',
      path: deployPath,
      body: { ...deployment('warned'), bogus: 1 },
    });
    f.check(() => assert.equal(warn.status, 201, warn.body.toString()));
    f.check(() => assert.match(String(warn.headers['warning']), /unknown field \\"bogus\\"/));
    // An unknown field whose name cannot go into an HTTP header as is (non-Latin-1): the Warning
    // must still be sent (escaped) and the create must not fail after the object was stored.
    const wide = await req({
      method: 'POST',
      path: cmPath,
      body: { ...configMap('wide-warning'), ключ日本: 1 },
    });
    f.check(() => assert.equal(wide.status, 201, wide.body.toString()));
    const stored = await req({ path: `${cmPath}/wide-warning` });
    f.check(() =>
      assert.ok(
        wide.status === 201 || stored.status === 404,
        `create answered ${wide.status} but stored the object anyway`,
      ),
    );
    const bad = await req({
      method: 'POST',
      path: `${deployPath}?fieldValidation=Loud`,
      body: deployment('x'),
    });
    f.check(() => assertStatus(bad, 400, 'BadRequest', 'fieldValidation=Loud'));
    f.done();
  });

  it('answers 415 UnsupportedMediaType for wrong content types', async () => {
    const f = new Failures();
    for (const type of [
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'image/png',
    ]) {
      const a = await req({
        method: 'POST',
        path: cmPath,
        body: configMap('ct'),
        headers: { 'Content-Type': type },
      });
      f.check(() => assertStatus(a, 415, 'UnsupportedMediaType', `POST ${type}`));
      const p = await req({
        method: 'PUT',
        path: `${cmPath}/target`,
        body: configMap('target'),
        headers: { 'Content-Type': type },
      });
      f.check(() => assertStatus(p, 415, 'UnsupportedMediaType', `PUT ${type}`));
    }
    for (const type of ['application/json', 'text/plain', 'application/yaml']) {
      const a = await req({
        method: 'PATCH',
        path: `${cmPath}/target`,
        body: { data: { a: 'c' } },
        headers: { 'Content-Type': type },
      });
      f.check(() => assertStatus(a, 415, 'UnsupportedMediaType', `PATCH ${type}`));
    }
    f.done();
  });

  it('answers 406 NotAcceptable for an unsupported Accept', async () => {
    const f = new Failures();
    for (const accept of [
      'text/html',
      'application/xml',
      'image/png',
      'application/json;as=Table;g=meta.k8s.io;v=v9',
      'application/json;as=Nothing;g=meta.k8s.io;v=v1',
    ]) {
      {
        const ans = await req({ path: cmPath, headers: { Accept: accept } });
        f.check(() => assertStatus(ans, 406, 'NotAcceptable', `list ${accept}`));
      }
      const g = await req({ path: `${cmPath}/target`, headers: { Accept: accept } });
      f.check(() => assertStatus(g, 406, 'NotAcceptable', `get ${accept}`));
      const c = await req({
        method: 'POST',
        path: cmPath,
        body: configMap('acc'),
        headers: { Accept: accept },
      });
      f.check(() => assertStatus(c, 406, 'NotAcceptable', `create ${accept}`));
    }
    f.done();
  });

  it('answers 4xx for bad resourceVersion values on list, get, watch and update', async () => {
    const f = new Failures();
    for (const rv of ['abc', '-1', '1.5', '0x10', '99999999999999999999999']) {
      const q = `resourceVersion=${encodeURIComponent(rv)}`;
      {
        const ans = await req({ path: `${cmPath}?${q}` });
        f.check(() => assertStatus(ans, (c) => c >= 400 && c < 500, undefined, `list rv=${rv}`));
      }
      {
        const ans = await req({ path: `${cmPath}/target?${q}` });
        f.check(() => assertStatus(ans, (c) => c >= 400 && c < 500, undefined, `get rv=${rv}`));
      }
      const w = await req({ path: `${cmPath}?watch=true&timeoutSeconds=1&${q}`, isWatch: true });
      f.check(() => assertStatus(w, (c) => c >= 400 && c < 500, undefined, `watch rv=${rv}`));
      const cur = JSON.parse((await req({ path: `${cmPath}/target` })).body.toString()) as {
        metadata: Record<string, unknown>;
      };
      const body = { ...cur, metadata: { ...cur.metadata, resourceVersion: rv } };
      const put = await req({ method: 'PUT', path: `${cmPath}/target`, body });
      f.check(() => assertClientError(put, `put rv=${rv}`));
    }
    // A stale but well-formed resourceVersion is a Conflict.
    const stale = {
      ...configMap('target'),
      metadata: { name: 'target', namespace: ns, resourceVersion: '1' },
    };
    {
      const ans = await req({ method: 'PUT', path: `${cmPath}/target`, body: stale });
      f.check(() => assertStatus(ans, 409, 'Conflict'));
    }
    for (const t of ['abc', '1.5s']) {
      const w = await req({ path: `${cmPath}?watch=true&timeoutSeconds=${t}`, isWatch: true });
      f.check(() => assertStatus(w, 400, 'BadRequest', `timeoutSeconds=${t}`));
    }
    f.done();
  });

  it('answers 400 for bodies that are not objects or not of the resource', async () => {
    const f = new Failures();
    for (const body of [
      '[]',
      '"str"',
      'null',
      '123',
      'true',
      '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"k"}}',
      '{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"v"}}',
      '{"metadata":"x"}',
      '{"metadata":{"name":7}}',
      '{"metadata":{"labels":[1]}}',
    ]) {
      const a = await req({ method: 'POST', path: cmPath, body });
      f.check(() => assertStatus(a, (c) => c === 400 || c === 422, undefined, `POST ${body}`));
    }
    for (const [what, r] of [
      [
        'bad propagationPolicy',
        { method: 'DELETE', path: `${cmPath}/nothing?propagationPolicy=Sideways` },
      ],
      ['bad dryRun', { method: 'POST', path: `${cmPath}?dryRun=Some`, body: configMap('dry') }],
      [
        'bad delete body',
        { method: 'DELETE', path: `${cmPath}/target`, body: '{"propagationPolicy":' },
      ],
      [
        'bad includeObject',
        {
          path: `${cmPath}?includeObject=All`,
          headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
        },
      ],
    ] as [string, RawRequest][]) {
      const ans = await req(r);
      f.check(() => assertStatus(ans, 400, 'BadRequest', what));
    }
    {
      const ans = await req({ path: '/api/v1/namespaces/%ZZ/configmaps' });
      f.check(() => assertStatus(ans, (c) => c === 400 || c === 404, undefined, 'bad escape'));
    }
    {
      const ans = await req({ method: 'PUT', path: cmPath, body: configMap('x') });
      f.check(() => assertStatus(ans, 405, 'MethodNotAllowed'));
    }
    f.done();
  });
});
