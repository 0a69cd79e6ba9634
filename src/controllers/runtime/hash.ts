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

/**
 * JSON with object keys sorted and zero values dropped (null, [], {}), so templates that Go would
 * decode to equal structs compare and hash equally — e.g. kubectl's `creationTimestamp: null`
 * (upstream compares with apiequality.Semantic.DeepEqual, where nil and empty are equal).
 */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(prune(v)) ?? 'null';
}

function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map((x) => prune(x) ?? null) : undefined;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = prune((v as Record<string, unknown>)[k]);
      if (x !== undefined) out[k] = x;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v === null ? undefined : v;
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
