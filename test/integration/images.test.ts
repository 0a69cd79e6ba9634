// `skiff image add|list|rm` end to end: a folder registered as a local image runs as a pod that the
// real kubectl creates (files at the workdir, entrypoint, env, port), an unknown image reports
// ErrImagePull/ImagePullBackOff with the pull error, and removal works.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, run, type SkiffUnderTest, startSkiff, waitingState } from './harness.js';

const skiffBin = resolve(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
let skiff: SkiffUnderTest;
let appDir: string;

const skiffCli = (args: string[]) =>
  run(process.execPath, [skiffBin, ...args, '--data-dir', skiff.dataDir]);

before(async () => {
  skiff = await startSkiff({ args: ['--dashboard-port', '0'] });
  appDir = mkdtempSync(join(tmpdir(), 'skiff-image-'));
  writeFileSync(
    join(appDir, 'app.py'),
    [
      'import http.server, os, socket',
      'class H(http.server.BaseHTTPRequestHandler):',
      '    def do_GET(self):',
      '        body = f"{os.environ[\'GREETING\']} from {socket.gethostname()} in {os.getcwd()}".encode()',
      '        self.send_response(200); self.end_headers(); self.wfile.write(body)',
      'http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await skiff?.stop();
  rmSync(appDir, { recursive: true, force: true });
});

test('a registered local image runs as a pod with its files, entrypoint, env and port', async () => {
  const add = await skiffCli([
    'image',
    'add',
    'example.com/greeter',
    '--dir',
    appDir,
    '--cmd',
    'python3 app.py',
    '--env',
    'GREETING=hello',
    '--port',
    '8080',
  ]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(
    add.stdout,
    /image example\.com\/greeter added: .* at \/app, runs \["python3","app\.py"\]/,
  );
  const list = await skiffCli(['image', 'list']);
  assert.match(list.stdout, /^NAME\s+DIR\s+WORKDIR\s+COMMAND\s+PORTS$/m);
  assert.match(list.stdout, /^example\.com\/greeter\s+\S+\s+\/app\s+python3 app\.py\s+8080$/m);

  await skiff.kubectlOk(['run', 'greeter', '--image=example.com/greeter:v2']);
  await skiff.kubectlOk(['wait', 'pod/greeter', '--for=condition=Ready', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  const body = await skiff.kubectlOk(['exec', 'greeter', '--', 'curl', '-s', '127.0.0.1:8080']);
  assert.equal(body, 'hello from greeter in /app');
});

test('an image neither local nor pullable backs off with the pull error', async () => {
  await skiff.kubectlOk(['run', 'missing', '--image=example.com/nothing-here:1']);
  const reason = await eventually(
    async () => {
      const out = await waitingState(skiff, 'missing');
      return /ImagePullBackOff|ErrImagePull/.test(out) ? out : undefined;
    },
    { timeoutMs: 30_000, what: 'ErrImagePull' },
  );
  assert.match(reason, /failed to pull and unpack image "example\.com\/nothing-here:1"/);
  const pods = await skiff.kubectlOk(['get', 'pod', 'missing']);
  assert.match(pods, /missing\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0/);
});

test('image rm removes the image; removing it again is an error', async () => {
  const rm = await skiffCli(['image', 'rm', 'example.com/greeter']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(rm.stdout, 'image example.com/greeter removed\n');
  const again = await skiffCli(['image', 'rm', 'example.com/greeter']);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'error: image "example.com/greeter" is not registered\n');
  const bad = await skiffCli(['image', 'add', 'x', '--dir', join(appDir, 'nope'), '--cmd', 'true']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: image folder ".*nope" does not exist\n$/);
});
