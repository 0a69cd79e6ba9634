// The pod-template-hash: fnv32a over the template (+ collisionCount), rendered with the
// safe-encode alphabet (kubernetes pkg/controller/controller_utils.go ComputeHash, apimachinery
// util/rand SafeEncodeString). Upstream hashes Go's deep print of the struct; we hash canonical JSON.
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';

// Consonants and digits that cannot spell words (apimachinery util/rand alphanums).
const alphanums = 'bcdfghjklmnpqrstvwxz2456789';

/** Maps each character onto the safe alphabet (upstream SafeEncodeString). */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += alphanums[s.charCodeAt(i) % alphanums.length];
  return out;
}

/** JSON with object keys sorted, so equal templates hash equally whatever their key order. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJSON(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Computes the pod-template-hash of a template, e.g. "75675f5897".
 * @example
 * computeHash(deploy.spec.template, deploy.status?.collisionCount)
 */
export function computeHash(
  template: PodTemplateSpec | undefined,
  collisionCount?: number,
): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJSON(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const le = new Uint8Array(4);
    new DataView(le.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(le, h);
  }
  return safeEncodeString(String(h));
}
