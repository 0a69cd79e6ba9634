// The dispatcher runs kubectl 1.28 or 1.33 when the server reports that version: the seed's
// object-creating commands, patches, apply and tables must work with both (issue #2).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SkiffUnderTest, seedCommands, startSkiff } from './harness.js';

const testdata = join(import.meta.dirname, '..', 'testdata');

for (const version of ['1.28', '1.33']) {
  describe(`kubectl ${version}`, () => {
    let skiff: SkiffUnderTest;
    before(async () => {
      skiff = await startSkiff({ kubeVersion: version });
    });
    after(async () => {
      await skiff?.stop();
    });

    test('version reports the server version and the matching client runs', async () => {
      const out = await skiff.kubectlOk(['version']);
      assert.match(out, new RegExp(`Client Version: v${version.replace('.', '\\.')}\\.`));
      assert.match(out, new RegExp(`Server Version: v${version.replace('.', '\\.')}\\.0`));
    });

    test('the seed commands create their objects', async () => {
      await skiff.kubectlOk([...seedCommands.createDeployment]);
      await skiff.kubectlOk([...seedCommands.createService]);
      await skiff.kubectlOk([...seedCommands.createIngress]);
      assert.match(
        await skiff.kubectlOk([...seedCommands.autoscale]),
        /horizontalpodautoscaler.autoscaling\/hello-world-flask autoscaled/,
      );
      await skiff.kubectlOk([...seedCommands.patchRequests]);
      const out = await skiff.kubectlOk(['get', 'deploy,svc,ing,hpa', '-o', 'wide']);
      assert.match(out, /deployment.apps\/hello-world-flask/);
      assert.match(
        out,
        /horizontalpodautoscaler.autoscaling\/hello-world-flask\s+Deployment\/hello-world-flask/,
      );
    });

    test('apply -f twice reports unchanged; server-side apply works', async () => {
      const file = join(testdata, 'app.yaml');
      assert.match(await skiff.kubectlOk(['apply', '-f', file]), /deployment.apps\/web created/);
      for (const line of (await skiff.kubectlOk(['apply', '-f', file])).trim().split('\n'))
        assert.match(line, /unchanged$/);
      assert.match(
        await skiff.kubectlOk(['apply', '--server-side', '-f', file]),
        /serverside-applied/,
      );
    });

    test('errors print as from a real server', async () => {
      const r = await skiff.kubectl(['get', 'deploy', 'missing']);
      assert.match(
        r.stderr,
        /Error from server \(NotFound\): deployments.apps "missing" not found/,
      );
    });
  });
}
