// Tests of the host-wide range locks: who holds a range is told, all-or-none, and kill -9 frees it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { lockRanges, type RangeClaim, RangeInUseError, rangeLockName } from './host-lock.js';

/** A range no other test (nor a running cluster) claims: the lock is host-wide. */
function uniqueClaim(what = 'pod CIDR'): RangeClaim {
  const b = randomBytes(2);
  return { what, cidr: `10.${b[0]}.${b[1]}.0/24-test-${process.pid}`, flag: '--pod-cidr' };
}

test('a held range is refused with the holder pid and data dir; free again once released', async () => {
  const claim = uniqueClaim();
  const release = await lockRanges([claim], { pid: 4242, dataDir: '/tmp/first' });
  const err = await lockRanges([claim], { pid: process.pid, dataDir: '/tmp/second' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof RangeInUseError);
  assert.equal(
    err.message,
    `pod CIDR ${claim.cidr} is in use by skiff (pid 4242, data dir "/tmp/first"): stop it with "skiff down" or pick another --pod-cidr`,
  );
  assert.deepEqual(err.holder, { pid: 4242, dataDir: '/tmp/first' });
  await release();
  const again = await lockRanges([claim], { pid: process.pid, dataDir: '/tmp/second' });
  await again();
});

test('all or none: a refused claim releases the ones taken before it', async () => {
  const free = uniqueClaim();
  const taken = uniqueClaim('service CIDR');
  const holder = await lockRanges([taken], { pid: 1, dataDir: '/a' });
  await assert.rejects(lockRanges([free, taken], { pid: 2, dataDir: '/b' }), {
    name: 'RangeInUseError',
    message: /^service CIDR .* is in use by skiff \(pid 1, data dir "\/a"\)/,
  });
  const mine = await lockRanges([free], { pid: 3, dataDir: '/c' });
  await mine();
  await holder();
});

test('a holder killed with SIGKILL leaves no lock behind', async () => {
  const claim = uniqueClaim();
  // A holder that does not answer (as an older Skiff would not): the message still says who.
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(rangeLockName(claim.cidr))}, () => console.log('held'))`,
  ]);
  await new Promise((r) => child.stdout.once('data', r));
  await assert.rejects(lockRanges([claim], { pid: 1, dataDir: '/x' }), (e: unknown) => {
    assert.ok(e instanceof RangeInUseError);
    assert.equal(e.holder, undefined);
    assert.match(e.message, /is in use by another skiff process/);
    return true;
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const release = await lockRanges([claim], { pid: 1, dataDir: '/x' });
  await release();
});
