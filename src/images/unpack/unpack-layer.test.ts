import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { sha256Digest } from '../store/blob-store.js';
import { compress, tarball, testWorkDir } from '../testing.js';
import { HostileLayerError } from './tar-guard.js';
import { unpackLayer } from './unpack-layer.js';

const isRoot = process.getuid?.() === 0;
const work = testWorkDir('skiff-unpack-');
let n = 0;

async function unpack(
  tar: Buffer,
  opts: { kind?: 'gzip' | 'zstd' | 'none'; maxBytes?: number } = {},
) {
  const dir = path.join(work, `l${n++}`);
  mkdirSync(dir);
  const data = compress(tar, opts.kind ?? 'gzip');
  const result = await unpackLayer(Readable.from([data.subarray(0, 100), data.subarray(100)]), {
    dir,
    maxBytes: opts.maxBytes ?? 1 << 30,
    what: 'layer test',
  });
  return { dir, result };
}

function getxattr(file: string, name: string): string {
  return execFileSync('/usr/bin/python3', [
    '-c',
    'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())',
    file,
    name,
  ])
    .toString()
    .trim();
}

describe('unpackLayer', () => {
  test('keeps files, modes, owners, setuid, symlinks and hard links; reports the diffID', async () => {
    const tar = tarball([
      { name: 'bin/', type: 'dir' },
      { name: 'bin/tool', data: '#!/bin/sh\n', mode: 0o4755, uid: 1234, gid: 55 },
      { name: 'bin/alias', type: 'hardlink', linkname: 'bin/tool' },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'tmp/', type: 'dir', mode: 0o1777 },
      { name: `deep/${'x'.repeat(120)}/file`, data: 'long name' },
    ]);
    const { dir, result } = await unpack(tar);
    assert.equal(result.diffID, sha256Digest(tar));
    assert.equal(result.size, tar.length);
    const tool = statSync(path.join(dir, 'bin/tool'));
    assert.equal(tool.mode & 0o7777, 0o4755);
    if (isRoot) assert.deepEqual([tool.uid, tool.gid], [1234, 55]);
    assert.equal(statSync(path.join(dir, 'bin/alias')).ino, tool.ino);
    assert.equal(readlinkSync(path.join(dir, 'bin/sh')), '/bin/busybox');
    assert.equal(statSync(path.join(dir, 'tmp')).mode & 0o7777, 0o1777);
    assert.equal(readFileSync(path.join(dir, `deep/${'x'.repeat(120)}/file`), 'utf8'), 'long name');
  });

  test('zstd and uncompressed layers unpack too', async () => {
    const tar = tarball([{ name: 'a.txt', data: 'zstd!' }]);
    for (const kind of ['zstd', 'none'] as const) {
      const { dir, result } = await unpack(tar, { kind });
      assert.equal(readFileSync(path.join(dir, 'a.txt'), 'utf8'), 'zstd!');
      assert.equal(result.diffID, sha256Digest(tar));
    }
  });

  test('whiteouts become 0/0 character devices, opaque markers an xattr', {
    skip: !isRoot && 'needs root (mknod)',
  }, async () => {
    const tar = tarball([
      { name: 'etc/', type: 'dir' },
      { name: 'etc/.wh.motd', data: '' },
      { name: 'var/', type: 'dir' },
      { name: 'var/cache/', type: 'dir' },
      { name: 'var/cache/.wh..wh..opq', data: '' },
      { name: 'var/cache/new', data: 'fresh' },
      { name: '.wh..wh.plnk', type: 'dir' },
    ]);
    const { dir, result } = await unpack(tar);
    assert.equal(result.whiteouts.length, 3);
    const motd = lstatSync(path.join(dir, 'etc/motd'));
    assert.ok(motd.isCharacterDevice());
    assert.equal(motd.rdev, 0);
    assert.equal(existsSync(path.join(dir, 'etc/.wh.motd')), false);
    assert.equal(getxattr(path.join(dir, 'var/cache'), 'trusted.overlay.opaque'), 'y');
    assert.equal(existsSync(path.join(dir, 'var/cache/.wh..wh..opq')), false);
    assert.equal(readFileSync(path.join(dir, 'var/cache/new'), 'utf8'), 'fresh');
  });

  test('refuses ".." in a path or a hard-link target', async () => {
    for (const entries of [
      [{ name: '../escape', data: 'x' }],
      [{ name: 'a/../../escape', data: 'x' }],
      [{ name: 'link', type: 'hardlink' as const, linkname: '../../etc/passwd' }],
    ]) {
      await assert.rejects(unpack(tarball(entries)), HostileLayerError);
    }
    assert.equal(existsSync(path.join(work, 'escape')), false);
  });

  test('a header with a bad checksum ends the layer', async () => {
    const tar = tarball([
      { name: 'a', data: 'x' },
      { name: 'b', data: 'y' },
    ]);
    tar[1024 + 10] = 0x41; // inside the second header's name, after its checksum was computed
    await assert.rejects(unpack(tar), /bad checksum/);
  });

  test('absolute paths land inside the layer', async () => {
    const { dir } = await unpack(tarball([{ name: '/abs.txt', data: 'in' }]));
    assert.equal(readFileSync(path.join(dir, 'abs.txt'), 'utf8'), 'in');
  });

  test('device nodes become empty files', async () => {
    const { dir, result } = await unpack(
      tarball([
        { name: 'dev/', type: 'dir' },
        { name: 'dev/sda', type: 'block' },
        { name: 'dev/mem', type: 'char' },
      ]),
    );
    assert.deepEqual(result.neutralised, ['dev/sda', 'dev/mem']);
    for (const f of ['dev/sda', 'dev/mem']) {
      const st = lstatSync(path.join(dir, f));
      assert.ok(st.isFile());
      assert.equal(st.size, 0);
    }
  });

  test('a symlink escape inside one layer writes nothing outside', async () => {
    const outside = path.join(work, 'outside');
    mkdirSync(outside);
    await unpack(
      tarball([
        { name: 'etc', type: 'symlink', linkname: outside },
        { name: 'etc/evil', data: 'pwned' },
        { name: 'up', type: 'symlink', linkname: '../../..' },
        { name: 'up/evil2', data: 'pwned' },
      ]),
    ).catch((err: unknown) => err);
    assert.equal(existsSync(path.join(outside, 'evil')), false);
    assert.equal(existsSync(path.join(work, 'evil2')), false);
  });

  test('a huge declared size is refused before anything is written', async () => {
    const tar = tarball([{ name: 'big', data: 'tiny', declaredSize: 2 ** 40 }]);
    await assert.rejects(unpack(tar, { maxBytes: 1 << 30 }), /declares 1099511627776 bytes/);
  });

  test('more uncompressed bytes than allowed is refused (a decompression bomb)', async () => {
    const tar = tarball(
      [1, 2, 3, 4].map((i) => ({ name: `zeros${i}`, data: Buffer.alloc(512 << 10) })),
    );
    await assert.rejects(unpack(tar, { maxBytes: 1 << 20 }), /more than 1048576 bytes/);
  });

  test('a diffID other than the promised one fails the unpack', async () => {
    const dir = path.join(work, 'diff');
    mkdirSync(dir);
    await assert.rejects(
      unpackLayer(Readable.from([compress(tarball([{ name: 'f', data: 'x' }]), 'gzip')]), {
        dir,
        maxBytes: 1 << 20,
        what: 'layer x',
        expectedDiffID: `sha256:${'0'.repeat(64)}`,
      }),
      /does not match diffID/,
    );
  });
});
