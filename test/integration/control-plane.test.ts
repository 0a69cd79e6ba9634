// Issue #2 end to end: `skiff up`, then the real kubectl exactly as a user types it — discovery,
// the seed's create commands, patches, dry runs, tables, watch, apply, errors, and persistence
// across kill -9.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, type SkiffUnderTest, seedCommands, startSkiff } from './harness.js';

const testdata = join(import.meta.dirname, '..', 'testdata');
let skiff: SkiffUnderTest;

before(async () => {
  skiff = await startSkiff();
});
after(async () => {
  await skiff?.stop();
});

describe('discovery and cluster info', () => {
  test('kubectl version reports the 1.32 server', async () => {
    const out = await skiff.kubectlOk(['version']);
    assert.match(out, /Server Version: v1\.32\.0/);
  });

  test('cluster-info names the control plane and CoreDNS', async () => {
    const out = await skiff.kubectlOk(['cluster-info']);
    assert.match(out, /Kubernetes control plane.* is running at .*https:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /CoreDNS.* is running at/);
  });

  test('api-resources lists the served kinds with short names', async () => {
    const out = await skiff.kubectlOk(['api-resources']);
    for (const re of [
      /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/m,
      /^horizontalpodautoscalers\s+hpa\s+autoscaling\/v2/m,
      /^ingresses\s+ing\s+networking\.k8s\.io\/v1/m,
      /^pods\s+po\s+v1\s+true\s+Pod/m,
    ]) {
      assert.match(out, re);
    }
  });

  test('get ns shows the system namespaces', async () => {
    const out = await skiff.kubectlOk(['get', 'ns']);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      assert.match(out, new RegExp(`^${ns}\\s+Active`, 'm'));
  });

  test('the data dir keeps secrets private', () => {
    assert.equal(statSync(skiff.kubeconfig).mode & 0o777, 0o600);
    assert.equal(statSync(skiff.dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(skiff.dataDir, 'state.db')).mode & 0o777, 0o600);
  });
});

