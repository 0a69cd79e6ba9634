// configMap and secret volumes follow their objects (issue 15): `kubectl create --dry-run=client
// -o yaml | kubectl apply -f -` changes the object, the running pod reads the new value within
// seconds through the atomic ..data swap (upstream's layout), a removed key disappears, a subPath
// mount keeps the old value (as upstream), items/defaultMode hold, an optional volume fills when its
// object appears, a downwardAPI volume follows the pod's labels.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, type SkiffUnderTest, startSkiff } from './harness.js';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'reader', labels: { tier: 'one' } },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'busybox',
        command: ['sh', '-c', 'while true; do cat /etc/config/greeting; echo; sleep 0.2; done'],
        volumeMounts: [
          { name: 'config', mountPath: '/etc/config' },
          { name: 'secret', mountPath: '/etc/secret' },
          { name: 'config', mountPath: '/etc/sub/greeting', subPath: 'greeting' },
          { name: 'picked', mountPath: '/etc/picked' },
          { name: 'later', mountPath: '/etc/later' },
          { name: 'podinfo', mountPath: '/etc/podinfo' },
        ],
      },
    ],
    volumes: [
      { name: 'config', configMap: { name: 'settings' } },
      { name: 'secret', secret: { secretName: 'creds' } },
      {
        name: 'picked',
        configMap: {
          name: 'settings',
          defaultMode: 0o440,
          items: [
            { key: 'greeting', path: 'nested/g.txt' },
            { key: 'color', path: 'c', mode: 0o400 },
          ],
        },
      },
      { name: 'later', configMap: { name: 'late', optional: true } },
      {
        name: 'podinfo',
        downwardAPI: {
          items: [{ path: 'tier', fieldRef: { fieldPath: "metadata.labels['tier']" } }],
        },
      },
    ],
  },
};

describe('configMap and secret volumes follow updates', () => {
  let skiff: SkiffUnderTest;
  const exec = (script: string) =>
    skiff.kubectlOk(['exec', 'reader', '--', 'sh', '-c', script], { timeoutMs: 20_000 });
  const diagnose = async () =>
    (await skiff.kubectl(['get', 'pod', 'reader', '-o', 'wide'])).stdout +
    (await skiff.kubectl(['exec', 'reader', '--', 'ls', '-la', '/etc/config', '/etc/secret']))
      .stdout +
    (await skiff.kubectl(['get', 'configmap', 'settings', '-o', 'yaml'])).stdout;
  // `kubectl create ... --dry-run=client -o yaml | kubectl apply -f -`, as the issue has it.
  const apply = async (kind: 'configmap' | 'secret generic', name: string, literals: string[]) => {
    const yaml = await skiff.kubectlOk([
      'create',
      ...kind.split(' '),
      name,
      ...literals.map((l) => `--from-literal=${l}`),
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    await skiff.kubectlOk(['apply', '-f', '-'], { input: yaml });
  };
  // How long until the pod reads `want` at `file` (bounded; CI may be 5x slower than here).
  const seen = async (file: string, want: string): Promise<number> => {
    const t0 = Date.now();
    await eventually(async () => (await exec(`cat ${file}`)).trim() === want, {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: `${file} to read ${want}`,
      diagnose,
    });
    return Date.now() - t0;
  };

  before(async () => {
    skiff = await startSkiff();
    await apply('configmap', 'settings', ['greeting=hello', 'color=blue', 'old=gone-soon']);
    await apply('secret generic', 'creds', ['password=s3cret']);
    await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    await skiff.kubectlOk(['wait', 'pod/reader', '--for=condition=Ready', '--timeout=60s'], {
      timeoutMs: 70_000,
    });
  });
  after(async () => {
    await skiff?.stop();
  });

  test('the files have the atomic writer layout, items and modes', async () => {
    const out = await exec(
      'cd /etc/config; readlink greeting; readlink ..data; cat greeting; echo; ' +
        'stat -L -c %a /etc/picked/nested/g.txt /etc/picked/c /etc/config/color; ls -A /etc/later',
    );
    const [link, data, value, ...rest] = out.trim().split('\n');
    assert.equal(link, '..data/greeting');
    assert.match(data ?? '', /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\w+$/);
    assert.equal(value, 'hello');
    assert.deepEqual(rest.slice(0, 3), ['440', '400', '644']);
    // The optional, missing configMap: an empty payload (its timestamp dir and ..data only).
    assert.equal(rest.length, 5, out);
    assert.match(rest[3] ?? '', /^\.\.\d{4}_/);
    assert.equal(rest[4], '..data');
  });

  test('a configMap change reaches the running pod; a removed key goes; subPath stays', async () => {
    await apply('configmap', 'settings', ['greeting=bonjour', 'color=blue']);
    const ms = await seen('/etc/config/greeting', 'bonjour');
    console.log(`configMap update seen by the pod after ${ms} ms`);
    await seen('/etc/picked/nested/g.txt', 'bonjour');
    const ls = await exec('ls -A /etc/config');
    assert.doesNotMatch(ls, /^old$/m, ls);
    assert.equal((await exec('ls -A /etc/config/..data/ | sort')).trim(), 'color\ngreeting');
    // The subPath mount holds the file it resolved when the container started (upstream).
    assert.equal((await exec('cat /etc/sub/greeting')).trim(), 'hello');
    // The container's own loop reads the new value too.
    await eventually(
      async () => (await skiff.kubectlOk(['logs', 'reader', '--tail=1'])).trim() === 'bonjour',
      { timeoutMs: 10_000, what: 'the loop to print the new value', diagnose },
    );
    // One timestamp directory is left: the old one was removed after the swap.
    const dirs = (await exec('ls -A /etc/config | grep "^\\.\\.[0-9]" | wc -l')).trim();
    assert.equal(dirs, '1');
  });

  test('a secret change reaches the running pod', async () => {
    await apply('secret generic', 'creds', ['password=n3w']);
    const ms = await seen('/etc/secret/password', 'n3w');
    console.log(`secret update seen by the pod after ${ms} ms`);
  });

  test('a downwardAPI volume follows the pod labels', async () => {
    assert.equal((await exec('cat /etc/podinfo/tier')).trim(), 'one');
    await skiff.kubectlOk(['label', 'pod', 'reader', 'tier=two', '--overwrite']);
    await seen('/etc/podinfo/tier', 'two');
  });

  test('an optional configMap created later fills its volume', async () => {
    await apply('configmap', 'late', ['k=v']);
    await seen('/etc/later/k', 'v');
  });
});
