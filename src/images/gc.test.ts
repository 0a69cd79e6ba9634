import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { ImageGC, mountedLayers, removeImages } from './gc.js';
import { pinnedAnnotation } from './load.js';
import { ImageStore } from './store/image-store.js';
import { buildImage, tarball, testWorkDir } from './testing.js';

const work = testWorkDir('skiff-gc-');

let n = 0;
async function storeWith(names: string[], pinned: string[] = []) {
  const store = new ImageStore({ root: path.join(work, `s${n++}`) });
  for (const name of names) {
    const image = buildImage({ layers: [tarball([{ name: 'f', data: name.repeat(1000) }])] });
    for (const [digest, data] of image.blobs) await store.blobs.putBytes(data, { digest });
    store.index.set(name, {
      ...image.manifest,
      annotations: pinned.includes(name) ? { [pinnedAnnotation]: 'true' } : undefined,
    });
  }
  return store;
}

describe('image GC', () => {
  test('below the high threshold nothing goes; above it LRU unused unpinned images go until the low one', async () => {
    const store = await storeWith(
      ['r/a:1', 'r/b:1', 'r/c:1', 'r/d:1', 'r/pinned:1'],
      ['r/pinned:1'],
    );
    const clock = new FakeClock(1_000_000);
    let usage = { capacity: 1000, available: 200 }; // 80%: below 85
    const lastUsed = new Map([
      ['r/a:1', 30],
      ['r/b:1', 10],
      ['r/c:1', 20],
    ]);
    const gc = new ImageGC({
      store,
      inUse: () => ['r/c:1'],
      lastUsed,
      clock,
      usage: () => usage,
    });
    assert.deepEqual(await gc.garbageCollect(), []);
    usage = { capacity: 1000, available: 100 }; // 90%
    // first seen just now: younger than the 2 min minimum age
    assert.deepEqual(await gc.garbageCollect(), []);
    clock.advance(121_000);
    const size = (await store.image('r/a:1'))?.size ?? 0;
    // free 100 bytes... each image is `size` bytes, so one image is enough: d (never used) goes
    const removed = await gc.garbageCollect();
    assert.equal(size >= 100, true);
    assert.deepEqual(removed, ['r/d:1']);
    usage = { capacity: 100 * size, available: 5 * size }; // needs 15 images' worth: all candidates
    assert.deepEqual(await gc.garbageCollect(), ['r/b:1', 'r/a:1']);
    assert.deepEqual(
      store.index.list().map((e) => e.ref),
      ['r/c:1', 'r/pinned:1'],
    );
  });

  test('prune removes every unused image, pinned ones included, and the content', async () => {
    const store = await storeWith(['r/a:1', 'r/b:1'], ['r/b:1']);
    const res = await removeImages(store, { keepPinned: false, now: Date.now() + 3_600_000 });
    assert.deepEqual(res.removed.sort(), ['r/a:1', 'r/b:1']);
    assert.equal(store.blobs.list().length, 0);
  });

  test("a pod's short image name keeps the stored full name", async () => {
    const store = await storeWith(['docker.io/library/nginx:1', 'docker.io/library/redis:7']);
    const res = await removeImages(store, {
      inUse: ['nginx:1'],
      keepPinned: true,
      now: Date.now(),
    });
    assert.deepEqual(res.removed, ['docker.io/library/redis:7']);
  });

  test('reads overlay lowerdirs from mountinfo', () => {
    const file = path.join(work, 'mountinfo');
    writeFileSync(
      file,
      [
        '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
        '99 22 0:50 / /run/pod/rootfs rw,relatime - overlay overlay rw,lowerdir=/d/images/l/aaa:/d/images/l/bbb/,upperdir=/u,workdir=/w',
        '100 22 0:51 / /x rw - overlay overlay rw,lowerdir=l/ccc,upperdir=u,workdir=w',
      ].join('\n'),
    );
    assert.deepEqual([...mountedLayers([file, path.join(work, 'gone')])].sort(), [
      'aaa',
      'bbb',
      'ccc',
    ]);
  });
});
