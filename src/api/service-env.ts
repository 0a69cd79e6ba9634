// The service environment variables a pod's containers get (docker-link style), following
// kubernetes pkg/kubelet/envvars/envvars.go (FromServices) and kubelet_pods.go getServiceEnvVarMap.
import type { EnvVar, Service } from 'kubernetes-types/core/v1.js';

/** Options of serviceEnvironment. */
export interface ServiceEnvironmentOptions {
  /** pod.spec.enableServiceLinks (default true): false keeps only the `kubernetes` Service. */
  enableServiceLinks?: boolean;
}

function envName(s: string): string {
  return s.toUpperCase().replace(/-/g, '_');
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function hasClusterIP(svc: Readonly<Service>): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/**
 * The service env vars for a pod in `namespace`, given every Service of the cluster (or at least of
 * that namespace and `default`): the pod's namespace Services (when service links are on) plus
 * `default/kubernetes` unless the namespace has its own `kubernetes` Service. Headless Services
 * are skipped. Services come out sorted by name so the result is stable.
 * @example
 * serviceEnvironment('default', [svc]) // HELLO_WORLD_FLASK_SERVICE_HOST=10.96.0.12, ...
 */
export function serviceEnvironment(
  namespace: string,
  services: readonly Readonly<Service>[],
  opts: ServiceEnvironmentOptions = {},
): EnvVar[] {
  const links = opts.enableServiceLinks ?? true;
  const byName = new Map<string, Readonly<Service>>();
  for (const svc of services) {
    const name = svc.metadata?.name;
    const ns = svc.metadata?.namespace ?? 'default';
    if (!name || !hasClusterIP(svc)) continue;
    if (ns === namespace && links) byName.set(name, svc);
    else if (ns === 'default' && name === 'kubernetes' && !byName.has(name)) {
      byName.set(name, svc);
    }
  }
  // The pod's own namespace wins over default/kubernetes even when seen after it.
  if (links) {
    const own = services.find(
      (s) => s.metadata?.name === 'kubernetes' && s.metadata?.namespace === namespace,
    );
    if (own && hasClusterIP(own)) byName.set('kubernetes', own);
  }
  const out: EnvVar[] = [];
  for (const name of [...byName.keys()].sort()) {
    const svc = byName.get(name)!;
    const prefix = envName(name);
    const ip = svc.spec?.clusterIP ?? '';
    const ports = svc.spec?.ports ?? [];
    out.push({ name: `${prefix}_SERVICE_HOST`, value: ip });
    const first = ports[0];
    if (first) out.push({ name: `${prefix}_SERVICE_PORT`, value: String(first.port) });
    for (const p of ports) {
      if (p.name) {
        out.push({ name: `${prefix}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) });
      }
    }
    // Docker link variables.
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const url = `${proto}://${hostPort(ip, p.port)}`;
      if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
      const base = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.push({ name: base, value: url });
      out.push({ name: `${base}_PROTO`, value: proto });
      out.push({ name: `${base}_PORT`, value: String(p.port) });
      out.push({ name: `${base}_ADDR`, value: ip });
    });
  }
  return out;
}
