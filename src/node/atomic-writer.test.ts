import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { writeAtomic } from './atomic-writer.js';

const root = mkdtempSync(path.join(tmpdir(), 'skiff-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

const f = (data: string, mode = 0o644) => ({ data, mode });
const tsDirs = (dir: string) => readdirSync(dir).filter((n) => /^\.\.\d{4}_\d\d_\d\d_/.test(n));

test('the upstream layout: key -> ..data/key, ..data -> ..<timestamp>, modes applied', () => {
  const dir = path.join(root, 'layout');
  const at = new Date('2026-12-06T02:03:04Z');
  assert.equal(writeAtomic(dir, { a: f('1'), 'sub/b': f('2', 0o400) }, at), true);
  assert.equal(readlinkSync(path.join(dir, 'a')), '..data/a');
  assert.equal(readlinkSync(path.join(dir, 'sub')), '..data/sub');
  const ts = readlinkSync(path.join(dir, '..data'));
  assert.match(ts, /^\.\.2026_12_06_02_03_04\./);
  assert.deepEqual(tsDirs(dir), [ts]);
  assert.equal(readFileSync(path.join(dir, 'sub/b'), 'utf8'), '2');
  assert.equal(statSync(path.join(dir, 'sub/b')).mode & 0o777, 0o400);
  assert.equal(statSync(path.join(dir, 'a')).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(dir).sort(), ['..data', ts, 'a', 'sub'].sort());
});

test('an update swaps ..data to a new directory, removes dropped keys and the old directory', () => {
  const dir = path.join(root, 'swap');
  writeAtomic(dir, { a: f('1'), b: f('2') });
  const first = readlinkSync(path.join(dir, '..data'));
  assert.equal(writeAtomic(dir, { a: f('one'), c: f('3') }), true);
  const second = readlinkSync(path.join(dir, '..data'));
  assert.notEqual(second, first);
  assert.equal(readFileSync(path.join(dir, 'a'), 'utf8'), 'one');
  assert.equal(readFileSync(path.join(dir, 'c'), 'utf8'), '3');
  assert.throws(() => lstatSync(path.join(dir, 'b')), /ENOENT/);
  assert.deepEqual(tsDirs(dir), [second]);
  assert.ok(!readdirSync(dir).includes('..data_tmp'));
});

test('an unchanged payload writes nothing; a mode change alone is an update', () => {
  const dir = path.join(root, 'same');
  writeAtomic(dir, { a: f('1') });
  const ts = readlinkSync(path.join(dir, '..data'));
  assert.equal(writeAtomic(dir, { a: f('1') }), false);
  assert.equal(readlinkSync(path.join(dir, '..data')), ts);
  assert.equal(writeAtomic(dir, { a: f('1', 0o600) }), true);
  assert.equal(statSync(path.join(dir, 'a')).mode & 0o777, 0o600);
});

test('an empty payload (optional object missing) is an empty ..data; plain old files give way', () => {
  const dir = path.join(root, 'empty');
  writeAtomic(dir, {});
  assert.deepEqual(readdirSync(path.join(dir, '..data')), []);
  const old = path.join(root, 'old');
  writeAtomic(old, {});
  writeFileSync(path.join(old, 'k'), 'plain');
  writeAtomic(old, { k: f('linked') });
  assert.ok(lstatSync(path.join(old, 'k')).isSymbolicLink());
  assert.equal(readFileSync(path.join(old, 'k'), 'utf8'), 'linked');
});

test('paths that could leave the volume are refused', () => {
  for (const bad of ['../x', '/etc/passwd', 'a/../../x', '..data', '']) {
    assert.throws(() => writeAtomic(path.join(root, 'bad'), { [bad]: f('x') }), RangeError, bad);
  }
});
