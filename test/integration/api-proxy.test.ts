// The services/proxy and pods/proxy subresources with the real kubectl (`get --raw` and
// `kubectl proxy`): name, name:port, name:portname and scheme:name:port ids, the redirect of an
// empty path, links in HTML rewritten to go through the proxy again (issue 15, streaming).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, freePort, type SkiffUnderTest, startSkiff } from './harness.js';

const page =
  '<html><head><link rel="stylesheet" href="/style.css"></head><body>' +
  '<a href="/next/">next</a> <a href="rel.html">rel</a> <img src="http://elsewhere.example/x.png">' +
  '</body></html>';

// busybox httpd serving a page with links, and a text file.
const web = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'httpd',
            image: 'busybox',
            command: [
              'sh',
              '-c',
              `mkdir -p /tmp/www && printf '%s' '${page}' > /tmp/www/index.html && echo hello > /tmp/www/hello.txt && exec busybox httpd -f -p 8080 -h /tmp/www`,
            ],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: {
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'empty' },
      spec: { selector: { app: 'nothing' }, ports: [{ port: 80 }] },
    },
  ],
};

function get(
  url: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const base = '/api/v1/namespaces/default';

describe('services/proxy and pods/proxy', () => {
  let skiff: SkiffUnderTest;
  let proxy: ChildProcess | undefined;
  let proxyCache = '';
  const diagnose = async () =>
    (await skiff.kubectl(['get', 'pods,endpoints', '-o', 'wide'])).stdout;
  before(async () => {
    skiff = await startSkiff();
    await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(web) });
    await skiff.kubectlOk(['wait', 'pod/web', '--for=condition=Ready', '--timeout=60s'], {
      timeoutMs: 70_000,
    });
    await eventually(
      async () =>
        (await skiff.kubectlOk([
          'get',
          'endpoints',
          'web',
          '-o',
          'jsonpath={.subsets[0].addresses[0].ip}',
        ])) !== '',
      { timeoutMs: 20_000, what: 'endpoints of web', diagnose },
    );
  });
  after(async () => {
    if (proxy && proxy.exitCode === null) {
      const exited = new Promise((r) => proxy?.once('exit', r));
      proxy.kill('SIGKILL');
      await exited;
    }
    if (proxyCache) rmSync(proxyCache, { recursive: true, force: true });
    await skiff?.stop();
  });

  test('get --raw through a service by port number and port name, and through the pod', async () => {
    for (const id of [
      'services/web:80',
      'services/web:http',
      'pods/web:8080',
      'pods/web',
      'pods/http:web:8080',
    ]) {
      const body = await skiff.kubectlOk(['get', '--raw', `${base}/${id}/proxy/hello.txt`]);
      assert.equal(body, 'hello\n', id);
    }
  });

  test('HTML links to the same host get the proxy path; others are left alone', async () => {
    const html = await skiff.kubectlOk(['get', '--raw', `${base}/services/web:80/proxy/`]);
    const prefix = `${base}/services/web:80/proxy`;
    assert.match(html, new RegExp(`href="${prefix}/style.css"`));
    assert.match(html, new RegExp(`href="${prefix}/next/"`));
    assert.match(html, /href="rel.html"/);
    assert.match(html, /src="http:\/\/elsewhere.example\/x.png"/);
  });

  test('errors: no such service, no endpoints, bad id, nothing listening', async () => {
    const missing = await skiff.kubectl(['get', '--raw', `${base}/services/nope:80/proxy/`]);
    assert.match(missing.stderr, /services "nope" not found/);
    const empty = await skiff.kubectl(['get', '--raw', `${base}/services/empty:80/proxy/`]);
    assert.match(empty.stderr, /no endpoints available for service "empty"/);
    assert.match(empty.stderr, /ServiceUnavailable|503/);
    // As upstream, no port means the unnamed service port, and web's only port is named.
    const unnamed = await skiff.kubectl(['get', '--raw', `${base}/services/web/proxy/`]);
    assert.match(unnamed.stderr, /no endpoints available for service "web"/);
    const bad = await skiff.kubectl(['get', '--raw', `${base}/services/ftp:web:80/proxy/`]);
    assert.match(bad.stderr, /invalid service request "ftp:web:80"/);
    const closed = await skiff.kubectl(['get', '--raw', `${base}/pods/web:9/proxy/`]);
    assert.match(
      closed.stderr,
      /error trying to reach service: dial tcp [\d.]+:9: connect: connection refused/,
    );
    // https: to a plain HTTP server fails its handshake rather than answering in clear text.
    const tlsToPlain = await skiff.kubectl([
      'get',
      '--raw',
      `${base}/services/https:web:80/proxy/`,
    ]);
    assert.notEqual(tlsToPlain.code, 0);
    assert.match(tlsToPlain.stderr, /error trying to reach service/);
  });

  test('kubectl proxy: the service page, and the redirect of an empty path', async () => {
    const port = await freePort();
    proxyCache = mkdtempSync(join(tmpdir(), 'skiff-kcache-proxy-'));
    const child = spawn('kubectl', ['proxy', `--port=${port}`], {
      env: { ...process.env, KUBECONFIG: skiff.kubeconfig, KUBECACHEDIR: proxyCache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proxy = child;
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await eventually(async () => out.includes('Starting to serve') || child.exitCode !== null, {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: 'kubectl proxy to listen',
    });
    assert.equal(child.exitCode, null, out);
    const svc = `http://127.0.0.1:${port}${base}/services/web:80/proxy`;
    const r = await get(`${svc}/`);
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'] ?? '', /text\/html/);
    assert.match(r.body, new RegExp(`href="${base}/services/web:80/proxy/next/"`));
    const redirect = await get(svc);
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, `${base}/services/web:80/proxy/`);
    const text = await get(`${svc}/hello.txt`);
    assert.equal(text.body, 'hello\n');
  });
});
