// Records the request bodies real kubectl sends for typed-client commands (protobuf), into
// src/apiserver/protobuf/testdata/<name>.bin, by pointing kubectl at a tiny loopback fake server.
// Usage: npx tsx scripts/capture-kubectl-bodies.ts  (needs kubectl on PATH)
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { builtinResources, groupVersion } from '../src/api/resources.js';

const outDir = new URL('../src/apiserver/protobuf/testdata/', import.meta.url);
let current = '';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (code: number, obj: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    if (url.pathname === '/version') {
      return json(200, { major: '1', minor: '32', gitVersion: 'v1.32.4', platform: 'linux/amd64' });
    }
    if (url.pathname === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'] });
    if (url.pathname === '/apis') {
      const groups = [...new Set(builtinResources.map((r) => r.group))].filter((g) => g !== '');
      return json(200, {
        kind: 'APIGroupList',
        groups: groups.map((g) => {
          const versions = [
            ...new Set(builtinResources.filter((r) => r.group === g).map((r) => r.version)),
          ].map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
          return { name: g, versions, preferredVersion: versions[0] };
        }),
      });
    }
    const gv = url.pathname.match(/^\/(?:api|apis)\/(.+\/)?(v[0-9a-z]+)$/);
    if (gv && req.method === 'GET') {
      const group = gv[1]?.slice(0, -1) ?? '';
      return json(200, {
        kind: 'APIResourceList',
        groupVersion: gv[1] ? `${group}/${gv[2]}` : gv[2],
        resources: builtinResources
          .filter((r) => r.group === group && r.version === gv[2])
          .flatMap((r) => [
            {
              name: r.resource,
              namespaced: r.namespaced,
              kind: r.kind,
              verbs: r.verbs,
              shortNames: r.shortNames,
            },
            // autoscale looks for the scale subresource in discovery.
            ...r.subresources.map((sub) => ({
              name: `${r.resource}/${sub}`,
              namespaced: r.namespaced,
              kind: sub === 'scale' ? 'Scale' : r.kind,
              ...(sub === 'scale' ? { group: 'autoscaling', version: 'v1' } : {}),
              verbs: ['get', 'patch', 'update'],
            })),
          ]),
      });
    }
    const parts = url.pathname.split('/').filter(Boolean);
    const isNamed =
      parts.at(-2) !== 'namespaces' && parts.length % 2 === (parts[0] === 'api' ? 1 : 0);
    const r = builtinResources.find((x) => parts.includes(x.resource));
    const meta = { name: isNamed ? parts.at(-1) : 'x', namespace: 'default', uid: 'u1' };
    if (req.method === 'POST') {
      const ext = req.headers['content-type']?.includes('protobuf') ? 'bin' : 'json';
      writeFileSync(new URL(`${current}.${ext}`, outDir), body);
      console.log(`${current}: ${req.headers['content-type']} ${body.length} bytes ${req.url}`);
      const name = /([a-z0-9-]{3,})/.exec(body.subarray(30, 90).toString('latin1'))?.[1] ?? 'x';
      return json(201, {
        apiVersion: r && groupVersion(r),
        kind: r?.kind,
        metadata: { ...meta, name },
      });
    }
    if (req.method === 'GET' && r) {
      return json(200, { apiVersion: groupVersion(r), kind: r.kind, metadata: meta, spec: {} });
    }
    json(404, {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
    });
  });
});

server.listen(0, '127.0.0.1', async () => {
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'capture-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\n` +
      'users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n',
  );
  const env = { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, 'cache') };
  const commands: [string, string[]][] = [
    [
      'deployment',
      [
        'create',
        'deployment',
        'hello-world-flask',
        '--image=lyzhang1999/hello-world-flask:latest',
        '--replicas=2',
      ],
    ],
    [
      'deployment-zero',
      ['create', 'deployment', 'zero', '--image=nginx:1.27', '--replicas=0', '--port=80'],
    ],
    ['service', ['create', 'service', 'clusterip', 'hello-world-flask', '--tcp=5000:5000']],
    [
      'service-nodeport',
      ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080'],
    ],
    ['ingress', ['create', 'ingress', 'hello-world-flask', '--rule=/=hello-world-flask:5000']],
    [
      'ingress-tls',
      ['create', 'ingress', 'tls', '--class=nginx', '--rule=foo.com/path*=svc:https,tls=secret1'],
    ],
    [
      'hpa-v1',
      ['autoscale', 'deployment', 'hello-world-flask', '--cpu-percent=50', '--min=2', '--max=10'],
    ],
    ['configmap', ['create', 'configmap', 'cfg', '--from-literal=a=1', '--from-literal=b=two']],
    ['secret', ['create', 'secret', 'generic', 'sec', '--from-literal=password=s3cr3t']],
    ['namespace', ['create', 'namespace', 'team-a']],
    [
      'pod',
      [
        'run',
        'web',
        '--image=nginx:1.27',
        '--port=80',
        '--labels=app=web',
        '--env=A=1',
        '--',
        'nginx',
        '-g',
        'daemon off;',
      ],
    ],
    ['job', ['create', 'job', 'once', '--image=busybox', '--', 'echo', 'hi']],
    ['serviceaccount', ['create', 'serviceaccount', 'bot']],
  ];
  try {
    for (const [name, args] of commands) {
      current = name;
      // Async on purpose: a sync exec would block this process's own server.
      const { stdout } = await promisify(execFile)('kubectl', args, { env });
      process.stdout.write(stdout);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    server.close();
  }
});
