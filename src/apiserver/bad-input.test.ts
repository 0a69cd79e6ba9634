// Regression tests of the API server's answers to bad input (issue #8 findings): nesting depth,
// JSON type errors, Warning header escaping, field labels, resourceVersion/timeoutSeconds parsing,
// malformed URL escapes, apply without kind; plus the spec.nodeName pod field selector.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { R } from '../client/resources.js';
import type { KObject, RawResponse } from '../client/rest.js';
import { maxNestingDepth } from './handlers/body.js';
import { startTestApiServer, type TestApiServer } from './testing.js';

const cmPath = '/api/v1/namespaces/default/configmaps';
const deployPath = '/apis/apps/v1/namespaces/default/deployments';

const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    },
  },
});

interface Status {
  code: number;
  reason: string;
  message: string;
}

function statusOf(res: RawResponse, code: number): Status {
  const body = res.body.toString();
  assert.equal(res.status, code, body);
  const s = JSON.parse(body) as Status;
  assert.equal(s.code, code);
  return s;
}

describe('API server bad input', () => {
  let api: TestApiServer;
  const request = (
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => {
    const [p, query] = path.split('?');
    return api.client.request(method, p!, {
      body,
      contentType: headers?.['Content-Type'],
      query: Object.fromEntries(new URLSearchParams(query ?? '')),
    });
  };

  before(async () => {
    api = await startTestApiServer();
    const res = await request('POST', cmPath, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'target' },
      data: { a: 'b' },
    });
    assert.equal(res.status, 201, res.body.toString());
  });
  after(() => api.close());

  it('accepts nesting up to the limit and answers 400 beyond it', async () => {
    // The ConfigMap itself is one level, "x" (an unknown, free-form field) holds the rest.
    const deep = (levels: number) =>
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep${levels}"},"x":${'['.repeat(levels)}${']'.repeat(levels)}}`;
    const ok = await request('POST', cmPath, deep(maxNestingDepth - 1), {
      'Content-Type': 'application/json',
    });
    assert.equal(ok.status, 201, ok.body.toString());
    // Every representation of the accepted object still renders (the renderers recurse).
    const yaml = await api.client.request('GET', `${cmPath}/deep${maxNestingDepth - 1}`, {
      accept: 'application/yaml',
    });
    assert.equal(yaml.status, 200, yaml.body.toString().slice(0, 200));
    const s = statusOf(
      await request('POST', cmPath, deep(maxNestingDepth), { 'Content-Type': 'application/json' }),
      400,
    );
    assert.equal(s.reason, 'BadRequest');
    assert.match(s.message, /exceeded max depth/);
    const patch = `{"data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    statusOf(
      await request('PATCH', `${cmPath}/target`, patch, {
        'Content-Type': 'application/merge-patch+json',
      }),
      400,
    );
  });

  it('answers 400 with the decoder wording for fields of the wrong JSON type', async () => {
    const bad = { ...deployment('typed'), spec: { ...deployment('typed').spec, replicas: 'two' } };
    const s = statusOf(await request('POST', deployPath, bad), 400);
    assert.equal(
      s.message,
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    );
    const name = statusOf(await request('POST', cmPath, { metadata: { name: 7 } }), 400).message;
    assert.match(name, /ObjectMeta\.metadata\.name of type string/);
    for (const data of [7, 'x', [1]]) {
      const res = await request(
        'PATCH',
        `${cmPath}/target`,
        { data },
        {
          'Content-Type': 'application/merge-patch+json',
        },
      );
      assert.match(statusOf(res, 400).message, /ConfigMap\.data of type map\[string\]string/);
    }
    // Nothing was stored by the refused writes.
    const cm = await api.client.get(R.configmaps, 'default', 'target');
    assert.deepEqual(cm['data'], { a: 'b' });
  });

  it('checks status updates like object updates', async () => {
    const dep = await api.client.create(R.deployments, {
      ...deployment('st'),
      metadata: { name: 'st', namespace: 'default' },
    });
    const statusPath = `${deployPath}/st/status`;
    statusOf(await request('PUT', statusPath, '[]', { 'Content-Type': 'application/json' }), 400);
    const wrong = { ...dep, status: { replicas: 'one' } };
    const s = statusOf(await request('PUT', statusPath, wrong), 400);
    assert.match(s.message, /DeploymentStatus\.status\.replicas of type int32/);
    const ok = await request('PUT', statusPath, { ...dep, status: { replicas: 1 } });
    assert.equal(ok.status, 200, ok.body.toString());
  });

  it('escapes Warning headers that are not Latin-1 and never fails after the write', async () => {
    const res = await request('POST', cmPath, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'wide' },
      ключ日本: 1,
    });
    assert.equal(res.status, 201, res.body.toString());
    // The header carries the UTF-8 bytes, as upstream sends them.
    const raw = String(res.headers['warning']);
    assert.equal(
      Buffer.from(raw, 'latin1').toString('utf8'),
      '299 - "unknown field \\"ключ日本\\""',
    );
  });

  it('answers 400 "field label not supported" for fields the resource cannot select', async () => {
    for (const sel of ['metadata.foo=bar', 'spec.bogus!=x']) {
      for (const watch of ['', '&watch=true']) {
        const res = await request(
          'GET',
          `${cmPath}?fieldSelector=${encodeURIComponent(sel)}${watch}`,
        );
        assert.equal(
          statusOf(res, 400).message,
          `field label not supported: ${sel.split(/!?=/)[0]}`,
        );
      }
    }
    statusOf(await request('GET', `${cmPath}?fieldSelector=${encodeURIComponent('a==b==c')}`), 400);
    const ok = await request('GET', `${cmPath}?fieldSelector=metadata.name%3Dtarget`);
    assert.equal(ok.status, 200);
  });

  it('lists pods by spec.nodeName (the node agent filter)', async () => {
    const pod = (name: string, nodeName?: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
    });
    await api.client.create(R.pods, pod('on-a', 'node-a'));
    await api.client.create(R.pods, pod('on-b', 'node-b'));
    await api.client.create(R.pods, pod('nowhere'));
    const names = async (sel: string) => {
      const list = await api.client.list(R.pods, { fieldSelector: sel });
      return list.items.map((p: KObject) => p.metadata?.name).sort();
    };
    assert.deepEqual(await names('spec.nodeName=node-a'), ['on-a']);
    assert.deepEqual(await names('spec.nodeName='), ['nowhere']);
    assert.deepEqual(await names('spec.nodeName!=node-a'), ['nowhere', 'on-b']);
  });

  it('answers 400 for malformed resourceVersion and timeoutSeconds values', async () => {
    for (const rv of ['abc', '-1', '1.5', '0x10', '99999999999999999999999']) {
      for (const path of [cmPath, `${cmPath}/target`, `${cmPath}?watch=true&timeoutSeconds=2`]) {
        const sep = path.includes('?') ? '&' : '?';
        const res = await request('GET', `${path}${sep}resourceVersion=${encodeURIComponent(rv)}`);
        assert.match(statusOf(res, 400).message, /^invalid resource version: /, `${path} ${rv}`);
      }
    }
    // A well-formed future resourceVersion is upstream's 504 "Too large resource version".
    const future = await request('GET', `${cmPath}/target?resourceVersion=1000000`);
    assert.match(statusOf(future, 504).message, /^Too large resource version: 1000000/);
    const t = await request('GET', `${cmPath}?watch=true&timeoutSeconds=abc`);
    assert.equal(statusOf(t, 400).reason, 'BadRequest');
  });

  it('answers 400 for a malformed URL escape', async () => {
    const res = await request('GET', '/api/v1/namespaces/%ZZ/configmaps');
    assert.equal(statusOf(res, 400).message, 'invalid URL escape "%ZZ"');
  });

  it('requires apiVersion and kind in an apply configuration', async () => {
    const apply = (body: string) =>
      request('PATCH', `${cmPath}/target?fieldManager=t`, body, {
        'Content-Type': 'application/apply-patch+yaml',
      });
    assert.match(
      statusOf(await apply('metadata: {name: target}\n'), 400).message,
      /'Kind' is missing/,
    );
    assert.match(
      statusOf(await apply('kind: ConfigMap\nmetadata: {name: target}\n'), 400).message,
      /^Incorrect version specified in apply patch/,
    );
    const ok = await apply('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: target}\n');
    assert.equal(ok.status, 200, ok.body.toString());
  });
});
