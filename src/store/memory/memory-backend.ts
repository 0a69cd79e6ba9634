// In-memory store driver for unit tests: the same revision-log semantics as the SQLite driver
// (k3s-io/kine pkg/server), kept as per-key histories plus an event log for watch backlogs.

import type { Logger } from '../../lib/log.js';
import {
  type Backend,
  CompactedError,
  FutureRevisionError,
  KeyExistsError,
  type KeyValue,
  type StoreEvent,
  type WatchHandle,
} from '../backend.js';
import { Broadcaster } from '../broadcaster.js';
import { checkReadRevision, checkWriteRevision } from '../revisions.js';

/** Options for MemoryBackend. */
export interface MemoryBackendOptions {
  /** Where failing watch callbacks are reported. */
  logger?: Logger;
}

/** One revision of one key; a tombstone keeps the last value (as kine does). */
interface Row {
  readonly kv: KeyValue;
  readonly isDeleted: boolean;
}

/**
 * A Backend held in memory.
 *
 * Invariants:
 * 1. Every write takes exactly the next revision; histories and the event log are in revision order.
 * 2. `#history` holds, per key, every row newer than the compact revision plus the newest row at or
 *    below it (unless that one is a tombstone), so a list at any revision ≥ compact is exact.
 * 3. `#events` holds every event newer than the compact revision.
 */
export class MemoryBackend implements Backend {
  #revision = 0;
  #compacted = 0;
  #history = new Map<string, Row[]>();
  #events: StoreEvent[] = [];
  #broadcaster: Broadcaster;

  constructor(options: MemoryBackendOptions = {}) {
    this.#broadcaster = new Broadcaster({ logger: options.logger });
  }

  currentRevision(): number {
    return this.#revision;
  }

  compactRevision(): number {
    return this.#compacted;
  }

  get(key: string): KeyValue | undefined {
    const row = this.#history.get(key)?.at(-1);
    return row && !row.isDeleted ? row.kv : undefined;
  }

  list(prefix: string, opts: { revision?: number } = {}): { revision: number; items: KeyValue[] } {
    const revision = opts.revision ?? this.#revision;
    checkReadRevision(revision, this.#revision, this.#compacted);
    const keys: string[] = [];
    for (const key of this.#history.keys()) if (key.startsWith(prefix)) keys.push(key);
    keys.sort();
    const items: KeyValue[] = [];
    for (const key of keys) {
      const row = rowAt(this.#history.get(key)!, revision);
      if (row && !row.isDeleted) items.push(row.kv);
    }
    return { revision, items };
  }

  create(key: string, value: string): KeyValue {
    if (this.get(key)) throw new KeyExistsError(key);
    const rev = this.#revision + 1;
    const kv: KeyValue = { key, value, createRevision: rev, modRevision: rev };
    this.#append(key, { kv, isDeleted: false }, { type: 'create', kv });
    return kv;
  }

  update(key: string, value: string, expectedModRevision: number): KeyValue {
    const current = checkWriteRevision(key, this.get(key), expectedModRevision);
    const kv: KeyValue = {
      key,
      value,
      createRevision: current.createRevision,
      modRevision: this.#revision + 1,
    };
    this.#append(key, { kv, isDeleted: false }, { type: 'update', kv, prevKv: current });
    return kv;
  }

  delete(key: string, expectedModRevision?: number): KeyValue {
    const current = checkWriteRevision(key, this.get(key), expectedModRevision);
    const kv: KeyValue = { ...current, modRevision: this.#revision + 1 };
    this.#append(key, { kv, isDeleted: true }, { type: 'delete', kv, prevKv: current });
    return kv;
  }

  watch(prefix: string, fromRevision: number, onEvent: (ev: StoreEvent) => void): WatchHandle {
    if (fromRevision < this.#compacted) throw new CompactedError(fromRevision, this.#compacted);
    // Reading the backlog and subscribing happen in one synchronous step: no write can fall
    // between them, so the watcher sees no gap and no duplicate.
    const start = firstAfter(this.#events, fromRevision);
    const backlog: StoreEvent[] = [];
    for (let i = start; i < this.#events.length; i++) {
      const ev = this.#events[i]!;
      if (ev.kv.key.startsWith(prefix)) backlog.push(ev);
    }
    return this.#broadcaster.subscribe({
      prefix,
      afterRevision: Math.max(fromRevision, this.#revision),
      backlog,
      onEvent,
    });
  }

  compact(revision: number): void {
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision <= this.#compacted) return;
    for (const [key, rows] of this.#history) {
      // Keep the newest row at or below the compact revision (unless it is a tombstone) and
      // everything newer: exactly what kine's compaction leaves behind.
      let keep = 0;
      for (let i = rows.length - 1; i >= 0; i--) {
        if (rows[i]!.kv.modRevision <= revision) {
          keep = rows[i]!.isDeleted ? i + 1 : i;
          break;
        }
      }
      if (keep > 0) rows.splice(0, keep);
      if (rows.length === 0) this.#history.delete(key);
    }
    this.#events.splice(0, firstAfter(this.#events, revision));
    this.#compacted = revision;
  }

  close(): void {
    this.#broadcaster.closeAll();
  }

  #append(key: string, row: Row, ev: StoreEvent): void {
    this.#revision = row.kv.modRevision;
    let rows = this.#history.get(key);
    if (!rows) {
      rows = [];
      this.#history.set(key, rows);
    }
    rows.push(row);
    this.#events.push(ev);
    this.#broadcaster.publish(ev);
  }
}

/** The newest row at or below revision (rows are in revision order). */
function rowAt(rows: Row[], revision: number): Row | undefined {
  for (let i = rows.length - 1; i >= 0; i--) {
    if (rows[i]!.kv.modRevision <= revision) return rows[i];
  }
  return undefined;
}

/** Index of the first event with revision > revision (binary search). */
function firstAfter(events: StoreEvent[], revision: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.kv.modRevision <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
