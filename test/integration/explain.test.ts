// `kubectl explain` with the real kubectl (1.32 and 1.28; both read OpenAPI v3): a field path of a
// kind, and --recursive, rendered from the served documents' component schemas (issue 15).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SkiffUnderTest, startSkiff } from './harness.js';

for (const version of ['1.32', '1.28']) {
  describe(`kubectl ${version} explain`, () => {
    let skiff: SkiffUnderTest;
    before(async () => {
      skiff = await startSkiff({ kubeVersion: version });
    });
    after(async () => {
      await skiff?.stop();
    });

    test('explain deployment.spec.strategy: kind, field, type, description, fields', async () => {
      const out = await skiff.kubectlOk(['explain', 'deployment.spec.strategy']);
      assert.match(out, /GROUP:\s+apps/);
      assert.match(out, /KIND:\s+Deployment/);
      assert.match(out, /VERSION:\s+v1/);
      assert.match(out, /FIELD:\s+strategy <DeploymentStrategy>/);
      assert.match(out, /DESCRIPTION:\n\s+The deployment strategy/);
      assert.match(out, /rollingUpdate\s+<RollingUpdateDeployment>/);
      assert.match(out, /type\s+<string>/);
    });

    test('explain pod.spec.containers --recursive lists nested fields', async () => {
      const out = await skiff.kubectlOk(['explain', 'pod.spec.containers', '--recursive']);
      assert.match(out, /KIND:\s+Pod/);
      assert.match(out, /FIELD:\s+containers <\[\]Container>/);
      assert.match(out, /livenessProbe\s+<Probe>/);
      assert.match(out, /\n\s+httpGet\s+<HTTPGetAction>/);
      // An int-or-string names no object schema: kubectl shows its wire type.
      assert.match(out, /\n\s+port\t<string> -required-/);
      assert.match(out, /\n\s+limits\t<map\[string\]string>/);
      assert.match(out, /name\s+<string> -required-/);
    });

    // Client-side apply reads the same schemas for its patch metadata (merge keys): a container
    // dropped from the file is dropped, the one kept keeps its name-merged env.
    test('apply -f of a changed file: a list merged by key loses what the file dropped', async () => {
      const dep = (containers: object[]) =>
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'smp' },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: 'smp' } },
            template: { metadata: { labels: { app: 'smp' } }, spec: { containers } },
          },
        });
      const a = { name: 'a', image: 'busybox', env: [{ name: 'X', value: '1' }] };
      const b = { name: 'b', image: 'busybox' };
      await skiff.kubectlOk(['apply', '-f', '-'], { input: dep([a, b]) });
      const a2 = {
        ...a,
        env: [
          { name: 'X', value: '2' },
          { name: 'Y', value: '3' },
        ],
      };
      await skiff.kubectlOk(['apply', '-f', '-'], { input: dep([a2]) });
      const got = JSON.parse(
        await skiff.kubectlOk([
          'get',
          'deploy',
          'smp',
          '-o',
          'jsonpath={.spec.template.spec.containers}',
        ]),
      ) as { name: string; env: unknown[] }[];
      assert.deepEqual(
        got.map((c) => [c.name, c.env]),
        [
          [
            'a',
            [
              { name: 'X', value: '2' },
              { name: 'Y', value: '3' },
            ],
          ],
        ],
      );
    });

    test('explain of other served kinds and an unknown field', async () => {
      for (const what of [
        'hpa.spec',
        'ingress.spec.rules',
        'cronjob.spec.jobTemplate',
        'svc.spec.ports',
        'configmap.data',
      ]) {
        const r = await skiff.kubectl(['explain', what]);
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        assert.match(r.stdout, /DESCRIPTION:/, what);
      }
      const bad = await skiff.kubectl(['explain', 'deployment.spec.nope']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /field "nope" does not exist/);
    });
  });
}
