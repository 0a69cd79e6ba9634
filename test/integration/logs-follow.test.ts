// Log follow with clients nobody on this project wrote (issue 15, streaming): each line reaches
// the official Python client (follow=True, _preload_content=False) and `kubectl logs -f` as it is
// written, and a last line without a trailing newline is not lost.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { eventually, type SkiffUnderTest, startSkiff } from './harness.js';

/** Debian's python3 (python3-kubernetes lives there, not in a pyenv one earlier on PATH). */
const python = '/usr/bin/python3';

let skiff: SkiffUnderTest;
// Once /tmp/go exists (the test creates it when its client is reading): two lines a second apart,
// a pause, then a last line with no newline; then the container exits. The gate, not a sleep,
// orders start and reader, so a slow pod start on a loaded machine cannot merge the lines.
const script =
  'until [ -e /tmp/go ]; do sleep 0.05; done; echo one; sleep 1; echo two; sleep 1; printf last';
const openGate = (name: string) => skiff.kubectlOk(['exec', name, '--', 'touch', '/tmp/go']);

async function startTicker(name: string): Promise<void> {
  await skiff.kubectlOk([
    'run',
    name,
    '--image=busybox',
    '--restart=Never',
    '--',
    'sh',
    '-c',
    script,
  ]);
  await eventually(
    async () =>
      (await skiff.kubectlOk(['get', 'pod', name, '-o', 'jsonpath={.status.phase}'])) === 'Running',
    { timeoutMs: 30_000, intervalMs: 100, what: `${name} to run` },
  );
}

before(async () => {
  skiff = await startSkiff();
});
after(async () => {
  await skiff?.stop();
});

test('the Python client reads each followed line as it is written, and the last partial line', async () => {
  await startTicker('py-ticker');
  // The client prints "open" once the follow request has its answer's headers, then each piece.
  const child = spawn(
    python,
    [
      '-c',
      `
import sys, time
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
resp = v1.read_namespaced_pod_log('py-ticker', 'default', follow=True, _preload_content=False)
print('open', flush=True)
start = None
for chunk in resp.stream():
    for piece in chunk.decode().splitlines(keepends=True):
        start = start or time.monotonic()
        print('%.2f %r' % (time.monotonic() - start, piece), flush=True)
`,
      skiff.kubeconfig,
    ],
    { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 60_000 },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await eventually(async () => out.startsWith('open\n'), {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: 'the Python client to open the log stream',
    diagnose: async () => `stdout: ${out}\nstderr: ${err}`,
  });
  await openGate('py-ticker');
  assert.equal(await exited, 0, `python failed: ${out}${err}`);
  const stdout = out.slice('open\n'.length);
  const rows = stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [t, ...rest] = l.split(' ');
      return { t: Number(t), text: rest.join(' ') };
    });
  assert.deepEqual(
    rows.map((r) => r.text),
    ["'one\\n'", "'two\\n'", "'last'"],
    stdout,
  );
  // Flushed as written: "two" came about a second after "one", not all at the end.
  assert.ok(rows[1]!.t - rows[0]!.t > 0.5, stdout);
  assert.ok(rows[2]!.t - rows[1]!.t > 0.5, stdout);
});

test('kubectl logs -f and kubectl logs keep a last line without a newline', async () => {
  await startTicker('k-ticker');
  await openGate('k-ticker');
  const followed = await skiff.kubectlOk(['logs', '-f', 'k-ticker'], { timeoutMs: 30_000 });
  assert.equal(followed, 'one\ntwo\nlast');
  await eventually(
    async () =>
      (await skiff.kubectlOk(['get', 'pod', 'k-ticker', '-o', 'jsonpath={.status.phase}'])) ===
      'Succeeded',
    { timeoutMs: 30_000, intervalMs: 100, what: 'k-ticker to finish' },
  );
  assert.equal(await skiff.kubectlOk(['logs', 'k-ticker']), 'one\ntwo\nlast');
  assert.equal(await skiff.kubectlOk(['logs', 'k-ticker', '--tail=1']), 'last');
});
