// Revision helpers shared by the store drivers: read-revision checks, prefix ranges, and choosing
// and scheduling compaction (kine compacts every 5 minutes, keeping recent revisions).

import type { Clock, Timer } from '../lib/clock.js';
import { realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import {
  type Backend,
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyNotFoundError,
  type KeyValue,
} from './backend.js';

/** Throws CompactedError / FutureRevisionError unless revision is answerable. */
export function checkReadRevision(revision: number, current: number, compacted: number): void {
  if (revision < compacted) throw new CompactedError(revision, compacted);
  if (revision > current) throw new FutureRevisionError(revision, current);
}

/**
 * The current value an update or delete of `key` replaces: KeyNotFoundError when there is none,
 * ConflictError when `expectedModRevision` is given and is not its modRevision.
 */
export function checkWriteRevision(
  key: string,
  current: KeyValue | undefined,
  expectedModRevision: number | undefined,
): KeyValue {
  if (!current) throw new KeyNotFoundError(key);
  if (expectedModRevision !== undefined && current.modRevision !== expectedModRevision) {
    throw new ConflictError(key, current);
  }
  return current;
}

/** The smallest string greater than every key starting with prefix (byte order for ASCII keys). */
export function prefixEnd(prefix: string): string {
  // U+10FFFF encodes to the largest UTF-8 sequence, so it sorts after any key in SQLite's BINARY
  // collation as well as in JS code-unit order for the keys Skiff uses.
  if (prefix === '') return '\u{10FFFF}';
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

/** Default number of newest revisions compaction keeps. */
export const defaultRetainRevisions = 10_000;
/** Default compaction period (kine: 5 minutes). */
export const defaultCompactIntervalMs = 5 * 60_000;

/**
 * Picks the revision to compact to: keep the newest `retainRevisions` revisions and everything
 * newer than `notAfter` (the revision current one interval ago); undefined when nothing to do.
 */
export function pickCompactRevision(opts: {
  current: number;
  compacted: number;
  retainRevisions?: number;
  notAfter?: number;
}): number | undefined {
  let target = opts.current - (opts.retainRevisions ?? defaultRetainRevisions);
  if (opts.notAfter !== undefined) target = Math.min(target, opts.notAfter);
  return target > opts.compacted ? target : undefined;
}

/** Options for startCompactor. */
export interface CompactorOptions {
  clock?: Clock;
  intervalMs?: number;
  retainRevisions?: number;
  logger?: Logger;
}

/**
 * Compacts backend every interval, never past the revision that was current one interval earlier
 * (so watchers get at least that long to catch up) nor into the newest retained revisions.
 * Returns a stop function.
 */
export function startCompactor(backend: Backend, opts: CompactorOptions = {}): () => void {
  const clock = opts.clock ?? realClock;
  const intervalMs = opts.intervalMs ?? defaultCompactIntervalMs;
  const log = opts.logger ?? createLogger({ component: 'store-compactor' });
  let previous = backend.currentRevision();
  let timer: Timer | undefined;
  const tick = () => {
    const target = pickCompactRevision({
      current: backend.currentRevision(),
      compacted: backend.compactRevision(),
      retainRevisions: opts.retainRevisions,
      notAfter: previous,
    });
    previous = backend.currentRevision();
    if (target !== undefined) {
      try {
        backend.compact(target);
        log.debug('Compacted store', { revision: target });
      } catch (err) {
        log.error('Cannot compact store', { revision: target, err: errorMessage(err) });
      }
    }
    timer = clock.setTimeout(tick, intervalMs);
  };
  timer = clock.setTimeout(tick, intervalMs);
  return () => timer?.cancel();
}
