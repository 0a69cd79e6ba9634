// Every `$ ` command of the README's walkthrough, run as written through bash against a fresh
// cluster (issue #7). Only what a test cannot type is adapted, and each adaptation is listed here:
// the cluster is started by the harness, not `sudo npm start`; pod names from the README's sample
// output are replaced by real ones; `-it` is dropped (no terminal); the interactive shell line and
// its `root@…:/app#` follow-up become one `kubectl exec … -- bash -c`; `--watch` is bounded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run, type SkiffUnderTest, startSkiff } from './harness.js';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** The `$ ` lines of the README's console blocks, with `root@pod:/dir# ` lines attached to the line before. */
function walkthroughCommands(): string[] {
  const out: string[] = [];
  for (const block of readme.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const shell = /^root@[^:]+:\S+# (.*)$/.exec(line);
      if (shell && out.length)
        out[out.length - 1] = `${out[out.length - 1]} <<< ${JSON.stringify(shell[1])}`;
      else if (line.startsWith('$ '))
        out.push(
          line
            .slice(2)
            .replace(/\s+#.*$/, '')
            .trim(),
        );
    }
  }
  return out;
}

let skiff: SkiffUnderTest;
before(async () => {
  skiff = await startSkiff();
});
after(async () => {
  await skiff?.stop();
});

test('the README walkthrough runs as written', async () => {
  const commands = walkthroughCommands();
  assert.ok(commands.length >= 12, `found ${commands.length} commands`);
  const env = {
    ...process.env,
    KUBECONFIG: skiff.kubeconfig,
    KUBECACHEDIR: join(skiff.dataDir, 'kcache-readme'),
  };
  const bash = (cmd: string, timeoutMs = 120_000) => run('bash', ['-c', cmd], { env, timeoutMs });
  const podNames = async (): Promise<string[]> =>
    (
      await bash(
        "kubectl get pods -l app=hello-world-flask --field-selector=status.phase==Running -o jsonpath='{.items[*].metadata.name}'",
      )
    ).stdout
      .split(' ')
      .filter(Boolean);
  let ran = 0;
  for (const original of commands) {
    if (original.startsWith('sudo npm start')) continue; // the harness started the cluster
    let cmd = original
      .replace('http://127.0.0.1/', `http://127.0.0.1:${skiff.ingressPort}/`)
      .replace(' -it ', ' ');
    const samplePod = /hello-world-flask-[0-9a-z]{8,10}-[0-9a-z]{5}/.exec(cmd)?.[0];
    if (samplePod) {
      await skiff.kubectlOk(
        ['rollout', 'status', 'deployment', 'hello-world-flask', '--timeout=90s'],
        { timeoutMs: 100_000 },
      );
      const [pod] = await podNames();
      assert.ok(pod, 'a running pod');
      cmd = cmd.replace(samplePod, pod);
      // `kubectl exec pod -- bash <<< "cmd"` runs the typed line in the pod's shell.
      cmd = cmd.replace(/ -- bash <<< (".*")$/, ' -- bash -c $1');
    }
    if (cmd.includes('--watch')) cmd = `timeout 5 ${cmd}; test $? -eq 124`;
    if (cmd.startsWith('curl ')) {
      // The ingress serves once the controller has synced the new Ingress.
      for (let i = 0; i < 100 && (await bash(cmd)).code !== 0; i++)
        await new Promise((r) => setTimeout(r, 200));
    }
    const r = await bash(cmd, 180_000);
    assert.equal(r.code, 0, `${original}\n→ ${cmd}\n${r.stdout}${r.stderr}`);
    if (cmd.startsWith('curl '))
      assert.match(r.stdout, /^Hello, my first docker images! hello-world-flask-/);
    ran++;
  }
  assert.ok(ran >= 11, `ran ${ran} commands`);
});
