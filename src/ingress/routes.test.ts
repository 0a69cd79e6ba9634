// Table tests of ingress class ownership and request routing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HTTPIngressPath, Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { isOwnedIngress, ownedClasses, prefixMatches, RouteTable } from './routes.js';

function path(p: string, pathType: string, svc: string): HTTPIngressPath {
  return { path: p, pathType, backend: { service: { name: svc, port: { number: 80 } } } };
}

function ing(
  name: string,
  rules: { host?: string; paths: HTTPIngressPath[] }[],
  extra: Partial<Ingress['spec']> = {},
  created = '2026-01-01T00:00:00Z',
): Ingress {
  return {
    metadata: { name, namespace: 'default', creationTimestamp: created },
    spec: { rules: rules.map((r) => ({ host: r.host, http: { paths: r.paths } })), ...extra },
  };
}

describe('prefixMatches (element-wise)', () => {
  const cases: [string, string, boolean][] = [
    ['/', '/anything', true],
    ['/foo', '/foo', true],
    ['/foo', '/foo/', true],
    ['/foo', '/foo/bar', true],
    ['/foo', '/foobar', false],
    ['/foo/', '/foo', true],
    ['/foo/bar', '/foo/baz', false],
  ];
  for (const [pattern, p, want] of cases) {
    test(`${pattern} vs ${p} → ${want}`, () => assert.equal(prefixMatches(pattern, p), want));
  }
});

describe('RouteTable.match', () => {
  const table = new RouteTable([
    ing('seed', [{ paths: [path('/', 'Exact', 'root-exact')] }]),
    ing('api', [
      {
        paths: [
          path('/api', 'Prefix', 'api'),
          path('/api/v2', 'Prefix', 'api-v2'),
          path('/api/v2/exact', 'Exact', 'api-v2-exact'),
          path('/static', 'ImplementationSpecific', 'static'),
        ],
      },
    ]),
    ing('hosts', [
      { host: 'foo.example.com', paths: [path('/', 'Prefix', 'foo')] },
      { host: '*.example.com', paths: [path('/', 'Prefix', 'wild')] },
    ]),
    ing('tie-newer', [{ paths: [path('/api', 'Prefix', 'newer')] }], {}, '2026-02-01T00:00:00Z'),
  ]);
  const cases: [string | undefined, string, string | undefined][] = [
    ['127.0.0.1', '/', 'root-exact'],
    ['127.0.0.1:80', '/other', undefined],
    [undefined, '/api', 'api'],
    [undefined, '/api/users', 'api'],
    [undefined, '/apix', undefined],
    [undefined, '/api/v2/x', 'api-v2'],
    [undefined, '/api/v2/exact', 'api-v2-exact'],
    [undefined, '/api/v2/exact/more', 'api-v2'],
    [undefined, '/staticfile.js', 'static'],
    ['foo.example.com', '/x', 'foo'],
    ['FOO.example.com:8080', '/x', 'foo'],
    ['bar.example.com', '/x', 'wild'],
    ['a.b.example.com', '/', 'root-exact'],
    ['example.com', '/api', 'api'],
  ];
  for (const [host, p, want] of cases) {
    test(`${host ?? '(no host)'} ${p} → ${want ?? '404'}`, () => {
      assert.equal(table.match(host, p)?.service, want);
    });
  }

  test('defaultBackend catches what no rule matches', () => {
    const t = new RouteTable([
      ing('d', [{ paths: [path('/a', 'Exact', 'a')] }], {
        defaultBackend: { service: { name: 'fallback', port: { name: 'http' } } },
      }),
    ]);
    assert.equal(t.match('x', '/a')?.service, 'a');
    assert.deepEqual(t.match('x', '/b')?.port, { number: undefined, name: 'http' });
    assert.equal(t.match('x', '/b')?.service, 'fallback');
  });
});

describe('ingress classes', () => {
  const nginx: IngressClass = {
    metadata: {
      name: 'nginx',
      annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
    },
    spec: { controller: 'k8s.io/ingress-nginx' },
  };
  const other: IngressClass = { metadata: { name: 'traefik' }, spec: { controller: 'traefik.io' } };
  test('ingresses without a class use the default class', () => {
    const owned = ownedClasses([nginx, other]);
    assert.ok(isOwnedIngress(ing('a', []), owned));
    assert.ok(isOwnedIngress(ing('b', [], { ingressClassName: 'nginx' }), owned));
    assert.ok(!isOwnedIngress(ing('c', [], { ingressClassName: 'traefik' }), owned));
  });
  test("another controller's default class takes classless ingresses; no default at all, we do", () => {
    const plain = { ...nginx, metadata: { name: 'nginx' } };
    const otherDefault = {
      ...other,
      metadata: { name: 'traefik', annotations: nginx.metadata?.annotations },
    };
    assert.ok(!isOwnedIngress(ing('a', []), ownedClasses([plain, otherDefault])));
    assert.ok(isOwnedIngress(ing('a', []), ownedClasses([plain, other])));
  });
});
