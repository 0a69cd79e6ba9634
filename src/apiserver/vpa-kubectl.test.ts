// The real kubectl against the API server for the VPA kinds (discovery, get columns, validation,
// describe) and the pods/resize subresource (kubectl patch --subresource resize and its refusals).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type KubectlTestServer, startKubectlTestServer } from './testing.js';

const vpaYaml = `apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata:
  name: web
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  updatePolicy: {updateMode: InPlaceOrRecreate}
  resourcePolicy:
    containerPolicies:
    - containerName: '*'
      minAllowed: {cpu: 50m}
      controlledResources: [cpu, memory]
`;

const podYaml = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: busybox
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 400m, memory: 256Mi}
`;

describe('kubectl and the VPA kinds, pods/resize', { timeout: 120_000 }, () => {
  let t: KubectlTestServer;
  const kubectl = (...args: string[]) => t.kubectl(...args);

  before(async () => {
    t = await startKubectlTestServer();
    await writeFile(join(t.dir, 'vpa.yaml'), vpaYaml);
    await writeFile(join(t.dir, 'pod.yaml'), podYaml);
  });
  after(() => t?.close());

  it('serves verticalpodautoscalers in discovery with the CRD short names', async () => {
    const ar = await kubectl('api-resources', '--api-group=autoscaling.k8s.io');
    assert.equal(ar.code, 0, ar.err);
    assert.match(
      ar.out,
      /^verticalpodautoscalers\s+vpa\s+autoscaling\.k8s\.io\/v1\s+true\s+VerticalPodAutoscaler$/m,
    );
    assert.match(ar.out, /^verticalpodautoscalercheckpoints\s+vpacheckpoint\s+/m);
  });

  it('creates a VPA and prints the CRD printer columns', async () => {
    const c = await kubectl('apply', '-f', 'vpa.yaml');
    assert.equal(c.code, 0, c.err);
    const g = await kubectl('get', 'vpa');
    assert.equal(g.code, 0, g.err);
    const [header, row] = g.out.trimEnd().split('\n');
    assert.match(header ?? '', /^NAME\s+MODE\s+CPU\s+MEM\s+PROVIDED\s+AGE$/);
    // No recommendation yet: CPU, MEM and PROVIDED are empty cells, as for a CRD's missing paths.
    assert.match(row ?? '', /^web\s+InPlaceOrRecreate\s+\d+s$/);
    const wide = await kubectl('get', 'vpa', '-o', 'wide');
    assert.match(wide.out, /MINREPLICAS\s+OOMSECONDS/);
    // Status is the subresource's: a recommendation written there shows in the columns.
    const rec = {
      status: {
        recommendation: {
          containerRecommendations: [
            { containerName: 'app', target: { cpu: '587m', memory: '262144k' } },
          ],
        },
        conditions: [{ type: 'RecommendationProvided', status: 'True' }],
      },
    };
    const p = await kubectl(
      'patch',
      'vpa',
      'web',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(rec),
    );
    assert.equal(p.code, 0, p.err);
    const g2 = await kubectl('get', 'vpa', 'web', '--no-headers');
    assert.match(g2.out, /^web\s+InPlaceOrRecreate\s+587m\s+262144k\s+True\s+/);
    const d = await kubectl('describe', 'vpa', 'web');
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /^Name:\s+web$/m);
    assert.match(d.out, /^API Version:\s+autoscaling\.k8s\.io\/v1$/m);
    assert.match(d.out, /Update Mode:\s+InPlaceOrRecreate/);
    assert.match(d.out, /Container Name:\s+app/);
  });

  it('rejects a VPA outside the CRD schema with upstream wording', async () => {
    const bad = vpaYaml
      .replace('InPlaceOrRecreate', 'Sometimes')
      .replace('name: web\n', 'name: bad\n');
    await writeFile(join(t.dir, 'bad.yaml'), bad);
    const r = await kubectl('apply', '-f', 'bad.yaml');
    assert.notEqual(r.code, 0);
    assert.match(
      r.err,
      /spec\.updatePolicy\.updateMode: Unsupported value: "Sometimes": supported values: "Off", "Initial"/,
    );
    await writeFile(
      join(t.dir, 'noref.yaml'),
      'apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata: {name: noref}\nspec: {}\n',
    );
    const noRef = await kubectl('create', '-f', 'noref.yaml');
    assert.notEqual(noRef.code, 0);
    assert.match(noRef.err, /spec\.targetRef: Required value/);
  });

  it('resizes a pod through --subresource resize and refuses what 1.33 refuses', async () => {
    const c = await kubectl('apply', '-f', 'pod.yaml');
    assert.equal(c.code, 0, c.err);
    const ok = await kubectl(
      'patch',
      'pod',
      'p',
      '--subresource',
      'resize',
      '--patch',
      '{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"200m"}}}]}}',
    );
    assert.equal(ok.code, 0, ok.err);
    const cpu = await kubectl(
      'get',
      'pod',
      'p',
      '-o',
      'jsonpath={.spec.containers[0].resources.requests.cpu}',
    );
    assert.equal(cpu.out, '200m');
    // The same change through the main resource stays forbidden.
    const main = await kubectl(
      'patch',
      'pod',
      'p',
      '--patch',
      '{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"300m"}}}]}}',
    );
    assert.notEqual(main.code, 0);
    assert.match(main.err, /Forbidden: pod updates may not change fields other than/);
    const image = await kubectl(
      'patch',
      'pod',
      'p',
      '--subresource',
      'resize',
      '--patch',
      '{"spec":{"containers":[{"name":"c","image":"nginx"}]}}',
    );
    assert.match(image.err, /spec: Forbidden: only cpu and memory resources are mutable/);
    const qos = await kubectl(
      'patch',
      'pod',
      'p',
      '--subresource',
      'resize',
      '--patch',
      '{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"400m","memory":"256Mi"}}}]}}',
    );
    assert.match(
      qos.err,
      /spec: Invalid value: "Burstable": Pod QOS Class may not change as a result of resizing/,
    );
    const noLimit = await kubectl(
      'patch',
      'pod',
      'p',
      '--subresource',
      'resize',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/spec/containers/0/resources/limits/memory"}]',
    );
    assert.match(noLimit.err, /resource limits cannot be removed/);
  });
});
