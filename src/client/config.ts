// Client configuration sources: a kubeconfig file (the one `skiff up` writes) and the in-cluster
// service-account files mounted into pods (rest.InClusterConfig analog).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ClientConfig } from './rest.js';

/**
 * The YAML parser, loaded on first use: the add-on pods read the in-cluster files only, and the
 * parser's code would cost each of them ~1 MB of heap (issue #17).
 */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

/** Upstream in-cluster mount path of the service-account token, CA and namespace. */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Kubeconfig {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  clusters?: {
    name: string;
    cluster: {
      server: string;
      'certificate-authority-data'?: string;
      'certificate-authority'?: string;
      'insecure-skip-tls-verify'?: boolean;
    };
  }[];
  users?: { name: string; user: { token?: string } }[];
}

/** Reads a kubeconfig file (token auth) into a ClientConfig for its current context or the named one. */
export function loadKubeconfig(
  path: string,
  contextName?: string,
): ClientConfig & { namespace: string } {
  const kc = yaml().parse(readFileSync(path, 'utf8')) as Kubeconfig;
  const name = contextName ?? kc['current-context'];
  const ctx = kc.contexts?.find((c) => c.name === name)?.context;
  if (!ctx) throw new TypeError(`Context "${name}" not found in kubeconfig "${path}"`);
  const cluster = kc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw new TypeError(`Cluster "${ctx.cluster}" not found in kubeconfig "${path}"`);
  const user = kc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  let ca: string | undefined;
  if (cluster['certificate-authority-data'])
    ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  else if (cluster['certificate-authority'])
    ca = readFileSync(cluster['certificate-authority'], 'utf8');
  return {
    server: cluster.server,
    token: user.token,
    ca,
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'],
    namespace: ctx.namespace ?? 'default',
  };
}

/**
 * Config for a process running in a pod: KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA.
 * `dir` overrides the mount path (tests, reduced mode).
 */
export function inClusterConfig(
  dir = process.env['SKIFF_SERVICEACCOUNT_DIR'] ?? serviceAccountDir,
): ClientConfig & { namespace: string } {
  const host = process.env['KUBERNETES_SERVICE_HOST'];
  const port = process.env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port)
    throw new TypeError(
      'Not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set',
    );
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    token: readFileSync(`${dir}/token`, 'utf8').trim(),
    ca: readFileSync(`${dir}/ca.crt`, 'utf8'),
    namespace: readFileSync(`${dir}/namespace`, 'utf8').trim(),
  };
}
