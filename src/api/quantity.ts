// Kubernetes resource quantities ("100m", "64Mi", "1.5Gi", "1e3"): the one parser, exact (a rational
// mantissa × 10^a × 2^b as apimachinery pkg/api/resource/quantity.go keeps it) with float and
// rounded-up integer views. Rendering lives in exact-quantity.ts.

/** Decimal SI suffixes and their powers of ten (the empty suffix is 10^0). */
export const decimalExponents: Readonly<Record<string, number>> = {
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
const binaryExponents: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

// sign, digits with optional fraction, then a suffix (binary, decimal or exponent).
const quantityRE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** Upstream's ErrFormatWrong text, which validation messages quote. */
export const quantityFormatError =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** A quantity as an exact rational: mantissa × 10^exp10 × 2^exp2. */
export interface ExactQuantity {
  mantissa: bigint;
  exp10: number;
  exp2: number;
}

/** Whether `s` is a well-formed quantity string (upstream ParseQuantity accepts it). */
export function isQuantity(s: string): boolean {
  return quantityRE.test(s);
}

/** Parses a quantity exactly; throws SyntaxError with upstream's wording for malformed input. */
export function parseExactQuantity(text: string): ExactQuantity {
  const m = quantityRE.exec(text.trim());
  if (!m) throw new SyntaxError(quantityFormatError);
  const [intPart = '', fracPart = ''] = (m[2] ?? '0').split('.');
  const digits = BigInt(`${intPart}${fracPart}` || '0');
  const mantissa = m[1] === '-' ? -digits : digits;
  let exp10 = -fracPart.length;
  let exp2 = 0;
  const suffix = m[3] ?? '';
  if (suffix in binaryExponents) exp2 = binaryExponents[suffix] ?? 0;
  else if (suffix in decimalExponents) exp10 += decimalExponents[suffix] ?? 0;
  else exp10 += Number(suffix.slice(1));
  return { mantissa, exp10, exp2 };
}

/**
 * Parses a quantity into a number of base units (cores for CPU, bytes for memory).
 * @example
 * parseQuantity('100m') // 0.1
 * parseQuantity('1.5Gi') // 1610612736
 */
export function parseQuantity(s: string | number): number {
  if (typeof s === 'number') return s;
  const q = parseExactQuantity(s);
  // Dividing by 10^-exp keeps "100m" exactly 0.1 where multiplying by 1e-3 would not.
  const scaled =
    q.exp10 < 0 ? Number(q.mantissa) / 10 ** -q.exp10 : Number(q.mantissa) * 10 ** q.exp10;
  return scaled * 2 ** q.exp2;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

/** The quantity as an integer count of 10^scale units, rounded up (upstream AsScale/ScaledValue). */
export function scaledValue(text: string, scale: number): bigint {
  const q = parseExactQuantity(text);
  const num = q.mantissa * 2n ** BigInt(q.exp2);
  const shift = q.exp10 - scale;
  return shift >= 0 ? num * 10n ** BigInt(shift) : ceilDiv(num, 10n ** BigInt(-shift));
}

/** The quantity in milli-units rounded up, as resource.Quantity.MilliValue() (CPU "100m" → 100). */
export function milliValue(text: string): number {
  return Number(scaledValue(text, -3));
}

/** The quantity in nano-units rounded up (CPU "12m" → 12000000). */
export function nanoValue(text: string): number {
  return Number(scaledValue(text, -9));
}

/** The quantity in whole units rounded up, as resource.Quantity.Value() (memory "1Ki" → 1024). */
export function wholeValue(text: string): number {
  return Number(scaledValue(text, 0));
}
