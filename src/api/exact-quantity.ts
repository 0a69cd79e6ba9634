// Rendering of resource quantities as the metrics API and the HPA show them: the canonical forms of
// apimachinery pkg/api/resource/quantity.go (DecimalSI "12m", BinarySI "20484Ki"), plus Go
// time.Duration strings ("1.002s") as metrics windows and flags carry them. Parsing: quantity.ts.

import { decimalExponents } from './quantity.js';

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

const decimalBySuffixExp = new Map(Object.entries(decimalExponents).map(([s, e]) => [e, s]));

/** Renders mantissa × 10^exp in canonical DecimalSI form (largest SI suffix keeping an integer). */
function formatDecimal(mantissa: bigint, exp: number): string {
  if (mantissa === 0n) return '0';
  let m = mantissa;
  let e = exp;
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  let suffixExp = Math.floor(e / 3) * 3;
  if (suffixExp > 18) suffixExp = 18;
  if (suffixExp < -9) {
    // Below nano the API rounds up to nano units.
    const scaled = ceilDiv(m, 10n ** BigInt(-9 - e));
    return `${scaled}n`;
  }
  const out = m * 10n ** BigInt(e - suffixExp);
  return `${out}${decimalBySuffixExp.get(suffixExp) ?? ''}`;
}

/** Renders a CPU amount given in nanocores as the metrics API does (uint64Quantity(v, -9)): "12m", "123456n", "2". */
export function formatNanoCores(nanocores: number): string {
  return formatDecimal(BigInt(Math.max(0, Math.round(nanocores))), -9);
}

/** Renders a milli-value as a DecimalSI quantity (resource.NewMilliQuantity): 150 → "150m", 2000 → "2". */
export function formatMilli(milli: number): string {
  return formatDecimal(BigInt(Math.round(milli)), -3);
}

/** Renders bytes as a BinarySI quantity: 20975616 → "20484Ki"; below 1024 falls back to DecimalSI. */
export function formatBytes(bytes: number): string {
  const n = BigInt(Math.max(0, Math.round(bytes)));
  if (n < 1024n) return formatDecimal(n, 0);
  const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let k = 0;
  let v = n;
  while (k < suffixes.length - 1 && v % 1024n === 0n) {
    v /= 1024n;
    k++;
  }
  return `${v}${suffixes[k]}`;
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration ("1.002s", "1m0s", "500ms") into milliseconds. */
export function parseGoDuration(text: string): number {
  const re = /(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * (durationUnits[m[2] ?? 's'] ?? 0);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.length)
    throw new SyntaxError(`Invalid duration "${text}"`);
  return total;
}

/** Renders a duration the way Go's time.Duration.String() does: "1.002s", "500ms", "1m0s". */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const trim = (n: number) => n.toFixed(6).replace(/\.?0+$/, '');
  if (ms < 1000) return `${trim(ms)}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = trim((ms % 60_000) / 1000);
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
