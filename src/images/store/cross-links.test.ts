import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { type TarEntry, tarball, testWorkDir } from '../testing.js';
import { unpackLayer } from '../unpack/unpack-layer.js';
import {
  moveCrossLinks,
  recordCrossLinks,
  removeCrossLinks,
  resolveCrossLinks,
} from './cross-links.js';

const isRoot = process.getuid?.() === 0;
const work = testWorkDir('skiff-crosslinks-');
let n = 0;

/** Unpacks layers (bottom first) as the image store does: own directory each, links recorded. */
async function layers(...entries: TarEntry[][]): Promise<string[]> {
  const dirs: string[] = [];
  for (const e of entries) {
    const tmp = path.join(work, `.tmp-${n}`);
    const dir = path.join(work, `l${n++}`);
    mkdirSync(tmp);
    const r = await unpackLayer(Readable.from([tarball(e)]), {
      dir: tmp,
      maxBytes: 1 << 30,
      what: 'layer test',
    });
    recordCrossLinks(tmp, r.crossLinks);
    // The store renames the temp dir into place; its record moves with it.
    renameSync(tmp, dir);
    moveCrossLinks(tmp, dir);
    dirs.push(dir);
  }
  return dirs;
}

test('a hard link to a lower layer’s file gets its content, mode and owner; in-layer links stay links', async () => {
  const dirs = await layers(
    [
      { name: 'bin/', type: 'dir' },
      { name: 'bin/tool', data: 'v1\n', mode: 0o4755, uid: 7, gid: 8 },
    ],
    [
      { name: 'bin/', type: 'dir' },
      { name: 'bin/tool', data: 'v2\n', mode: 0o755 },
      { name: 'usr/', type: 'dir' },
      { name: 'usr/bin/', type: 'dir' },
      { name: 'usr/bin/same', type: 'hardlink', linkname: 'bin/tool' },
    ],
    [
      { name: 'usr/', type: 'dir' },
      { name: 'usr/lib/', type: 'dir' },
      { name: 'usr/lib/tool', type: 'hardlink', linkname: 'bin/tool' },
    ],
  );
  const [, mid, top] = dirs as [string, string, string];
  // In one layer a hard link is a hard link; across layers it waits for its content.
  assert.equal(
    statSync(path.join(mid, 'usr/bin/same')).ino,
    statSync(path.join(mid, 'bin/tool')).ino,
  );
  assert.equal(readFileSync(path.join(top, 'usr/lib/tool'), 'utf8'), '');
  assert.ok(existsSync(`${top}.links`));
  await resolveCrossLinks(dirs);
  // The nearest lower layer wins: the middle one's v2, not the bottom one's v1.
  const linked = path.join(top, 'usr/lib/tool');
  assert.equal(readFileSync(linked, 'utf8'), 'v2\n');
  assert.equal(statSync(linked).mode & 0o7777, 0o755);
  if (isRoot) assert.equal(statSync(linked).uid, statSync(path.join(mid, 'bin/tool')).uid);
  // Done once: a second call finds nothing pending.
  assert.match(readFileSync(`${top}.links`, 'utf8'), /"resolved":true/);
  await resolveCrossLinks(dirs);
});

test('a link whose target a whiteout removed, or that no layer holds, is refused with its name', {
  skip: !isRoot && 'needs root (whiteouts are mknod)',
}, async () => {
  const hidden = await layers(
    [
      { name: 'etc/', type: 'dir' },
      { name: 'etc/secret', data: 'gone\n' },
    ],
    [
      { name: 'etc/', type: 'dir' },
      { name: 'etc/.wh.secret', data: '' },
    ],
    [{ name: 'copy', type: 'hardlink', linkname: 'etc/secret' }],
  );
  await assert.rejects(resolveCrossLinks(hidden), /hard link 'copy' to 'etc\/secret'/);
  const opaque = await layers(
    [
      { name: 'opt/', type: 'dir' },
      { name: 'opt/old', data: 'old\n' },
    ],
    [
      { name: 'opt/', type: 'dir' },
      { name: 'opt/.wh..wh..opq', data: '' },
      { name: 'opt/new', data: 'new\n' },
    ],
    [{ name: 'old', type: 'hardlink', linkname: 'opt/old' }],
  );
  await assert.rejects(resolveCrossLinks(opaque), /no lower layer holds 'opt\/old'/);
  const nowhere = await layers([{ name: 'a', type: 'hardlink', linkname: 'missing' }]);
  await assert.rejects(resolveCrossLinks(nowhere), /no lower layer holds 'missing'/);
});

test('a link target that climbs out of the layer is refused while unpacking', async () => {
  await assert.rejects(layers([{ name: 'x', type: 'hardlink', linkname: '../../etc/shadow' }]), {
    name: 'HostileLayerError',
  });
});

test('a layer removed and unpacked again under its name is resolved again, not taken as settled', async () => {
  const base: TarEntry[] = [{ name: 'f', data: 'base\n' }];
  const linking: TarEntry[] = [{ name: 'g', type: 'hardlink', linkname: 'f' }];
  const [low, high] = (await layers(base, linking)) as [string, string];
  await resolveCrossLinks([low, high]);
  assert.equal(readFileSync(path.join(high, 'g'), 'utf8'), 'base\n');
  // GC removes the layer; a later pull unpacks the same diffID into the same directory name.
  removeCrossLinks(high);
  rmSync(high, { recursive: true });
  const [again] = (await layers(linking)) as [string];
  rmSync(high, { recursive: true, force: true });
  renameSync(again, high);
  moveCrossLinks(again, high);
  assert.equal(readFileSync(path.join(high, 'g'), 'utf8'), '');
  await resolveCrossLinks([low, high]);
  assert.equal(readFileSync(path.join(high, 'g'), 'utf8'), 'base\n');
});
