// pods/log and pods/exec proxying to a fake node agent, API aggregation to a fake APIService
// backend, and the TokenRequest subresource; servers use certificates from the auth module's PKI.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { KObject } from '../api/object.js';
import { R } from '../client/resources.js';
import { ensurePki, type Pki } from './auth/pki.js';
import { startTestApiServer, type TestApiServer } from './testing.js';

describe('API server proxies', { timeout: 60_000 }, () => {
  let dir: string;
  let pki: Pki;
  let api: TestApiServer;
  let kubelet: https.Server;
  let kubeletPort: number;
  let backend: https.Server;
  let backendPort: number;
  const seen: { path: string; auth?: string; user?: string }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-apiserver-proxy-'));
    pki = await ensurePki(join(dir, 'pki'));
    kubelet = https.createServer({ key: pki.serverKey, cert: pki.serverCert }, (req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('line 1\nline 2\n');
    });
    const wss = new WebSocketServer({ noServer: true });
    kubelet.on('upgrade', (req, socket, head) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('hi\n')]));
        ws.send(
          Buffer.concat([Buffer.from([3]), Buffer.from('{"metadata":{},"status":"Success"}')]),
        );
        ws.close(1000);
      });
    });
    await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r));
    kubeletPort = (kubelet.address() as AddressInfo).port;
    backend = https.createServer({ key: pki.serverKey, cert: pki.serverCert }, (req, res) => {
      seen.push({ path: req.url ?? '', user: String(req.headers['x-remote-user']) });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (req.url === '/apis/metrics.k8s.io/v1beta1') {
        res.end(
          JSON.stringify({
            kind: 'APIResourceList',
            groupVersion: 'metrics.k8s.io/v1beta1',
            resources: [
              { name: 'pods', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
            ],
          }),
        );
      } else
        res.end(
          JSON.stringify({
            kind: 'PodMetricsList',
            apiVersion: 'metrics.k8s.io/v1beta1',
            metadata: {},
            items: [],
          }),
        );
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    backendPort = (backend.address() as AddressInfo).port;
    api = await startTestApiServer({
      kubelet: { token: 'kubelet-secret', ca: pki.caCert },
      pki: { ...pki, serverCert: '' },
      authenticator: {
        authenticate: async () => ({ username: 'tester', groups: ['system:masters'] }),
      },
    });
    await api.client.create(R.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
      },
    } as KObject);
    await api.client.create(R.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: {
        nodeName: 'n1',
        containers: [
          { name: 'c1', image: 'x' },
          { name: 'c2', image: 'y' },
        ],
      },
    } as KObject);
  });
  after(async () => {
    await api?.close();
    kubelet?.closeAllConnections();
    backend?.closeAllConnections();
    await new Promise((r) => kubelet?.close(r));
    await new Promise((r) => backend?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('proxies logs to the node agent with its token, picking containers like upstream', async () => {
    const res = await api.client.request('GET', '/api/v1/namespaces/default/pods/p/log', {
      query: { container: 'c2', tailLines: 2 },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'line 1\nline 2\n');
    const last = seen.at(-1)!;
    assert.equal(last.path, '/containerLogs/default/p/c2?tailLines=2');
    assert.equal(last.auth, 'Bearer kubelet-secret');
    const ambiguous = await api.client.request('GET', '/api/v1/namespaces/default/pods/p/log');
    assert.equal(ambiguous.status, 400);
    assert.equal(
      JSON.parse(ambiguous.body.toString()).message,
      'a container name must be specified for pod p, choose one of: [c1 c2]',
    );
  });

  it('pipes an exec websocket upgrade through to the node agent', async () => {
    const ws = new WebSocket(
      `${api.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/p/exec?command=echo&command=hi&container=c1&stdout=true`,
      ['v5.channel.k8s.io'],
    );
    const frames: Buffer[] = [];
    const code = await new Promise<number>((resolve, reject) => {
      ws.on('message', (d: Buffer) => frames.push(d));
      ws.on('close', (c) => resolve(c));
      ws.on('error', reject);
    });
    assert.equal(code, 1000);
    assert.equal(frames[0]![0], 1);
    assert.equal(frames[0]!.subarray(1).toString(), 'hi\n');
    assert.equal(frames[1]![0], 3);
    assert.equal(seen.at(-1)!.path, '/exec/default/p/c1?command=echo&command=hi&stdout=true');
  });

  it('aggregates an APIService: discovery, proxying with the caller identity, Available', async () => {
    const unavailable = await api.client.request('GET', '/apis/metrics.k8s.io/v1beta1/pods');
    assert.equal(unavailable.status, 404);
    await api.client.create(R.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'metrics-server', namespace: 'kube-system' },
      spec: { ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
    } as KObject);
    await api.client.create(R.apiservices, {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io' },
      spec: {
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        service: { namespace: 'kube-system', name: 'metrics-server', port: 443 },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    } as KObject);
    const noEndpoints = await api.client.request('GET', '/apis/metrics.k8s.io/v1beta1/pods');
    assert.equal(noEndpoints.status, 503);
    assert.equal(JSON.parse(noEndpoints.body.toString()).reason, 'ServiceUnavailable');
    await api.client.create(R.endpoints, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'metrics-server', namespace: 'kube-system' },
      subsets: [
        { addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: backendPort }] },
      ],
    } as KObject);
    const list = await api.client.requestJSON<{ kind: string }>(
      'GET',
      '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods',
    );
    assert.equal(list.kind, 'PodMetricsList');
    assert.equal(seen.at(-1)!.user, 'tester');
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
    const disc = JSON.parse(
      (await api.client.request('GET', '/apis', { accept })).body.toString(),
    ) as {
      items: {
        metadata: { name: string };
        versions: { version: string; resources: { resource: string }[] }[];
      }[];
    };
    const metrics = disc.items.find((i) => i.metadata.name === 'metrics.k8s.io')!;
    assert.equal(metrics.versions[0]!.version, 'v1beta1');
    assert.deepEqual(
      metrics.versions[0]!.resources.map((r) => r.resource),
      ['pods'],
    );
    const legacy = await api.client.requestJSON<{ groups: { name: string }[] }>('GET', '/apis');
    assert.ok(legacy.groups.some((g) => g.name === 'metrics.k8s.io'));
  });

  it('issues ServiceAccount tokens through the TokenRequest subresource', async () => {
    await api.client.create(R.serviceaccounts, { metadata: { name: 'sa', namespace: 'default' } });
    const res = await api.client.request(
      'POST',
      '/api/v1/namespaces/default/serviceaccounts/sa/token',
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 3600 },
        },
      },
    );
    assert.equal(res.status, 201, res.body.toString());
    const tr = JSON.parse(res.body.toString()) as {
      status: { token: string; expirationTimestamp: string };
    };
    assert.equal(tr.status.token.split('.').length, 3);
    assert.match(tr.status.expirationTimestamp, /Z$/);
  });
});
