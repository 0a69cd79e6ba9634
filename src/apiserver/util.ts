// Small helpers shared by the API server's handlers: deep equality, timestamps, random names, uids.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../lib/clock.js';

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** RFC3339 with second precision, as metav1.Time serializes ("2026-01-01T00:00:00Z"). */
export function rfc3339(clock: Clock, offsetMs = 0): string {
  return new Date(clock.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC3339 with microseconds, as metav1.MicroTime serializes. */
export function rfc3339Micro(clock: Clock): string {
  return new Date(clock.now()).toISOString().replace(/Z$/, '000Z');
}

// The alphabet upstream uses for generated names (k8s.io/apimachinery/pkg/util/rand): no vowels,
// no confusable characters, so random suffixes never spell words.
const alphanums = 'bcdfghjklmnpqrstvwxz2456789';

/** n random characters from upstream's name alphabet. */
export function randomSuffix(n = 5): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphanums[bytes[i]! % alphanums.length];
  return s;
}

/** A v4 UUID. */
export function newUid(): string {
  return randomUUID();
}

/** True for a plain JSON object (not an array or null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
