// `kubectl debug` with the real kubectl (1.32, 1.28): an ephemeral container from an image the test
// builds (busybox layers, loaded with `skiff image load`) starts in the running pod; --target shows
// the target's processes in its `ps`; `-i` attaches stdin; logs by name; a change of an existing
// ephemeral container is refused (422, upstream wording); --copy-to makes a debug copy of the pod;
// node/NAME runs a pod on the node with the host's root at /host.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeLayout } from '../../src/images/testing.js';
import { busyboxImage } from '../../src/node/testing.js';
import { eventually, run, type SkiffUnderTest, startSkiff } from './harness.js';

const skiffBin = resolve(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
const image = 'example.com/debugger:1';
const work = mkdtempSync(join(tmpdir(), 'skiff-debug-'));
let archive: string;

before(() => {
  const layout = join(work, 'layout');
  writeLayout(layout, [
    { ref: '1', image: busyboxImage({ Cmd: ['/bin/sh'], Env: ['PATH=/bin'] }) },
  ]);
  archive = join(work, 'debugger.tar');
  execFileSync('skopeo', ['copy', '-q', `oci:${layout}:1`, `oci-archive:${archive}:${image}`]);
});
after(() => rmSync(work, { recursive: true, force: true }));

// The target: a process with a name no other pod has, to find in the debugger's `ps`.
const target = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'target' },
  spec: {
    containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3601'] }],
  },
};

