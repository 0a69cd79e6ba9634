// Resource quantities as the metrics API and the HPA use them: exact parsing to milli-units and the
// canonical rendering of apimachinery pkg/api/resource/quantity.go (DecimalSI "12m", BinarySI "20484Ki"),
// plus Go time.Duration strings ("1.002s") as metrics windows and flags carry them.

const decimalSuffixes: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** A quantity as an exact rational: mantissa × 10^exp10 × 2^exp2. */
interface Exact {
  mantissa: bigint;
  exp10: number;
  exp2: number;
}

const quantityRe =
  /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

function parseExact(text: string): Exact {
  const m = quantityRe.exec(text.trim());
  if (!m) throw new SyntaxError(`Invalid quantity "${text}"`);
  const num = m[1] ?? '0';
  const [intPart = '', fracPart = ''] = num.replace(/^[+]/, '').split('.');
  const mantissa = BigInt(`${intPart}${fracPart}` || '0');
  let exp10 = -fracPart.length;
  let exp2 = 0;
  if (m[2]) exp10 += Number(m[2].slice(1));
  else if (m[3]) {
    const bin = binarySuffixes[m[3]];
    if (bin !== undefined) exp2 = bin;
    else exp10 += decimalSuffixes[m[3]] ?? 0;
  }
  return { mantissa, exp10, exp2 };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

/** Scales an exact quantity to an integer number of 10^scale units, rounding up (as AsScale/MilliValue). */
function toScaled(q: Exact, scale: number): bigint {
  let num = q.mantissa * 2n ** BigInt(q.exp2);
  const shift = q.exp10 - scale;
  if (shift >= 0) return num * 10n ** BigInt(shift);
  num = ceilDiv(num, 10n ** BigInt(-shift));
  return num;
}

/** Parses a quantity ("100m", "1.5Gi", "2e3", "123456n") into a floating value in base units. */
export function parseQuantity(text: string): number {
  const q = parseExact(text);
  return Number(q.mantissa) * 10 ** q.exp10 * 2 ** q.exp2;
}

/** The quantity in milli-units rounded up, as resource.Quantity.MilliValue() (CPU "100m" → 100). */
export function milliValue(text: string): number {
  return Number(toScaled(parseExact(text), -3));
}

/** The quantity in nano-units rounded up (CPU "12m" → 12000000). */
export function nanoValue(text: string): number {
  return Number(toScaled(parseExact(text), -9));
}

/** The quantity in whole units rounded up, as resource.Quantity.Value() (memory "1Ki" → 1024). */
export function wholeValue(text: string): number {
  return Number(toScaled(parseExact(text), 0));
}

const decimalBySuffixExp = new Map(Object.entries(decimalSuffixes).map(([s, e]) => [e, s]));

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
