// SQLite store driver: one revision log table, as k3s-io/kine pkg/drivers/sqlite/sqlite.go and
// docs/flow.md (id = revision, unique (name, prev_revision), newest row = current value).

import Database from 'better-sqlite3';
import type { Logger } from '../../lib/log.js';
import {
  type Backend,
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  type KeyValue,
  type StoreEvent,
  type WatchHandle,
} from '../backend.js';
import { Broadcaster } from '../broadcaster.js';
import { checkReadRevision, checkWriteRevision, prefixEnd } from '../revisions.js';

/** Options for SqliteBackend. */
export interface SqliteBackendOptions {
  /** Database file (created when missing); ':memory:' works for throwaway stores. */
  path: string;
  /** Where failing watch callbacks are reported. */
  logger?: Logger;
  /** SQLite's page cache in KiB (default DEFAULT_CACHE_KIB). */
  cacheKiB?: number;
}

/**
 * SQLite's page cache per connection. better-sqlite3 builds SQLite with a 16 MB default (SQLite's
 * own is 2 MB), and under pod churn the revision log grows past that within minutes, so the cache
 * filled to 16 MB of malloc'ed pages: most of skiff up's native heap growth in a soak (issue #18).
 * Pages it no longer holds come from the kernel's page cache at a read(2) each, which a local file
 * of a one-node cluster serves in microseconds.
 */
export const DEFAULT_CACHE_KIB = 2048;

// kine's marker row; its prev_revision holds the compact revision. It lives at id 0 so it never
// takes a revision number and every list/watch query skips it with `id > 0`.
const compactKey = 'compact_rev_key';

const schema = `
CREATE TABLE IF NOT EXISTS kine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name, id);
CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id, deleted);
CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex ON kine (name, prev_revision);
INSERT OR IGNORE INTO kine (id, name, created, deleted, create_revision, prev_revision, value)
  VALUES (0, '${compactKey}', 0, 0, 0, 0, '');
`;

interface Row {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: string;
}

interface EventRow extends Row {
  p_id: number | null;
  p_created: number | null;
  p_create_revision: number | null;
  p_value: string | null;
}

const columns = 'id, name, created, deleted, create_revision, prev_revision, value';

/**
 * A Backend persisted in one SQLite file.
 *
 * Guarantees:
 * 1. Each write is one INSERT committed before the call returns; its row id is the new revision.
 * 2. Revisions never go backwards across restarts (AUTOINCREMENT never reuses ids, even after
 *    compaction deleted the newest rows).
 * 3. Watch events come straight from the write calls (this process is the only writer), after
 *    the backlog read from the table in the same synchronous step.
 */
export class SqliteBackend implements Backend {
  #db: Database.Database;
  #revision: number;
  #compacted: number;
  #broadcaster: Broadcaster;
  #stmt: ReturnType<typeof prepare>;

  constructor(options: SqliteBackendOptions) {
    this.#db = new Database(options.path);
    // WAL with synchronous=NORMAL: a commit is in the WAL file (in the OS page cache) before the
    // call returns, so a process crash or `kill -9` loses nothing acknowledged; only a power
    // failure could drop the newest transactions, which is acceptable for a one-machine cluster
    // and keeps each write at one write(2) with no fsync.
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    // Negative: a size in KiB rather than in pages.
    this.#db.pragma(`cache_size = -${options.cacheKiB ?? DEFAULT_CACHE_KIB}`);
    this.#db.exec(schema);
    this.#stmt = prepare(this.#db);
    const seq = this.#stmt.sequence.get() as { seq: number } | undefined;
    this.#revision = seq?.seq ?? 0;
    const marker = this.#stmt.compactRev.get() as { prev_revision: number };
    this.#compacted = marker.prev_revision;
    this.#broadcaster = new Broadcaster({ logger: options.logger });
  }

