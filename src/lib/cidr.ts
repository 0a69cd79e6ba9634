// IPv4 and CIDR arithmetic, the one copy: parsing, formatting, the n-th address of a block and
// overlap checks (pod network, service ClusterIP allocation, the cluster's well-known addresses).

/** A parsed IPv4 CIDR. */
export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  bits: number;
  /** Number of addresses in the block. */
  size: number;
}

/** Parses dotted IPv4 into an unsigned number; throws TypeError on bad input. */
export function parseIPv4(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new TypeError(`invalid IPv4 address "${ip}"`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new TypeError(`invalid IPv4 address "${ip}"`);
    n = n * 256 + v;
  }
  return n;
}

/** Parses dotted IPv4 into an unsigned number; undefined when it is not one. */
export function tryParseIPv4(ip: string): number | undefined {
  try {
    return parseIPv4(ip);
  } catch (err) {
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}

/** Formats an unsigned number as dotted IPv4. */
export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/n" (a bare address means /32); the base is masked to the network. */
export function parseCidr(cidr: string): Cidr {
  const [ip = '', bitsText = '32'] = cidr.split('/');
  const bits = Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new TypeError(`invalid CIDR "${cidr}"`);
  }
  const size = 2 ** (32 - bits);
  const base = Math.floor(parseIPv4(ip) / size) * size;
  return { base, bits, size };
}

/** True when the two blocks share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/**
 * The n-th address of a block, e.g. nthAddress("10.96.0.0/12", 1) = "10.96.0.1".
 * @example
 * nthAddress('10.96.0.0/12', 10); // "10.96.0.10", the cluster DNS address
 */
export function nthAddress(cidr: string, n: number): string {
  return formatIPv4(parseCidr(cidr).base + n);
}
