// Kubernetes resource quantities ("100m", "64Mi", "1.5Gi", "1e3"): parsing to plain numbers
// (cores or bytes) and formatting back; follows apimachinery pkg/api/resource/quantity.go.

const binarySuffixes: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimalSuffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

// sign, digits with optional fraction, then a suffix (binary, decimal or exponent).
const quantityRE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** Upstream's ErrFormatWrong text, which validation messages quote. */
export const quantityFormatError =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** Whether `s` is a well-formed quantity string (upstream ParseQuantity accepts it). */
export function isQuantity(s: string): boolean {
  return quantityRE.test(s);
}

/**
 * Parses a quantity into a number of base units (cores for CPU, bytes for memory).
 * Throws SyntaxError for malformed input.
 * @example
 * parseQuantity('100m') // 0.1
 * parseQuantity('1.5Gi') // 1610612736
 */
export function parseQuantity(s: string | number): number {
  if (typeof s === 'number') return s;
  const m = quantityRE.exec(s.trim());
  if (!m) throw new SyntaxError(quantityFormatError);
  const sign = m[1] === '-' ? -1 : 1;
  const num = Number(m[2]);
  const suffix = m[3] ?? '';
  let mult: number;
  if (suffix in binarySuffixes) mult = binarySuffixes[suffix] as number;
  else if (suffix in decimalSuffixes) mult = decimalSuffixes[suffix] as number;
  else mult = 10 ** Number(suffix.slice(1));
  return sign * num * mult;
}

/**
 * Formats a number of base units as a canonical-looking quantity: 'DecimalSI' gives "100m", "2",
 * "1500k"; 'BinarySI' gives "64Mi" when the value is a whole number of a binary unit.
 * @example
 * formatQuantity(0.25, 'DecimalSI') // "250m"
 * formatQuantity(67108864, 'BinarySI') // "64Mi"
 */
export function formatQuantity(
  value: number,
  format: 'DecimalSI' | 'BinarySI' = 'DecimalSI',
): string {
  if (value === 0) return '0';
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  if (format === 'BinarySI' && Number.isInteger(abs)) {
    const units = Object.entries(binarySuffixes).reverse();
    for (const [suffix, mult] of units) {
      if (abs >= mult && abs % mult === 0) return `${sign}${abs / mult}${suffix}`;
    }
    // Values below 1Ki or not a whole number of any binary unit print as plain integers.
    if (abs < 1024) return `${sign}${abs}`;
  }
  // Decimal: use the largest SI suffix that keeps an integer mantissa (like upstream canonical form).
  const order: [string, number][] = [
    ['E', 1e18],
    ['P', 1e15],
    ['T', 1e12],
    ['G', 1e9],
    ['M', 1e6],
    ['k', 1e3],
    ['', 1],
    ['m', 1e-3],
    ['u', 1e-6],
    ['n', 1e-9],
  ];
  for (const [suffix, mult] of order) {
    const mantissa = abs / mult;
    const rounded = Math.round(mantissa);
    if (mantissa >= 1 && Math.abs(mantissa - rounded) < 1e-6 * Math.max(1, rounded)) {
      return `${sign}${rounded}${suffix}`;
    }
  }
  // Smaller than 1n: round up to 1n as upstream does for sub-nano values.
  return `${sign}1n`;
}
