import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { buildImage, type TestImage, tarball, testWorkDir } from '../testing.js';
import { sha256Digest } from './blob-store.js';
import { ImageStore } from './image-store.js';

const work = testWorkDir('skiff-store-');

async function put(store: ImageStore, ref: string, image: TestImage) {
  for (const [digest, data] of image.blobs)
    await store.blobs.putBytes(data, { digest, size: data.length });
  store.index.set(ref, image.manifest);
}

describe('ImageStore', () => {
  test('names, resolves and unpacks an image; skopeo reads the layout', async () => {
    const store = new ImageStore({ root: path.join(work, 'a') });
    const image = buildImage({
      layers: [
        tarball([
          { name: 'bin/', type: 'dir' },
          { name: 'bin/app', data: 'v1', mode: 0o755 },
        ]),
        tarball([{ name: 'bin/app', data: 'v2', mode: 0o755 }]),
      ],
      config: { Cmd: ['/bin/app'], Env: ['A=1'], WorkingDir: '/srv' },
    });
    await put(store, 'docker.io/library/app:1', image);
    const img = await store.image('docker.io/library/app:1');
    assert.ok(img);
    assert.equal(store.isUnpacked(img), false);
    const dirs = await store.unpackImage(img);
    assert.equal(dirs.length, 2);
    assert.equal(readFileSync(path.join(dirs[1]!, 'bin/app'), 'utf8'), 'v2');
    // short names keep an overlay option string of many layers under a page
    assert.ok(path.basename(dirs[0]!).length <= 24);
    assert.equal(store.isUnpacked(img), true);
    const rows = await store.list();
    assert.deepEqual(
      rows.map((r) => [r.ref, r.digest, r.unpacked]),
      [['docker.io/library/app:1', image.manifest.digest, true]],
    );
    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${store.root}:docker.io/library/app:1`]).toString(),
    ) as { Digest: string; Layers: string[] };
    assert.equal(inspect.Digest, image.manifest.digest);
    assert.equal(inspect.Layers.length, 2);
  });

  test('a symlink escape across layers writes nothing outside (each layer its own dir)', async () => {
    const store = new ImageStore({ root: path.join(work, 'b') });
    const outside = path.join(work, 'outside');
    mkdirSync(outside);
    const image = buildImage({
      layers: [
        tarball([{ name: 'etc', type: 'symlink', linkname: outside }]),
        tarball([
          { name: 'etc/', type: 'dir' },
          { name: 'etc/evil', data: 'pwned' },
        ]),
      ],
    });
    await put(store, 'x/evil:1', image);
    const img = await store.image('x/evil:1');
    assert.ok(img);
    const dirs = await store.unpackImage(img);
    assert.equal(existsSync(path.join(outside, 'evil')), false);
    assert.equal(readFileSync(path.join(dirs[1]!, 'etc/evil'), 'utf8'), 'pwned');
  });

  test('layers shared by two images are unpacked once; sweep keeps what a name reaches', async () => {
    const store = new ImageStore({ root: path.join(work, 'c') });
    const base = tarball([{ name: 'base', data: 'shared' }]);
    const one = buildImage({ layers: [base, tarball([{ name: 'one', data: '1' }])] });
    const two = buildImage({ layers: [base, tarball([{ name: 'two', data: '2' }])] });
    await put(store, 'r/one:1', one);
    await put(store, 'r/two:1', two);
    const [a, b] = await Promise.all(
      ['r/one:1', 'r/two:1'].map(async (r) => store.unpackImage((await store.image(r))!)),
    );
    assert.equal(a![0], b![0]);
    assert.equal(store.layers.list().length, 3);
    store.index.remove('r/one:1');
    // a fresh blob is kept (another process may be about to name it); past the grace it goes
    assert.deepEqual(await store.sweep({ now: Date.now() }), { blobs: 0, layers: 0 });
    const removed = await store.sweep({ now: Date.now() + 3_600_000 });
    assert.deepEqual(removed, { blobs: 3, layers: 1 });
    const left = await store.image('r/two:1');
    assert.ok(left && store.isUnpacked(left));
  });

  test('a tampered blob is refused and leaves nothing under its name', async () => {
    const store = new ImageStore({ root: path.join(work, 'd') });
    const data = Buffer.from('real content');
    await assert.rejects(
      store.blobs.putBytes(Buffer.from('evil content'), { digest: sha256Digest(data) }),
      /does not match/,
    );
    assert.equal(store.blobs.has(sha256Digest(data)), false);
    await assert.rejects(store.blobs.putBytes(data, { size: 3 }), /more than the 3 bytes/);
  });
});
