import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadImages } from './load.js';
import { ImageStore } from './store/image-store.js';
import { buildImage, tarball, testWorkDir, writeLayout } from './testing.js';

const work = testWorkDir('skiff-load-');
let layout: string;
const image = buildImage({
  layers: [
    tarball([
      { name: 'bin/', type: 'dir' },
      { name: 'bin/hello', data: 'hello', mode: 0o755 },
    ]),
    tarball([
      { name: 'etc/', type: 'dir' },
      { name: 'etc/greeting', data: 'hi' },
    ]),
  ],
  config: { Cmd: ['/bin/hello'] },
});

before(() => {
  layout = path.join(work, 'layout');
  writeLayout(layout, [{ ref: 'greeter:1', image }]);
});

const skopeo = (...args: string[]) => execFileSync('skopeo', ['copy', '--quiet', ...args]);
let n = 0;
const store = () => new ImageStore({ root: path.join(work, `store${n++}`) });

async function loadsGreeter(source: string, name: string) {
  const s = store();
  assert.deepEqual(await loadImages(s, source), [name]);
  const img = await s.image(name);
  assert.ok(img);
  assert.deepEqual(img.config.config?.Cmd, ['/bin/hello']);
  const dirs = await s.unpackImage(img);
  assert.equal(readFileSync(path.join(dirs[1]!, 'etc/greeting'), 'utf8'), 'hi');
  return { s, img };
}

describe('loadImages', () => {
  test('a docker save tarball (skopeo docker-archive), plain and gzipped', async () => {
    const file = path.join(work, 'docker.tar');
    skopeo(`oci:${layout}:greeter:1`, `docker-archive:${file}:example.com/greeter:1`);
    await loadsGreeter(file, 'example.com/greeter:1');
    const gz = path.join(work, 'docker.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(file)));
    await loadsGreeter(gz, 'example.com/greeter:1');
  });

  test('an OCI archive and an OCI layout directory keep the manifest digest', async () => {
    const file = path.join(work, 'oci.tar');
    skopeo(`oci:${layout}:greeter:1`, `oci-archive:${file}:greeter:1`);
    const { img } = await loadsGreeter(file, 'docker.io/library/greeter:1');
    assert.equal(img.target.digest, image.manifest.digest);
    const dir = await loadsGreeter(layout, 'docker.io/library/greeter:1');
    assert.equal(dir.img.target.digest, image.manifest.digest);
  });

  test('rejects what is not an image archive', async () => {
    const junk = path.join(work, 'junk.tar');
    writeFileSync(junk, 'not a tar');
    await assert.rejects(loadImages(store(), junk), /is not an image archive/);
    await assert.rejects(loadImages(store(), path.join(work, 'missing.tar')), /does not exist/);
  });
});