for (const version of ['1.32', '1.28']) {
  describe(`kubectl ${version} debug`, () => {
    let skiff: SkiffUnderTest;
    const diagnose = async () =>
      (await skiff.kubectl(['get', 'pod', 'target', '-o', 'yaml'])).stdout +
      (await skiff.kubectl(['get', 'events'])).stdout;
    const targetField = (jsonpath: string) =>
      skiff.kubectlOk(['get', 'pod', 'target', '-o', `jsonpath=${jsonpath}`]);
    const ephemeralState = (name: string) =>
      targetField(`{.status.ephemeralContainerStatuses[?(@.name=="${name}")].state}`);
    before(async () => {
      skiff = await startSkiff({ kubeVersion: version });
      const load = await run(process.execPath, [
        skiffBin,
        'image',
        'load',
        archive,
        '--data-dir',
        skiff.dataDir,
      ]);
      assert.equal(load.code, 0, load.stderr);
      await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(target) });
      await skiff.kubectlOk(['wait', 'pod/target', '--for=condition=Ready', '--timeout=60s'], {
        timeoutMs: 70_000,
      });
    });
    after(async () => {
      await skiff?.stop();
    });

    test('debug --target runs once in the pod; ps shows the target; logs -c reads it', async () => {
      const out = await skiff.kubectlOk([
        'debug',
        'pod/target',
        `--image=${image}`,
        '--image-pull-policy=Never',
        '--target=app',
        '-c',
        'dbg',
        '--',
        'sh',
        '-c',
        'ps; hostname; cat /etc/os-release',
      ]);
      assert.match(out, /Targeting container "app"/, out);
      await eventually(async () => (await ephemeralState('dbg')).includes('terminated'), {
        timeoutMs: 30_000,
        what: 'the debug container to run and exit',
        diagnose,
      });
      const logs = await skiff.kubectlOk(['logs', 'target', '-c', 'dbg']);
      assert.match(logs, /sleep 3601/, logs);
      // The pod's UTS namespace, the debugger's own image root.
      assert.match(logs, /^target$/m, logs);
      assert.match(logs, /skiff test image/, logs);
      const exit = await targetField(
        '{.status.ephemeralContainerStatuses[0].state.terminated.exitCode} {.status.phase} {.status.containerStatuses[0].restartCount}',
      );
      assert.equal(exit, '0 Running 0');
      // Exited for good: it is not started again.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await skiff.kubectlOk(['logs', 'target', '-c', 'dbg'])).trim(), logs.trim());
    });

    // After `skiff down` and `up` the pod gets a new sandbox; its debug container stays done.
    if (version === '1.32') {
      test('a debug container that ran is not started again after skiff down and up', async () => {
        const before = await ephemeralState('dbg');
        assert.match(before, /terminated/);
        const down = await run(process.execPath, [skiffBin, 'down', '--data-dir', skiff.dataDir]);
        assert.equal(down.code, 0, down.stderr);
        await skiff.restart();
        await skiff.kubectlOk(['wait', 'pod/target', '--for=condition=Ready', '--timeout=60s'], {
          timeoutMs: 70_000,
        });
        const restarts = await targetField('{.status.containerStatuses[0].restartCount}');
        assert.equal(restarts, '1');
        // Give a wrongly planned start time to show, then check the debugger kept its old end.
        await new Promise((r) => setTimeout(r, 2000));
        // The same end (startedAt, finishedAt, containerID): no new run.
        assert.deepEqual(JSON.parse(await ephemeralState('dbg')), JSON.parse(before));
      });
    }

    test('debug -i attaches: stdin reaches the debugger, its output comes back', async () => {
      const r = await skiff.kubectl(
        [
          'debug',
          '-i',
          'pod/target',
          `--image=${image}`,
          '--image-pull-policy=Never',
          '--target=app',
          '-c',
          'dbgi',
          '--',
          'sh',
          '-c',
          'read x; echo "got:$x"; ps | grep -c "sleep 360[1]"',
        ],
        { input: 'hello\n', timeoutMs: 90_000 },
      );
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${await diagnose()}`);
      assert.match(r.stdout, /got:hello/, r.stdout + r.stderr);
      assert.match(r.stdout, /^1$/m, r.stdout);
      assert.doesNotMatch(r.stderr, /falling back/, r.stderr);
      await eventually(async () => (await ephemeralState('dbgi')).includes('terminated'), {
        timeoutMs: 20_000,
        what: 'the attached debug container to end',
        diagnose,
      });
    });

    // `script` gives kubectl a terminal, so -t holds: the debugger runs on a pty (spec.tty); it prints
    // only after reading, since attach shows what is written once it is attached.
    test('debug -it: the debugger has a terminal; input reaches it', async () => {
      const cache = mkdtempSync(join(tmpdir(), 'skiff-kcache-debug-'));
      const command = `kubectl debug -it pod/target --image=${image} --image-pull-policy=Never --target=app -c dbgt -- sh -c 'read x; [ -t 0 ] && echo on-a-terminal; echo got:$x'`;
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        env: { ...process.env, KUBECONFIG: skiff.kubeconfig, KUBECACHEDIR: cache },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stdin.on('error', () => undefined);
      try {
        // A line each second until the debugger has read one (its terminal echoes it).
        await eventually(
          async () => {
            if (child.exitCode === null) child.stdin.write('hello\r');
            return out.includes('got:hello') || child.exitCode !== null;
          },
          { timeoutMs: 60_000, intervalMs: 1000, what: 'the debug tty session', diagnose },
        );
        await eventually(async () => child.exitCode !== null, {
          timeoutMs: 30_000,
          what: 'kubectl debug -it to end',
          diagnose: async () => out,
        });
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        rmSync(cache, { recursive: true, force: true });
      }
      assert.match(out, /on-a-terminal/, out);
      assert.match(out, /got:hello/, out);
    });

    test('a change of an existing ephemeral container is refused with 422', async () => {
      const pod = JSON.parse(await skiff.kubectlOk(['get', 'pod', 'target', '-o', 'json']));
      pod.spec.ephemeralContainers[0].image = 'busybox:changed';
      const r = await skiff.kubectl(
        [
          'replace',
          '--raw',
          '/api/v1/namespaces/default/pods/target/ephemeralcontainers',
          '-f',
          '-',
        ],
        { input: JSON.stringify(pod) },
      );
      assert.notEqual(r.code, 0);
      const err = r.stderr + r.stdout;
      assert.match(err, /422|Unprocessable|is invalid/, err);
      assert.match(
        err,
        /spec\.ephemeralContainers: Forbidden: existing ephemeral containers \\?"dbg\\?" may not be changed/,
        err,
      );
    });

    test('debug node/NAME runs a pod on the node with its root at /host', async () => {
      const node = (await skiff.kubectlOk(['get', 'nodes', '-o', 'name'])).trim();
      const out = await skiff.kubectlOk([
        'debug',
        node,
        '--image=busybox',
        '--',
        'sh',
        '-c',
        'test -f /host/etc/os-release && echo host-root-ok',
      ]);
      const name = /Creating debugging pod (\S+)/.exec(out)?.[1] ?? '';
      assert.ok(name, out);
      await eventually(
        async () =>
          (await skiff.kubectlOk(['get', 'pod', name, '-o', 'jsonpath={.status.phase}'])) ===
          'Succeeded',
        {
          timeoutMs: 30_000,
          what: 'the node debugging pod to finish',
          diagnose: async () => (await skiff.kubectl(['get', 'pod', name, '-o', 'yaml'])).stdout,
        },
      );
      assert.equal((await skiff.kubectlOk(['logs', name])).trim(), 'host-root-ok');
      await skiff.kubectlOk(['delete', 'pod', name, '--wait=false']);
    });

    test('debug --copy-to creates a copy of the pod with the debug container', async () => {
      await skiff.kubectlOk([
        'debug',
        'target',
        '--copy-to=target-copy',
        '--image=busybox',
        '-c',
        'dbgc',
        '--',
        'sleep',
        '3602',
      ]);
      await skiff.kubectlOk(['wait', 'pod/target-copy', '--for=condition=Ready', '--timeout=60s'], {
        timeoutMs: 70_000,
      });
      const names = await skiff.kubectlOk([
        'get',
        'pod',
        'target-copy',
        '-o',
        'jsonpath={.spec.containers[*].name}',
      ]);
      assert.equal(names, 'app dbgc');
      await skiff.kubectlOk(['delete', 'pod', 'target-copy', '--wait=false']);
    });
  });
}
