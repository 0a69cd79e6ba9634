// The nginx data plane's rendered text: Lua string escaping, the route/endpoint table pushed over
// the control socket, the nginx.conf essentials, and the stats parser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { parseNginxStats } from './nginx.js';
import { luaString, renderLuaConfig, renderNginxConf, upstreamName } from './nginx-conf.js';
import { RouteTable } from './routes.js';

test('luaString keeps printable ASCII and escapes quotes, backslashes and other bytes', () => {
  assert.equal(luaString('/a-b_c.d'), '"/a-b_c.d"');
  assert.equal(luaString('a"b\\c'), '"a\\34b\\92c"');
  assert.equal(luaString('é\n'), '"\\195\\169\\10"');
});

test('renderLuaConfig lists servers in precedence order and each backend with its endpoints', () => {
  const ing: Ingress = {
    metadata: { name: 'web', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      defaultBackend: { service: { name: 'fallback', port: { number: 80 } } },
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              {
                path: '/api/',
                pathType: 'Prefix',
                backend: { service: { name: 'api', port: { number: 8080 } } },
              },
              {
                path: '/api',
                pathType: 'Exact',
                backend: { service: { name: 'exact', port: { name: 'http' } } },
              },
            ],
          },
        },
        {
          host: '*.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'wild', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
  const table = new RouteTable([ing]);
  const backends = new Map(
    table.backends().map((b) => [upstreamName(b), [{ ip: '10.0.0.2', port: 5000 }]]),
  );
  const lua = renderLuaConfig({ ...table.servers(), backends });
  // Exact "/api" (length 4) outranks Prefix "/api/" (stripped to "/api", also 4) at equal length.
  assert.match(
    lua,
    /\["shop\.example\.com"\]=\{locs=\{\{"\/api","E","shop-exact-http"\},\{"\/api","P","shop-api-8080"\}\},def="shop-fallback-80"\}/,
  );
  assert.match(lua, /wild=\{\["example\.com"\]=\{locs=\{\{"","P","shop-wild-80"\}\}/);
  assert.match(lua, /any=\{locs=\{\},def="shop-fallback-80"\}/);
  assert.match(lua, /\["shop-api-8080"\]=\{\{"10\.0\.0\.2",5000,"10\.0\.0\.2:5000"\}\}/);
  assert.equal(table.backends().length, 4);
});

test('renderNginxConf: the listen addresses, the holder, the control socket, no reuseport, whole answers', () => {
  const base = {
    dir: '/run/x',
    listen: ['127.0.0.1:80', '10.244.0.1:80'],
    workers: 2,
    holderSocket: '/run/x/holder.sock',
    controlSocket: '/run/x/control.sock',
    luaDir: '/run/x',
    luaModulesDir: '/usr/lib/nginx/modules',
    accessLog: false,
    asRoot: false,
  };
  const conf = renderNginxConf(base);
  assert.match(
    conf,
    /listen 127\.0\.0\.1:80 backlog=4096;\n\s+listen 10\.244\.0\.1:80 backlog=4096;/,
  );
  assert.match(conf, /skiff_ingress\.holder = "unix:\/run\/x\/holder\.sock"/);
  assert.match(conf, /listen unix:\/run\/x\/control\.sock;/);
  assert.match(conf, /access_log off;/);
  // A worker's own accept queue (reuseport) would die with it: the shared one survives.
  assert.doesNotMatch(conf, /reuseport/);
  assert.doesNotMatch(conf, /^user /m);
  // Small GET/HEAD answers go through the internal whole-answer location (issue #17).
  assert.match(conf, /access_by_lua_block \{ skiff_ingress\.whole\(\) \}/);
  assert.match(conf, /skiff_ingress\.wholeMax = 65536/);
  assert.match(conf, /location = \/\.skiff-whole-answer \{\n\s+internal;/);
  const streamed = renderNginxConf({ ...base, asRoot: true, wholeAnswerBytes: 0 });
  // 0: every answer streams (nothing maps to a whole fetch); upgrades are still counted.
  assert.doesNotMatch(streamed, /"(GET|HEAD):::"/, '0: every answer streams');
  // ...and no request pays for an access phase in Lua (route() counts the upgrades).
  assert.doesNotMatch(streamed, /access_by_lua|skiff-whole-answer \{/);
  assert.match(conf, /"GET:::" 1;\n\s+"HEAD:::" 2;/);
  assert.match(streamed, /"~\^\[\^:\]\*:\[\^:\]" 3;/);
  assert.match(streamed, /^user root;/);
});

test('parseNginxStats: totals, status classes with 499 as failed, the histogram window, retries', () => {
  const now = 1_000_000_000;
  const sec = now / 1000;
  const text = [
    `r 7`,
    's:200 4',
    's:502 1',
    's:499 2',
    `h:${sec}:10 3`,
    `h:${sec - 30}:12 9`,
    'e:retry 2',
    'e:streamed 1',
    'version 3',
  ].join('\n');
  const s = parseNginxStats(text, now, 10);
  assert.equal(s.requests, 7);
  assert.equal(s.errors, 3);
  assert.deepEqual(s.status, { '2xx': 4, '5xx': 1, failed: 2 });
  assert.deepEqual(s.histogram, { '10': 3 });
  assert.deepEqual(s.events, { retry: 2, streamed: 1 });
});
