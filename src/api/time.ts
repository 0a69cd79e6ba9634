// metav1.Time on the wire: RFC 3339 with second precision, the one formatter every layer uses.

/**
 * RFC 3339 with second precision, as metav1.Time serializes (fractions are dropped).
 * @example
 * rfc3339(Date.UTC(2026, 0, 1, 12, 0, 0, 750)); // "2026-01-01T12:00:00Z"
 */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
