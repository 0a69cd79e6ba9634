// Pure statistics for `skiff load`: exact latency percentiles (nearest rank, like ab's table but
// in fractional milliseconds), the connection-times summary, and the pod name a reply ends with.

/** The percentiles ab prints, in its order. */
export const AB_PERCENTILES = [50, 66, 75, 80, 90, 95, 98, 99, 100] as const;

/** Summary of a latency sample in milliseconds. */
export interface LatencySummary {
  min: number;
  mean: number;
  /** Sample standard deviation (n - 1), as ab's "[+/-sd]". */
  sd: number;
  median: number;
  max: number;
  /** Percentile → latency in ms, for AB_PERCENTILES. */
  percentiles: Record<string, number>;
}

/**
 * Sorts the first `count` latencies in place and summarises them; undefined when count is 0.
 * Percentiles use the nearest-rank method, so every value is one that was really measured.
 */
export function summarizeLatencies(
  latencies: Float64Array,
  count: number,
): LatencySummary | undefined {
  if (count <= 0) return undefined;
  const sorted = latencies.subarray(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i] ?? 0;
  const mean = sum / count;
  let sq = 0;
  for (let i = 0; i < count; i++) {
    const d = (sorted[i] ?? 0) - mean;
    sq += d * d;
  }
  const percentiles: Record<string, number> = {};
  for (const p of AB_PERCENTILES) percentiles[String(p)] = percentile(sorted, p);
  return {
    min: sorted[0] ?? 0,
    mean,
    sd: count > 1 ? Math.sqrt(sq / (count - 1)) : 0,
    median: percentile(sorted, 50),
    max: sorted[count - 1] ?? 0,
    percentiles,
  };
}

/** The p-th percentile (0 < p ≤ 100) of an ascending array by nearest rank. */
export function percentile(sorted: Float64Array | readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1] ?? Number.NaN;
}

// A DNS-1123 subdomain (what a pod name is); requiring lowercase keeps "Hello World" out.
const podNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The pod name a reply ends with (the seed app answers "Hello, my first docker images! <pod>"),
 * or undefined when the last word does not look like a Kubernetes object name.
 */
export function trailingPodName(body: string): string | undefined {
  const trimmed = body.trimEnd();
  const at = Math.max(
    trimmed.lastIndexOf(' '),
    trimmed.lastIndexOf('\n'),
    trimmed.lastIndexOf('\t'),
    trimmed.lastIndexOf('>'),
  );
  const word = trimmed.slice(at + 1);
  if (word.length === 0 || word.length > 253 || !word.includes('-')) return undefined;
  return podNamePattern.test(word) ? word : undefined;
}
