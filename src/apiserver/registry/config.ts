// Module-level registry settings: the service CIDR and NodePort range the Service strategy
// allocates from (kube-apiserver --service-cluster-ip-range / --service-node-port-range).

/** Settings of the registry; all optional in configureRegistry. */
export interface RegistryConfig {
  /** IPv4 CIDR ClusterIPs are allocated from; default 10.96.0.0/12. */
  serviceCIDR: string;
  /** Inclusive NodePort range; default 30000–32767. */
  nodePortRange: { min: number; max: number };
  /** Random source in [0, 1) for allocations; injectable for deterministic tests. */
  random: () => number;
}

const defaults: RegistryConfig = {
  serviceCIDR: '10.96.0.0/12',
  nodePortRange: { min: 30000, max: 32767 },
  random: Math.random,
};

let current: RegistryConfig = { ...defaults };

/** Sets registry settings; omitted fields return to their defaults. */
export function configureRegistry(cfg: Partial<RegistryConfig>): void {
  current = { ...defaults, ...cfg };
  parseCIDR(current.serviceCIDR); // fail fast on a bad CIDR
}

/** The current registry settings. */
export function registryConfig(): Readonly<RegistryConfig> {
  return current;
}

/** An IPv4 CIDR as [network address as uint32, prefix length]; throws SyntaxError if malformed. */
export function parseCIDR(cidr: string): { base: number; bits: number } {
  const [ip, bitsText] = cidr.split('/');
  const base = ip === undefined ? undefined : ipToNumber(ip);
  const bits = Number(bitsText);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new SyntaxError(`Invalid IPv4 CIDR "${cidr}"`);
  }
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (base & mask) >>> 0, bits };
}

/** Dotted IPv4 to uint32, or undefined when not a valid address. */
export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** uint32 to dotted IPv4. */
export function numberToIP(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}
