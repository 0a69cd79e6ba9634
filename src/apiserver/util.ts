// Small helpers of the API server's storage: random name suffixes and uids.
import { randomBytes, randomUUID } from 'node:crypto';

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
