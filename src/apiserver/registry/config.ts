// Registry settings: the service CIDR and NodePort range the Service strategy allocates from
// (kube-apiserver --service-cluster-ip-range / --service-node-port-range), passed to the API server
// in its options and to strategies in their context.
import type { RegistryConfig } from './types.js';

/** The defaults: 10.96.0.0/12, NodePorts 30000–32767, Math.random. */
export const defaultRegistryConfig: Readonly<RegistryConfig> = {
  serviceCIDR: '10.96.0.0/12',
  nodePortRange: { min: 30000, max: 32767 },
  random: Math.random,
};

/** Registry settings with the defaults filled in; throws SyntaxError on a malformed CIDR. */
export function registryConfig(cfg: Partial<RegistryConfig> = {}): RegistryConfig {
  const given = Object.entries(cfg).filter(([, v]) => v !== undefined);
  const out: RegistryConfig = { ...defaultRegistryConfig, ...Object.fromEntries(given) };
  parseCIDR(out.serviceCIDR); // fail fast on a bad CIDR
  return out;
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
