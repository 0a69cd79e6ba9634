// `kubectl attach` to a named container and `kubectl run -i --rm` with the real kubectl: 1.32
// attaches over a websocket (v5.channel.k8s.io), 1.28 over SPDY/3.1; stdin reaches the container's
// main process and its output comes back live; with -t it runs on a terminal (issue 15, streaming).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, type SkiffUnderTest, startSkiff } from './harness.js';

/** A long-running kubectl (or `script` running one) the test watches; kill() ends it. */
function kubectlSession(
  skiff: SkiffUnderTest,
  args: string[],
  command = 'kubectl',
): { child: ChildProcess; output: () => string; kill: () => Promise<void> } {
  const cache = mkdtempSync(join(tmpdir(), 'skiff-kcache-attach-'));
  const child = spawn(command, args, {
    env: { ...process.env, KUBECONFIG: skiff.kubeconfig, KUBECACHEDIR: cache },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stdin?.on('error', () => undefined);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGKILL');
      });
    }
    rmSync(cache, { recursive: true, force: true });
  };
  return { child, output: () => out, kill };
}

// Two containers: `echo` answers each stdin line, `ticker` prints on its own.
const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: {
    containers: [
      {
        name: 'ticker',
        image: 'busybox',
        command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'],
      },
      {
        name: 'echo',
        image: 'busybox',
        stdin: true,
        command: ['sh', '-c', 'while read l; do echo "echo: $l"; echo "err: $l" >&2; done'],
      },
    ],
  },
});

for (const version of ['1.32', '1.28']) {
  describe(`kubectl ${version} attach and run -i`, () => {
    let skiff: SkiffUnderTest;
    const sessions: Array<() => Promise<void>> = [];
    const diagnose = async () =>
      (await skiff.kubectl(['get', 'pods', '-o', 'wide'])).stdout +
      (await skiff.kubectl(['describe', 'pod', 'two'])).stdout;
    before(async () => {
      skiff = await startSkiff({ kubeVersion: version });
      await skiff.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(pod('two')) });
      await skiff.kubectlOk(['wait', 'pod/two', '--for=condition=Ready', '--timeout=60s'], {
        timeoutMs: 70_000,
      });
    });
    after(async () => {
      for (const kill of sessions) await kill();
      await skiff?.stop();
    });

    test('attach -c NAME streams that container output live', async () => {
      const s = kubectlSession(skiff, ['attach', 'two', '-c', 'ticker']);
      sessions.push(s.kill);
      // Live output only: two new ticks arrive while attached.
      await eventually(async () => (s.output().match(/tick \d+/g) ?? []).length >= 2, {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: 'ticks through attach',
        diagnose: async () => `kubectl: ${s.output()}\n${await diagnose()}`,
      });
      assert.equal(s.child.exitCode, null, s.output());
      await s.kill();
    });

    test('attach -i sends stdin to the main process; stdout and stderr come back', async () => {
      const s = kubectlSession(skiff, ['attach', 'two', '-c', 'echo', '-i']);
      sessions.push(s.kill);
      // kubectl opens its streams a moment after starting: write until the answer shows.
      let n = 0;
      await eventually(
        async () => {
          s.child.stdin?.write(`line ${++n}\n`);
          return /echo: line \d+/.test(s.output()) && /err: line \d+/.test(s.output());
        },
        {
          timeoutMs: 20_000,
          intervalMs: 500,
          what: 'the echo of stdin through attach',
          diagnose: async () => `kubectl: ${s.output()}\n${await diagnose()}`,
        },
      );
      await s.kill();
      // stdin stays open across sessions (no stdinOnce): a second session is answered too.
      const again = kubectlSession(skiff, ['attach', 'two', '-c', 'echo', '-i']);
      sessions.push(again.kill);
      await eventually(
        async () => {
          again.child.stdin?.write('second\n');
          return again.output().includes('echo: second');
        },
        { timeoutMs: 20_000, intervalMs: 500, what: 'a second attach session' },
      );
      await again.kill();
    });

    test('run -i --rm --restart=Never: stdin in, output out, exit, pod deleted', async () => {
      const r = await skiff.kubectl(
        [
          'run',
          'once',
          '-i',
          '--rm',
          '--restart=Never',
          '--image=busybox',
          '--',
          'sh',
          '-c',
          'read a; read b; echo "got $a $b"; printf "no newline"',
        ],
        { input: 'one\ntwo\n', timeoutMs: 90_000 },
      );
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${await diagnose()}`);
      assert.match(r.stdout, /got one two/);
      assert.match(r.stdout, /no newline/);
      assert.match(r.stdout, /pod "once" deleted/);
      assert.doesNotMatch(r.stderr, /falling back to logs/, r.stderr);
      const left = await skiff.kubectl(['get', 'pod', 'once']);
      assert.match(left.stderr, /NotFound|not found/);
    });

    // `script` gives kubectl a terminal, so -t holds: the container runs on a pty (spec.tty).
    test('run -it --rm: the command has a terminal; input echoes and reaches it', async () => {
      const command = `kubectl run tty1 -it --rm --restart=Never --image=busybox -- sh -c 'tty; read x; echo got:$x'`;
      const s = kubectlSession(skiff, ['-qec', command, '/dev/null'], 'script');
      sessions.push(s.kill);
      try {
        // A line each second until the container has read one (its terminal echoes it).
        await eventually(
          async () => {
            if (s.child.exitCode === null) s.child.stdin?.write('hello\r');
            return s.output().includes('got:hello') || s.child.exitCode !== null;
          },
          { timeoutMs: 60_000, intervalMs: 1000, what: 'the tty session', diagnose },
        );
        await eventually(async () => s.child.exitCode !== null, {
          timeoutMs: 30_000,
          what: 'kubectl run -it to end',
          diagnose: async () => s.output(),
        });
      } finally {
        await s.kill();
      }
      const out = s.output();
      assert.match(out, /\/dev\/pts\/\d+/, out);
      assert.match(out, /got:hello/, out);
      assert.match(out, /pod "tty1" deleted/, out);
    });

    test('run -i --rm: a non-zero exit of the command is kubectl run exit code', async () => {
      const r = await skiff.kubectl(
        [
          'run',
          'fails',
          '-i',
          '--rm',
          '--restart=Never',
          '--image=busybox',
          '--',
          'sh',
          '-c',
          'cat; exit 3',
        ],
        { input: 'bye\n', timeoutMs: 90_000 },
      );
      assert.match(r.stdout, /bye/);
      assert.notEqual(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /exit code 3|terminated/i);
    });
  });
}
