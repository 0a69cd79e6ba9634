// Runs the store conformance suite against the SQLite driver, plus persistence checks.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runBackendConformance } from '../conformance.js';
import { DEFAULT_CACHE_KIB, SqliteBackend } from './sqlite-backend.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `db-${++n}.sqlite`);

runBackendConformance('SqliteBackend', () => new SqliteBackend({ path: freshPath() }));

describe('SqliteBackend persistence', () => {
  test("SQLite's page cache is capped at 2 MiB, not better-sqlite3's 16 MB default", () => {
    const b = new SqliteBackend({ path: freshPath() });
    const small = new SqliteBackend({ path: freshPath(), cacheKiB: 512 });
    try {
      assert.equal(DEFAULT_CACHE_KIB, 2048);
      assert.equal(b.pageCacheKiB(), 2048);
      assert.equal(small.pageCacheKiB(), 512);
    } finally {
      b.close();
      small.close();
    }
  });

  test('reopening the file keeps data, revision and compact revision', () => {
    const path = freshPath();
    const b1 = new SqliteBackend({ path });
    const a = b1.create('/a', '1');
    b1.update('/a', '2', a.modRevision);
    b1.create('/b', 'x');
    b1.delete('/b');
    b1.compact(b1.currentRevision());
    const rev = b1.currentRevision();
    b1.close();

    const b2 = new SqliteBackend({ path });
    try {
      // The newest row (the /b tombstone) was compacted away; the revision must not go back.
      assert.equal(b2.currentRevision(), rev);
      assert.equal(b2.compactRevision(), rev);
      assert.equal(b2.get('/a')?.value, '2');
      assert.equal(b2.get('/a')?.createRevision, a.createRevision);
      assert.equal(b2.get('/b'), undefined);
      assert.equal(b2.create('/c', 'y').modRevision, rev + 1);
    } finally {
      b2.close();
    }
  });

  test('a write acknowledged before kill -9 is there after reopen', () => {
    const path = freshPath();
    const driver = fileURLToPath(new URL('./sqlite-backend.ts', import.meta.url));
    // The child writes, prints the revision (the acknowledgement), then dies without closing.
    const script = `
      import { SqliteBackend } from ${JSON.stringify(driver)};
      const b = new SqliteBackend({ path: ${JSON.stringify(path)} });
      let kv = b.create('/k', '0');
      for (let i = 1; i < 50; i++) kv = b.update('/k', String(i), kv.modRevision);
      process.stdout.write(String(kv.modRevision), () => process.kill(process.pid, 'SIGKILL'));
    `;
    const res = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    const acked = Number(res.stdout);
    assert.equal(acked, 50);
    const b = new SqliteBackend({ path });
    try {
      assert.equal(b.currentRevision(), acked);
      assert.equal(b.get('/k')?.value, '49');
    } finally {
      b.close();
    }
  });

  test('watch backlog after reopen carries prevKv', () => {
    const path = freshPath();
    const b1 = new SqliteBackend({ path });
    const a = b1.create('/a', '1');
    b1.update('/a', '2', a.modRevision);
    b1.close();
    const b2 = new SqliteBackend({ path });
    try {
      const seen: string[] = [];
      const h = b2.watch('/', 0, (ev) =>
        seen.push(`${ev.type}:${ev.kv.value}:${ev.prevKv?.value}`),
      );
      h.close();
      assert.deepEqual(seen, ['create:1:undefined', 'update:2:1']);
    } finally {
      b2.close();
    }
  });
});
