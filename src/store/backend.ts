// The storage contract (kine-shaped): one revision log, compare-and-swap on modRevision, list at a
// revision, watch from a revision. Follows k3s-io/kine pkg/server/types.go. Operations are
// synchronous (better-sqlite3 is synchronous); watch delivers events through a callback.

/** One stored key at one revision. `value` is the serialized object (JSON text). */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Revision at which the key was (last) created. */
  readonly createRevision: number;
  /** Revision of the last change; the object's resourceVersion. */
  readonly modRevision: number;
}

/** A change delivered to watchers. For 'delete', kv holds the last value and modRevision is the delete revision. */
export interface StoreEvent {
  readonly type: 'create' | 'update' | 'delete';
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

/** Handle for an open watch. */
export interface WatchHandle {
  close(): void;
}

/** The storage backend every driver implements; the conformance suite (conformance.ts) is the spec. */
export interface Backend {
  /** Revision of the newest change (0 for an empty store). */
  currentRevision(): number;
  /** Oldest revision still answerable by list/watch. */
  compactRevision(): number;
  get(key: string): KeyValue | undefined;
  /** Keys with the prefix, in key order, as of `revision` (default: current). Throws CompactedError / FutureRevisionError. */
  list(prefix: string, opts?: { revision?: number }): { revision: number; items: KeyValue[] };
  /** Throws KeyExistsError when the key exists. */
  create(key: string, value: string): KeyValue;
  /** Compare-and-swap: throws ConflictError when modRevision differs, KeyNotFoundError when absent. */
  update(key: string, value: string, expectedModRevision: number): KeyValue;
  /** Deletes (CAS when expectedModRevision is given); returns the deleted value with the delete revision. */
  delete(key: string, expectedModRevision?: number): KeyValue;
  /**
   * Delivers every change under prefix with revision > fromRevision, first the backlog, then live,
   * in revision order. Throws CompactedError when fromRevision < compactRevision().
   * The backlog is delivered synchronously before watch() returns; live events synchronously from
   * the write call (a write made inside a callback is delivered right after the current event).
   */
  watch(prefix: string, fromRevision: number, onEvent: (ev: StoreEvent) => void): WatchHandle;
  /** Forgets history before revision (the current value of every key is kept). */
  compact(revision: number): void;
  close(): void;
}

/** The key already exists (kine ErrKeyExists). */
export class KeyExistsError extends Error {
  constructor(readonly key: string) {
    super(`Key exists: "${key}"`);
    this.name = 'KeyExistsError';
  }
}

/** The key does not exist. */
export class KeyNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`Key not found: "${key}"`);
    this.name = 'KeyNotFoundError';
  }
}

/** The expected revision did not match; carries the current value. */
export class ConflictError extends Error {
  constructor(
    readonly key: string,
    readonly current: KeyValue | undefined,
  ) {
    super(`Revision mismatch for "${key}"`);
    this.name = 'ConflictError';
  }
}

/** The requested revision was compacted (kine ErrCompacted) → 410 Gone / Expired. */
export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super(`Revision ${requested} is compacted (oldest available ${compacted})`);
    this.name = 'CompactedError';
  }
}

/** The requested revision is newer than the store (kine ErrFutureRev). */
export class FutureRevisionError extends Error {
  constructor(
    readonly requested: number,
    readonly current: number,
  ) {
    super(`Revision ${requested} is in the future (current ${current})`);
    this.name = 'FutureRevisionError';
  }
}
