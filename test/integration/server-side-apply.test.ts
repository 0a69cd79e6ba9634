// Server-side apply with field ownership, driven by the real kubectl (1.32 and 1.28):
// managedFields stored and shown, a second manager's change of an owned field is a 409 naming the
// field and its owner, --force-conflicts takes it over, and a field dropped from the applied file
// is removed (issue 15, API surface).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SkiffUnderTest, startSkiff } from './harness.js';

interface Managed {
  manager: string;
  operation: string;
  fieldsV1: Record<string, unknown>;
}

const deployment = (opts: { replicas?: number; labels?: Record<string, string>; env?: object[] }) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'ssa', labels: { app: 'ssa', ...opts.labels } },
    spec: {
      ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
      selector: { matchLabels: { app: 'ssa' } },
      template: {
        metadata: { labels: { app: 'ssa' } },
        spec: {
          containers: [
            { name: 'app', image: 'busybox', command: ['sleep', '3600'], env: opts.env ?? [] },
          ],
        },
      },
    },
  });

for (const version of ['1.32', '1.28']) {
  describe(`kubectl ${version} server-side apply`, () => {
    let skiff: SkiffUnderTest;
    before(async () => {
      skiff = await startSkiff({ kubeVersion: version });
    });
    after(async () => {
      await skiff?.stop();
    });
    const apply = (input: string, ...flags: string[]) =>
      skiff.kubectl(['apply', '--server-side', ...flags, '-f', '-'], { input });
    const get = async () =>
      JSON.parse(
        await skiff.kubectlOk(['get', 'deploy', 'ssa', '-o', 'json', '--show-managed-fields']),
      ) as {
        metadata: { labels: Record<string, string>; managedFields: Managed[] };
        spec: {
          replicas: number;
          minReadySeconds?: number;
          template: { spec: { containers: { env?: { name: string }[] }[] } };
        };
      };

    test('managedFields, conflicts, --force-conflicts, and removal of dropped fields', async () => {
      const env = [
        { name: 'X', value: '1' },
        { name: 'Y', value: '2' },
      ];
      const first = await apply(deployment({ replicas: 1, labels: { tier: 'web' }, env }));
      assert.equal(first.code, 0, first.stderr);
      let d = await get();
      const mine = d.metadata.managedFields.find((m) => m.manager === 'kubectl');
      assert.equal(mine?.operation, 'Apply');
      const spec = mine?.fieldsV1['f:spec'] as Record<string, unknown>;
      assert.ok(spec['f:replicas'], JSON.stringify(mine));
      assert.ok(JSON.stringify(mine).includes('k:{\\"name\\":\\"app\\"}'), JSON.stringify(mine));

      // A second manager changing an owned field: 409 naming the field and its manager.
      const other = await apply(
        deployment({ replicas: 3, labels: { tier: 'web' }, env }),
        '--field-manager=other',
      );
      assert.notEqual(other.code, 0);
      assert.match(
        other.stderr,
        /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.replicas/,
      );
      assert.equal((await get()).spec.replicas, 1);
      // The same value is no conflict: both own it then.
      const same = await apply(deployment({ replicas: 1 }), '--field-manager=same');
      assert.equal(same.code, 0, same.stderr);

      // --force-conflicts takes the field over.
      const forced = await apply(
        deployment({ replicas: 3, labels: { tier: 'web' }, env }),
        '--field-manager=other',
        '--force-conflicts',
      );
      assert.equal(forced.code, 0, forced.stderr);
      d = await get();
      assert.equal(d.spec.replicas, 3);
      const kubectlSpec = d.metadata.managedFields.find((m) => m.manager === 'kubectl')?.fieldsV1[
        'f:spec'
      ] as Record<string, unknown>;
      assert.equal(kubectlSpec['f:replicas'], undefined);

      // The first manager drops the tier label, env Y and replicas from its file: the label and
      // the env var (owned only by it) go; other still owns replicas and tier, so those stay.
      const again = await apply(deployment({ env: [{ name: 'X', value: '1' }] }));
      assert.equal(again.code, 0, again.stderr);
      d = await get();
      assert.equal(d.spec.replicas, 3);
      assert.equal(d.metadata.labels['tier'], 'web');
      assert.deepEqual(
        d.spec.template.spec.containers[0]!.env?.map((e) => e.name),
        ['X', 'Y'],
        'other applied Y too, so it stays',
      );
      // other drops the label and Y: nobody owns them any more, they go.
      const otherDrops = await apply(
        deployment({ replicas: 3, env: [{ name: 'X', value: '1' }] }),
        '--field-manager=other',
      );
      assert.equal(otherDrops.code, 0, otherDrops.stderr);
      d = await get();
      assert.equal(d.metadata.labels['tier'], undefined, JSON.stringify(d.metadata.managedFields));
      assert.deepEqual(
        d.spec.template.spec.containers[0]!.env?.map((e) => e.name),
        ['X'],
      );
    });

    test('a field set by an update (kubectl patch) conflicts with an apply naming that manager', async () => {
      await skiff.kubectlOk([
        'patch',
        'deploy',
        'ssa',
        '--type=merge',
        '-p',
        '{"spec":{"minReadySeconds":5}}',
      ]);
      const input = JSON.parse(deployment({ replicas: 3, env: [{ name: 'X', value: '1' }] })) as {
        spec: Record<string, unknown>;
      };
      input.spec['minReadySeconds'] = 7;
      const r = await apply(JSON.stringify(input), '--field-manager=other');
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /conflict with "kubectl-patch" using apps\/v1: \.spec\.minReadySeconds/,
      );
      const forced = await apply(
        JSON.stringify(input),
        '--field-manager=other',
        '--force-conflicts',
      );
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal((await get()).spec.minReadySeconds, 7);
    });
  });
}