describe('the seed commands', () => {
  test('create deployment, service, ingress and autoscale (protobuf bodies) succeed', async () => {
    assert.equal(
      (await skiff.kubectlOk([...seedCommands.createDeployment])).trim(),
      'deployment.apps/hello-world-flask created',
    );
    assert.equal(
      (await skiff.kubectlOk([...seedCommands.createService])).trim(),
      'service/hello-world-flask created',
    );
    assert.equal(
      (await skiff.kubectlOk([...seedCommands.createIngress])).trim(),
      'ingress.networking.k8s.io/hello-world-flask created',
    );
    assert.equal(
      (await skiff.kubectlOk([...seedCommands.autoscale])).trim(),
      'horizontalpodautoscaler.autoscaling/hello-world-flask autoscaled',
    );
    const ing = JSON.parse(
      await skiff.kubectlOk(['get', 'ingress', 'hello-world-flask', '-o', 'json']),
    ) as { spec: { rules: { http: { paths: { pathType: string; path: string }[] } }[] } };
    assert.equal(ing.spec.rules[0]?.http.paths[0]?.pathType, 'Exact');
    const svc = JSON.parse(
      await skiff.kubectlOk(['get', 'svc', 'hello-world-flask', '-o', 'json']),
    ) as { spec: { clusterIP: string } };
    assert.match(svc.spec.clusterIP, /^10\.\d+\.\d+\.\d+$/);
  });

  test('client and server dry runs print objects without storing', async () => {
    const client = await skiff.kubectlOk([
      'create',
      'deployment',
      'hello-world-flask',
      '--image',
      'lyzhang1999/hello-world-flask:latest',
      '--replicas=2',
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    assert.match(client, /kind: Deployment/);
    const server = await skiff.kubectlOk([
      'create',
      'deployment',
      'dry',
      '--image=nginx',
      '--dry-run=server',
      '-o',
      'yaml',
    ]);
    assert.match(server, /revisionHistoryLimit: 10/);
    assert.match(server, /progressDeadlineSeconds: 600/);
    const get = await skiff.kubectl(['get', 'deploy', 'dry']);
    assert.equal(get.code, 1);
    assert.match(get.stderr, /Error from server \(NotFound\): deployments.apps "dry" not found/);
  });

  test('the seed JSON patch, a merge patch and a strategic patch apply', async () => {
    const json = await skiff.kubectlOk([...seedCommands.patchRequests]);
    assert.equal(json.trim(), 'deployment.apps/hello-world-flask patched');
    await skiff.kubectlOk([
      'patch',
      'deployment',
      'hello-world-flask',
      '--type=merge',
      '-p',
      '{"metadata":{"labels":{"tier":"web"}}}',
    ]);
    await skiff.kubectlOk([
      'patch',
      'deployment',
      'hello-world-flask',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"hello-world-flask","env":[{"name":"A","value":"1"}]}]}}}}',
    ]);
    const d = JSON.parse(
      await skiff.kubectlOk(['get', 'deploy', 'hello-world-flask', '-o', 'json']),
    ) as {
      metadata: { labels: Record<string, string>; generation: number };
      spec: {
        template: {
          spec: {
            containers: {
              image: string;
              env?: unknown[];
              resources: { requests: Record<string, string> };
            }[];
          };
        };
      };
    };
    const c = d.spec.template.spec.containers[0]!;
    assert.equal(
      c.image,
      'lyzhang1999/hello-world-flask:latest',
      'strategic merge keeps the image',
    );
    assert.deepEqual(c.resources.requests, { memory: '100Mi', cpu: '100m' });
    assert.equal(c.env?.length, 1);
    assert.equal(d.metadata.labels['tier'], 'web');
    assert.ok(d.metadata.generation >= 3);
  });

  test('get of several kinds prints wide tables', async () => {
    const out = await skiff.kubectlOk(['get', 'deploy,rs,svc,ep,ing,hpa', '-o', 'wide']);
    assert.match(
      out,
      /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/,
    );
    assert.match(out, /service\/hello-world-flask\s+ClusterIP\s+10\.\S+\s+<none>\s+5000\/TCP/);
    assert.match(out, /ingress.networking.k8s.io\/hello-world-flask\s+nginx\s+\*/);
    assert.match(
      out,
      /horizontalpodautoscaler.autoscaling\/hello-world-flask\s+Deployment\/hello-world-flask\s+cpu: \S+\/50%\s+2\s+10/,
    );
  });

  test('get -o yaml round-trips as a Kubernetes manifest', async () => {
    const out = await skiff.kubectlOk(['get', 'deploy', 'hello-world-flask', '-o', 'yaml']);
    for (const re of [
      /^apiVersion: apps\/v1$/m,
      /^kind: Deployment$/m,
      /uid: [0-9a-f-]{36}/,
      /resourceVersion: "\d+"/,
      /creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/,
    ])
      assert.match(out, re);
  });

  test('describe shows the deployment', async () => {
    const out = await skiff.kubectlOk(['describe', 'deployment', 'hello-world-flask']);
    assert.match(out, /Name:\s+hello-world-flask/);
    assert.match(out, /StrategyType:\s+RollingUpdate/);
  });

  test('scale changes replicas through the scale subresource', async () => {
    // Not hello-world-flask: its HPA (min 2) would rightly scale it back.
    await skiff.kubectlOk([
      'create',
      'deployment',
      'scaled',
      '--image=lyzhang1999/hello-world-flask:latest',
    ]);
    assert.equal(
      (await skiff.kubectlOk(['scale', 'deployment', 'scaled', '--replicas=3'])).trim(),
      'deployment.apps/scaled scaled',
    );
    const d = JSON.parse(await skiff.kubectlOk(['get', 'deploy', 'scaled', '-o', 'json'])) as {
      spec: { replicas: number };
    };
    assert.equal(d.spec.replicas, 3);
  });

  test('get -w stays open and streams changes as table rows', async () => {
    await skiff.kubectlOk(['create', 'configmap', 'first', '--from-literal=a=b']);
    const child = spawn('kubectl', ['get', 'configmaps', '-w'], {
      env: {
        ...process.env,
        KUBECONFIG: skiff.kubeconfig,
        KUBECACHEDIR: join(skiff.dataDir, 'kcache-watch'),
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      await eventually(async () => /^first\s+1\s+\d+s$/m.test(out), {
        what: 'the initial table',
        timeoutMs: 15_000,
      });
      await skiff.kubectlOk(['create', 'configmap', 'watched', '--from-literal=a=b']);
      await eventually(async () => /watched\s+1\s+\d+s/.test(out), {
        what: 'the watched row',
        timeoutMs: 15_000,
      });
      assert.equal(child.exitCode, null, 'the watch is still open');
    } finally {
      child.kill();
    }
  });
});

