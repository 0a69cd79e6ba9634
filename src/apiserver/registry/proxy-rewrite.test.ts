// Proxy ids and link rewriting (pure): upstream's SplitSchemeNamePort and transport.go cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitSchemeNamePort } from './proxy.js';
import { type RewriteContext, rewriteHtml, rewriteUrl } from './proxy-rewrite.js';

test('proxy ids: name, name:port, scheme:name:port; anything else is invalid', () => {
  const cases: [string, ReturnType<typeof splitSchemeNamePort>][] = [
    ['web', { scheme: '', name: 'web', port: '' }],
    ['web:80', { scheme: '', name: 'web', port: '80' }],
    ['web:http', { scheme: '', name: 'web', port: 'http' }],
    ['https:web:443', { scheme: 'https', name: 'web', port: '443' }],
    ['http:web:', { scheme: 'http', name: 'web', port: '' }],
    ['ftp:web:21', undefined],
    [':80', undefined],
    ['a:b:c:d', undefined],
  ];
  for (const [id, want] of cases) assert.deepEqual(splitSchemeNamePort(id), want, id);
});

const ctx: RewriteContext = {
  pathPrepend: '/api/v1/namespaces/ns/services/web:80/proxy',
  backendHost: '10.1.0.5:8080',
  requestHost: '127.0.0.1:8001',
};
const p = ctx.pathPrepend;

test('URLs: same-host absolute ones get the proxy path, others stay', () => {
  const cases: [string, string][] = [
    ['/static/a.css', `${p}/static/a.css`],
    ['/dir/', `${p}/dir/`],
    ['/a/../b?x=1#f', `${p}/b?x=1#f`],
    ['http://10.1.0.5:8080/login', `${p}/login`],
    ['http://127.0.0.1:8001/x', `http://127.0.0.1:8001${p}/x`],
    [`${p}/already`, `${p}/already`],
    ['relative.html', 'relative.html'],
    ['http://example.com/x', 'http://example.com/x'],
    ['mailto:a@b.c', 'mailto:a@b.c'],
  ];
  for (const [from, want] of cases) assert.equal(rewriteUrl(from, ctx), want, from);
});

test('HTML: only URL attributes of the listed tags change, quoting kept', () => {
  const html =
    '<a class="x" href="/n">n</a><IMG SRC=/i.png alt="/not"><form action=\'/f\'></form>' +
    '<div data-href="/no"></div><br/>';
  assert.equal(
    rewriteHtml(html, ctx),
    `<a class="x" href="${p}/n">n</a><IMG SRC=${p}/i.png alt="/not"><form action='${p}/f'></form>` +
      '<div data-href="/no"></div><br/>',
  );
});
