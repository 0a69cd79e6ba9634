// Registry settings: the service CIDR and NodePort range the Service strategy allocates from
// (kube-apiserver --service-cluster-ip-range / --service-node-port-range), passed to the API server
// in its options and to strategies in their context.
import { parseCidr } from '../../lib/cidr.js';
import type { RegistryConfig } from './types.js';

/** The defaults: 10.96.0.0/12, NodePorts 30000–32767, Math.random. */
export const defaultRegistryConfig: Readonly<RegistryConfig> = {
  serviceCIDR: '10.96.0.0/12',
  nodePortRange: { min: 30000, max: 32767 },
  random: Math.random,
};

/** Registry settings with the defaults filled in; throws TypeError on a malformed CIDR. */
export function registryConfig(cfg: Partial<RegistryConfig> = {}): RegistryConfig {
  const given = Object.entries(cfg).filter(([, v]) => v !== undefined);
  const out: RegistryConfig = { ...defaultRegistryConfig, ...Object.fromEntries(given) };
  parseCidr(out.serviceCIDR); // fail fast on a bad CIDR
  return out;
}