describe('apply', () => {
  test('apply -f creates, re-apply is unchanged, edits are configured', async () => {
    const file = join(testdata, 'app.yaml');
    const first = await skiff.kubectlOk(['apply', '-f', file]);
    assert.match(first, /deployment.apps\/web created/);
    assert.match(first, /horizontalpodautoscaler.autoscaling\/web created/);
    const second = await skiff.kubectlOk(['apply', '-f', file]);
    for (const line of second.trim().split('\n')) assert.match(line, /unchanged$/);
  });

  test('apply --server-side reports serverside-applied', async () => {
    const out = await skiff.kubectlOk(['apply', '--server-side', '-f', join(testdata, 'app.yaml')]);
    assert.match(out, /deployment.apps\/web serverside-applied/);
  });

  test('create -f of a multi-kind add-on manifest stores every object', async () => {
    const out = await skiff.kubectlOk(['create', '-f', join(testdata, 'addon-manifest.yaml')]);
    const created = out.trim().split('\n');
    assert.equal(created.length, 14, out);
    for (const line of created) assert.match(line, / created$/);
    await skiff.kubectlOk(['get', 'validatingwebhookconfiguration', 'addon-test-admission']);
    await skiff.kubectlOk(['get', 'crd', 'widgets.example.com']);
    await skiff.kubectlOk(['get', '-n', 'addon-test', 'job,pdb,lease,role,rolebinding,cm']);
  });
});

describe('errors as a real server prints them', () => {
  test('NotFound, AlreadyExists, Invalid and Conflict', async () => {
    const nf = await skiff.kubectl(['get', 'pod', 'nope']);
    assert.match(nf.stderr, /Error from server \(NotFound\): pods "nope" not found/);
    const ae = await skiff.kubectl(['create', 'deployment', 'hello-world-flask', '--image=x']);
    assert.match(
      ae.stderr,
      /error: failed to create deployment: deployments.apps "hello-world-flask" already exists/,
    );
    const inv = await skiff.kubectl(['create', 'deployment', 'Bad_Name', '--image=x']);
    assert.match(inv.stderr, /\(Invalid\)|is invalid/);
    assert.match(inv.stderr, /metadata.name: Invalid value: "Bad_Name"/);
    const d = JSON.parse(await skiff.kubectlOk(['get', 'deploy', 'web', '-o', 'json'])) as {
      metadata: { resourceVersion: string };
    };
    await skiff.kubectlOk(['label', 'deploy', 'web', 'bump=1']);
    // The whole object as read before the label: valid, but with a stale resourceVersion.
    const stale = JSON.stringify(d);
    const conflict = await skiff.kubectl(['replace', '-f', '-', '--validate=false'], {
      input: stale,
    });
    assert.match(
      conflict.stderr,
      /Error from server \(Conflict\).*the object has been modified; please apply your changes to the latest version and try again/,
    );
  });
});

describe('deletion', () => {
  test('delete removes the objects', async () => {
    assert.match(
      await skiff.kubectlOk(['delete', 'hpa', 'web']),
      /horizontalpodautoscaler.autoscaling "web" deleted/,
    );
    assert.match(
      await skiff.kubectlOk(['delete', 'ns', 'addon-test']),
      /namespace "addon-test" deleted/,
    );
    const gone = await skiff.kubectl(['get', 'ns', 'addon-test']);
    assert.equal(gone.code, 1);
  });
});

describe('persistence', () => {
  test('kill -9 then up again keeps every object and resourceVersions continue', async () => {
    const before = JSON.parse(await skiff.kubectlOk(['get', 'cm', 'watched', '-o', 'json'])) as {
      metadata: { uid: string; resourceVersion: string };
    };
    await skiff.kill9();
    await skiff.restart();
    const afterObj = JSON.parse(await skiff.kubectlOk(['get', 'cm', 'watched', '-o', 'json'])) as {
      metadata: { uid: string; resourceVersion: string };
    };
    assert.equal(afterObj.metadata.uid, before.metadata.uid);
    await skiff.kubectlOk(['label', 'cm', 'watched', 'again=1']);
    const bumped = JSON.parse(await skiff.kubectlOk(['get', 'cm', 'watched', '-o', 'json'])) as {
      metadata: { resourceVersion: string };
    };
    assert.ok(Number(bumped.metadata.resourceVersion) > Number(before.metadata.resourceVersion));
    await skiff.kubectlOk(['get', 'deploy', 'hello-world-flask', 'web']);
  });

  test('a second skiff up on the same data dir refuses clearly', async () => {
    const { run } = await import('./harness.js');
    const r = await run(process.execPath, [
      join(import.meta.dirname, '..', '..', 'bin', 'skiff.js'),
      'up',
      '--data-dir',
      skiff.dataDir,
      '--no-kubeconfig',
      '--api-port',
      '0',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is in use by skiff \(pid \d+\)/);
  });
});