  /** The connection's page cache limit in KiB (as set from cacheKiB). */
  pageCacheKiB(): number {
    const size = this.#db.pragma('cache_size', { simple: true }) as number;
    // SQLite reports a KiB limit as a negative number, a page count as a positive one.
    return size < 0
      ? -size
      : (size * (this.#db.pragma('page_size', { simple: true }) as number)) / 1024;
  }

  currentRevision(): number {
    return this.#revision;
  }

  compactRevision(): number {
    return this.#compacted;
  }

  get(key: string): KeyValue | undefined {
    const row = this.#stmt.latest.get(key) as Row | undefined;
    return row && !row.deleted ? toKeyValue(row) : undefined;
  }

  list(prefix: string, opts: { revision?: number } = {}): { revision: number; items: KeyValue[] } {
    const revision = opts.revision ?? this.#revision;
    checkReadRevision(revision, this.#revision, this.#compacted);
    const rows = this.#stmt.list.all({ lo: prefix, hi: prefixEnd(prefix), rev: revision }) as Row[];
    return { revision, items: rows.map(toKeyValue) };
  }

  create(key: string, value: string): KeyValue {
    const latest = this.#stmt.latest.get(key) as Row | undefined;
    if (latest && !latest.deleted) throw new KeyExistsError(key);
    // A re-create points at the tombstone, so a concurrent second create hits the unique index.
    const rev = this.#insert(
      key,
      { created: 1, deleted: 0, createRev: 0, prev: latest?.id ?? 0, value },
      () => new KeyExistsError(key),
    );
    const kv: KeyValue = { key, value, createRevision: rev, modRevision: rev };
    this.#broadcaster.publish({ type: 'create', kv });
    return kv;
  }

  update(key: string, value: string, expectedModRevision: number): KeyValue {
    const current = checkWriteRevision(key, this.get(key), expectedModRevision);
    return this.#replace('update', current, value);
  }

  delete(key: string, expectedModRevision?: number): KeyValue {
    const current = checkWriteRevision(key, this.get(key), expectedModRevision);
    // The tombstone keeps the last value, so watchers get the deleted object (kine does the same).
    return this.#replace('delete', current, current.value);
  }

  /** Writes the row after `current` (a new value, or a tombstone) and tells the watchers. */
  #replace(type: 'update' | 'delete', current: KeyValue, value: string): KeyValue {
    const { key, createRevision } = current;
    const row = {
      created: 0,
      deleted: type === 'delete' ? 1 : 0,
      createRev: createRevision,
      prev: current.modRevision,
      value,
    };
    const rev = this.#insert(key, row, () => new ConflictError(key, this.get(key)));
    const kv: KeyValue = { key, value, createRevision, modRevision: rev };
    this.#broadcaster.publish({ type, kv, prevKv: current });
    return kv;
  }

  watch(prefix: string, fromRevision: number, onEvent: (ev: StoreEvent) => void): WatchHandle {
    if (fromRevision < this.#compacted) throw new CompactedError(fromRevision, this.#compacted);
    // Backlog read and subscription in one synchronous step: no write can land in between.
    const rows = this.#stmt.after.all({
      from: fromRevision,
      lo: prefix,
      hi: prefixEnd(prefix),
    }) as EventRow[];
    return this.#broadcaster.subscribe({
      prefix,
      afterRevision: Math.max(fromRevision, this.#revision),
      backlog: rows.map(toEvent),
      onEvent,
    });
  }

  compact(revision: number): void {
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision <= this.#compacted) return;
    const from = this.#compacted;
    this.#db.transaction(() => {
      this.#stmt.compact.run({ from, to: revision });
      this.#stmt.setCompactRev.run(revision);
    })();
    this.#compacted = revision;
  }

  close(): void {
    this.#broadcaster.closeAll();
    if (this.#db.open) this.#db.close();
  }

  #insert(
    key: string,
    row: { created: number; deleted: number; createRev: number; prev: number; value: string },
    onUnique: () => Error,
  ): number {
    let rev: number;
    try {
      const info = this.#stmt.insert.run(
        key,
        row.created,
        row.deleted,
        row.createRev,
        row.prev,
        row.value,
      );
      rev = Number(info.lastInsertRowid);
    } catch (err) {
      // The unique (name, prev_revision) index rejects a lost update from another writer.
      if (err instanceof Error && 'code' in err && err.code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw onUnique();
      }
      throw err;
    }
    this.#revision = rev;
    return rev;
  }
}

function prepare(db: Database.Database) {
  return {
    sequence: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kine'`),
    compactRev: db.prepare(`SELECT prev_revision FROM kine WHERE id = 0`),
    setCompactRev: db.prepare(`UPDATE kine SET prev_revision = ? WHERE id = 0`),
    latest: db.prepare(
      `SELECT ${columns} FROM kine WHERE name = ? AND id > 0 ORDER BY id DESC LIMIT 1`,
    ),
    list: db.prepare(
      `SELECT kv.id, kv.name, kv.created, kv.deleted, kv.create_revision, kv.prev_revision, kv.value
       FROM kine AS kv JOIN (
         SELECT MAX(id) AS id FROM kine WHERE name >= @lo AND name < @hi AND id <= @rev AND id > 0
         GROUP BY name) AS m ON m.id = kv.id
       WHERE kv.deleted = 0 ORDER BY kv.name`,
    ),
    after: db.prepare(
      `SELECT kv.id, kv.name, kv.created, kv.deleted, kv.create_revision, kv.prev_revision, kv.value,
         p.id AS p_id, p.created AS p_created, p.create_revision AS p_create_revision, p.value AS p_value
       FROM kine AS kv LEFT JOIN kine AS p ON p.id = kv.prev_revision AND kv.prev_revision > 0
       WHERE kv.id > @from AND kv.name >= @lo AND kv.name < @hi ORDER BY kv.id`,
    ),
    insert: db.prepare(
      `INSERT INTO kine (name, created, deleted, create_revision, prev_revision, value)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    // kine's compaction: drop rows superseded at or below the compact revision, and tombstones.
    // Only rows in (previous compact, new compact] need scanning; older ones were handled before.
    compact: db.prepare(
      `DELETE FROM kine WHERE id IN (
         SELECT prev_revision FROM kine WHERE id > @from AND id <= @to AND prev_revision > 0
         UNION SELECT id FROM kine WHERE id > @from AND id <= @to AND deleted != 0)`,
    ),
  };
}

function toKeyValue(row: Row): KeyValue {
  return {
    key: row.name,
    value: row.value,
    // kine stores 0 for a create row: its create revision is its own id.
    createRevision: row.created ? row.id : row.create_revision,
    modRevision: row.id,
  };
}

function toEvent(row: EventRow): StoreEvent {
  const kv = toKeyValue(row);
  if (row.created) return { type: 'create', kv };
  const prevKv =
    row.p_id === null
      ? undefined
      : {
          key: row.name,
          value: row.p_value ?? '',
          createRevision: row.p_created ? row.p_id : (row.p_create_revision ?? 0),
          modRevision: row.p_id,
        };
  return { type: row.deleted ? 'delete' : 'update', kv, prevKv };
}
