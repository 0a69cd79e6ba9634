// `skiff image add|load|list|rm` and the local registry end to end: a folder registered as a local
// image runs as a pod that the real kubectl creates (files at the workdir, entrypoint, env, port);
// `docker save` and OCI archives loaded with `skiff image load` run with imagePullPolicy Never; an
// image pushed with skopeo to Skiff's own registry runs from there; an unknown image reports
// ErrImagePull/ImagePullBackOff with the pull error; removal works.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, tarball, writeLayout } from '../../src/images/testing.js';
import { freePort } from '../../src/images/testing-registry.js';

import { eventually, run, type SkiffUnderTest, startSkiff, waitingState } from './harness.js';

const skiffBin = resolve(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
let skiff: SkiffUnderTest;
let appDir: string;
let registryPort: number;

const skiffCli = (args: string[]) =>
  run(process.execPath, [skiffBin, ...args, '--data-dir', skiff.dataDir]);

before(async () => {
  registryPort = await freePort();
  skiff = await startSkiff({
    args: ['--dashboard-port', '0', '--local-registry-port', String(registryPort)],
  });
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

// A real image from the host's static busybox: httpd serving a page that names the image source.
function writeHttpdLayout(dir: string): void {
  const image = buildImage({
    layers: [
      tarball([
        { name: 'bin/', type: 'dir' },
        { name: 'bin/busybox', data: readFileSync('/bin/busybox'), mode: 0o755 },
        { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      ]),
      tarball([
        { name: 'www/', type: 'dir' },
        { name: 'www/index.html', data: 'from an OCI image' },
      ]),
    ],
    config: {
      Entrypoint: ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www'],
      Env: ['PATH=/bin'],
      WorkingDir: '/www',
    },
  });
  writeLayout(dir, [{ ref: '1', image }]);
}

async function servesPage(pod: string): Promise<void> {
  await skiff.kubectlOk(['wait', `pod/${pod}`, '--for=condition=Ready', '--timeout=60s'], {
    timeoutMs: 70_000,
  });
  const body = await eventually(
    async () => {
      const r = await skiff.kubectl([
        'exec',
        pod,
        '--',
        'busybox',
        'wget',
        '-qO-',
        '127.0.0.1:8080',
      ]);
      return r.code === 0 ? r.stdout : undefined;
    },
    { timeoutMs: 20_000, what: `${pod} serving` },
  );
  assert.equal(body, 'from an OCI image');
}

test('skiff image load of docker save and OCI archives; kubectl run with imagePullPolicy Never', async () => {
  const layout = join(appDir, 'layout');
  writeHttpdLayout(layout);
  const saved = join(appDir, 'saved.tar');
  const oci = join(appDir, 'oci.tar');
  execFileSync('skopeo', [
    'copy',
    '-q',
    `oci:${layout}:1`,
    `docker-archive:${saved}:example.com/saved:1`,
  ]);
  execFileSync('skopeo', ['copy', '-q', `oci:${layout}:1`, `oci-archive:${oci}:example.com/oci:1`]);
  for (const [file, name] of [
    [saved, 'example.com/saved:1'],
    [oci, 'example.com/oci:1'],
  ] as const) {
    const load = await skiffCli(['image', 'load', file]);
    assert.equal(load.code, 0, load.stderr);
    assert.equal(load.stdout, `Loaded image: ${name}\n`);
  }
  const list = await skiffCli(['image', 'list']);
  assert.match(list.stdout, /^IMAGE\s+TAG\s+DIGEST\s+SIZE$/m);
  assert.match(list.stdout, /^example\.com\/saved\s+1\s+sha256:[0-9a-f]{12}\s+\d/m);
  for (const [pod, image] of [
    ['saved', 'example.com/saved:1'],
    ['oci', 'example.com/oci:1'],
  ] as const) {
    await skiff.kubectlOk(['run', pod, `--image=${image}`, '--image-pull-policy=Never']);
    await servesPage(pod);
  }
  const imageID = await skiff.kubectlOk([
    'get',
    'pod',
    'saved',
    '-o',
    'jsonpath={.status.containerStatuses[0].imageID}',
  ]);
  assert.match(imageID, /^example\.com\/saved@sha256:[0-9a-f]{64}$/);
  // Removing the names and pruning never take layers from under running containers (their
  // overlays, in the pods' mount namespaces, are all that keeps them).
  for (const name of ['example.com/oci:1', 'example.com/saved:1']) {
    const rm = await skiffCli(['image', 'rm', name]);
    assert.equal(rm.stdout, `Deleted: ${name}\n`, rm.stderr);
  }
  const prune = await skiffCli(['image', 'prune']);
  assert.equal(prune.code, 0, prune.stderr);
  assert.match(prune.stdout, /^Total reclaimed: \d+ blobs, 0 layer directories/m);
  for (const pod of ['saved', 'oci']) await servesPage(pod);
});

test('an image pushed to the local registry runs from it', async () => {
  const layout = join(appDir, 'layout');
  const image = `127.0.0.1:${registryPort}/pushed:1`;
  execFileSync('skopeo', [
    'copy',
    '-q',
    '--dest-tls-verify=false',
    `oci:${layout}:1`,
    `docker://${image}`,
  ]);
  await skiff.kubectlOk(['run', 'pushed', `--image=${image}`]);
  await servesPage('pushed');
});
