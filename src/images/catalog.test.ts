// Tests for the image catalog and the local image registry.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ImageNotFoundError, parseImageRef, resolveImage } from './catalog.js';
import { LocalImageStore } from './local.js';

test('parseImageRef strips docker.io and splits tags and digests', () => {
  assert.deepEqual(parseImageRef('lyzhang1999/hello-world-flask:latest'), {
    repository: 'lyzhang1999/hello-world-flask',
    tag: 'latest',
  });
  assert.deepEqual(parseImageRef('docker.io/library/busybox'), {
    repository: 'busybox',
    tag: 'latest',
  });
  assert.deepEqual(parseImageRef('localhost:5000/x@sha256:ab'), {
    repository: 'localhost:5000/x',
    tag: 'sha256:ab',
  });
});

test('bundled flask image resolves for any tag to python3 app.py in /app', () => {
  const img = resolveImage('lyzhang1999/hello-world-flask:v2');
  assert.equal(img.workingDir, '/app');
  assert.match(img.args[0] ?? '', /python3$/);
  assert.equal(img.args[1], 'app.py');
  assert.ok(img.rootDir?.endsWith('images/hello-world-flask'));
  assert.deepEqual(img.ports, [5000]);
  assert.equal(img.imageID, resolveImage('lyzhang1999/hello-world-flask:v2').imageID);
});

test('add-on images run skiff addon', () => {
  const img = resolveImage('registry.k8s.io/ingress-nginx/controller:v1.12.0@sha256:abc');
  assert.deepEqual(img.command.slice(-2), ['addon', 'ingress-controller']);
  assert.deepEqual(resolveImage('skiff/metrics-server').command.slice(-2), [
    'addon',
    'metrics-server',
  ]);
});

test('unknown image throws a clear ImageNotFoundError', () => {
  assert.throws(
    () => resolveImage('nginx:1.25'),
    (e: unknown) => {
      assert.ok(e instanceof ImageNotFoundError);
      assert.match(e.message, /nginx:1.25.*not found/);
      return true;
    },
  );
});

test('local images are stored, resolved before bundled ones, and removed', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'skiff-img-'));
  try {
    const store = new LocalImageStore({ dataDir: dir });
    store.add({ name: 'me/app', dir, command: ['python3', 'main.py'], env: { A: '1' } });
    const img = resolveImage('me/app:any', { local: store });
    assert.equal(img.rootDir, dir);
    assert.deepEqual(img.command, ['python3', 'main.py']);
    assert.deepEqual(img.env, [{ name: 'A', value: '1' }]);
    assert.equal(new LocalImageStore({ dataDir: dir }).list().length, 1);
    assert.equal(store.remove('me/app'), true);
    assert.equal(store.remove('me/app'), false);
    assert.throws(() => resolveImage('me/app', { local: store }), ImageNotFoundError);
    assert.throws(
      () => store.add({ name: 'x', dir: '/nonexistent-skiff', args: ['a'] }),
      /does not exist/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
