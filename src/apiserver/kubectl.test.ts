// Integration: the real kubectl against a TLS API server (PKI from the auth module, bearer token,
// fresh KUBECACHEDIR) over a MemoryBackend. Skipped only when no kubectl binary exists.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type KubectlTestServer, startKubectlTestServer } from './testing.js';

const kubectlBin = process.env['KUBECTL'] ?? 'kubectl';

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: app
        image: nginx
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  k: v
`;

describe('kubectl against the API server (TLS, token)', { timeout: 120_000 }, () => {
  let t: KubectlTestServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const kubectl = (...args: string[]) => t.kubectl(...args);

  before(async () => {
    t = await startKubectlTestServer();
    dir = t.dir;
    env = t.env;
    await writeFile(join(dir, 'app.yaml'), manifest);
  });
  after(() => t?.close());

  it('reports the server version and API resources', async () => {
    const v = await kubectl('version');
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /Server Version: v1\.32\.0/);
    const ar = await kubectl('api-resources');
    assert.equal(ar.code, 0, ar.err);
    assert.match(ar.out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    assert.match(
      ar.out,
      /^horizontalpodautoscalers\s+hpa\s+autoscaling\/v2\s+true\s+HorizontalPodAutoscaler$/m,
    );
  });

  it('refuses a wrong token with Unauthorized', async () => {
    const r = await kubectl('--kubeconfig', join(dir, 'bad-kubeconfig'), 'get', 'ns');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /You must be logged in to the server \(Unauthorized\)/);
  });

  it('creates a deployment from a protobuf body, reads it back, patches it', async () => {
    const c = await kubectl('create', 'deployment', 'web', '--image=nginx', '--replicas=2');
    assert.equal(c.code, 0, c.err);
    assert.equal(c.out.trim(), 'deployment.apps/web created');
    const y = await kubectl('get', 'deploy', 'web', '-o', 'yaml');
    assert.equal(y.code, 0, y.err);
    assert.match(y.out, /replicas: 2/);
    assert.match(y.out, /uid: [0-9a-f-]{36}/);
    const p = await kubectl(
      'patch',
      'deploy',
      'web',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/spec/template/spec/containers/0/resources","value":{"requests":{"cpu":"100m"}}}]',
    );
    assert.equal(p.code, 0, p.err);
    assert.equal(p.out.trim(), 'deployment.apps/web patched');
    const same = await kubectl(
      'patch',
      'deploy',
      'web',
      '--type=merge',
      '-p',
      '{"spec":{"replicas":2}}',
    );
    assert.equal(same.out.trim(), 'deployment.apps/web patched (no change)');
    const sc = await kubectl('scale', 'deploy', 'web', '--replicas=3');
    assert.equal(sc.out.trim(), 'deployment.apps/web scaled');
    const dry = await kubectl('create', 'deployment', 'dry', '--image=nginx', '--dry-run=server');
    assert.equal(dry.out.trim(), 'deployment.apps/dry created (server dry run)');
  });

  it('applies client-side twice (unchanged) and server-side', async () => {
    const a1 = await kubectl('apply', '-f', 'app.yaml');
    assert.equal(a1.code, 0, a1.err);
    assert.equal(a1.out.trim(), 'deployment.apps/app created\nconfigmap/app created');
    const a2 = await kubectl('apply', '-f', 'app.yaml');
    assert.equal(a2.out.trim(), 'deployment.apps/app unchanged\nconfigmap/app unchanged');
    const ss = await kubectl('apply', '--server-side', '-f', 'app.yaml');
    assert.equal(ss.code, 0, ss.err);
    assert.equal(
      ss.out.trim(),
      'deployment.apps/app serverside-applied\nconfigmap/app serverside-applied',
    );
  });

  it('prints upstream errors: NotFound, AlreadyExists, Invalid, Conflict', async () => {
    const nf = await kubectl('get', 'deploy', 'nope');
    assert.equal(nf.err.trim(), 'Error from server (NotFound): deployments.apps "nope" not found');
    const ae = await kubectl('create', '-f', 'app.yaml');
    assert.match(
      ae.err,
      /Error from server \(AlreadyExists\): error when creating "app.yaml": deployments.apps "app" already exists/,
    );
    const bad = await kubectl('create', 'configmap', 'Bad_Name');
    assert.match(
      bad.err,
      /ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"/,
    );
    const json = await kubectl('get', 'deploy', 'web', '-o', 'json');
    await writeFile(join(dir, 'web.json'), json.out);
    await kubectl('scale', 'deploy', 'web', '--replicas=4');
    const cf = await kubectl('replace', '-f', 'web.json');
    assert.match(
      cf.err,
      /Error from server \(Conflict\): error when replacing "web.json": Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again/,
    );
  });

  it('streams get -w as Table rows', async () => {
    const child = spawn(kubectlBin, ['get', 'configmaps', '-w'], { env, cwd: dir });
    let out = '';
    const seen = new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('watched')) resolve();
      });
    });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const c = await kubectl('create', 'configmap', 'watched');
      assert.equal(c.code, 0, c.err);
      await Promise.race([seen, new Promise((r) => setTimeout(r, 10_000))]);
    } finally {
      child.kill();
    }
    assert.match(out, /^NAME\s+DATA\s+AGE|^NAME\s+AGE/m);
    assert.match(out, /^watched\s/m);
  });

  it('deletes', async () => {
    const d = await kubectl('delete', 'deploy', 'web');
    assert.equal(d.out.trim(), 'deployment.apps "web" deleted');
    const g = await kubectl('get', 'deploy');
    assert.doesNotMatch(g.out, /^web\s/m);
  });
});
