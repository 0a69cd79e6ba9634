// Entry point of the metrics-server add-on (`skiff addon metrics-server [flags]`): parses upstream-style
// flags, builds the in-cluster client and runs MetricsServer until SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { parseGoDuration } from '../api/exact-quantity.js';
import { inClusterConfig, loadKubeconfig, serviceAccountDir } from '../client/config.js';
import { KubeClient } from '../client/rest.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { MetricsServer, type MetricsServerOptions } from './server.js';

/** Parsed flags of the add-on. */
export interface MetricsServerFlags {
  securePort: number;
  bindAddress: string;
  metricResolutionMs: number;
  kubeletInsecureTLS: boolean;
  kubeletPort?: number;
  kubeletPreferredAddressTypes: string[];
  kubeletRequestTimeoutMs: number;
  kubeletCAFile?: string;
  /** File holding the bearer token for kubelets; the service-account token when unset. */
  kubeletTokenFile?: string;
  /** Run outside the cluster with this kubeconfig (tests, debugging). */
  kubeconfig?: string;
}

/** Parses `--name=value` / `--name value` / `--bool` flags (upstream metrics-server names). */
export function parseFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): MetricsServerFlags {
  const flags: MetricsServerFlags = {
    securePort: 4443,
    bindAddress: '0.0.0.0',
    metricResolutionMs: 1000,
    kubeletInsecureTLS: true,
    kubeletPreferredAddressTypes: ['InternalIP', 'ExternalIP', 'Hostname'],
    kubeletRequestTimeoutMs: 5000,
    kubeletTokenFile: env['SKIFF_KUBELET_TOKEN_FILE'] || undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new TypeError(`Unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const isBool = name === 'kubelet-insecure-tls' || name === 'kubelet-use-node-status-port';
    let value = eq < 0 ? undefined : arg.slice(eq + 1);
    if (value === undefined && !isBool) value = argv[++i];
    if (value === undefined && !isBool) throw new TypeError(`Flag "--${name}" needs a value`);
    const v = value ?? 'true';
    switch (name) {
      case 'secure-port':
        flags.securePort = Number(v);
        break;
      case 'bind-address':
        flags.bindAddress = v;
        break;
      case 'metric-resolution':
        flags.metricResolutionMs = parseGoDuration(v);
        break;
      case 'kubelet-insecure-tls':
        flags.kubeletInsecureTLS = v !== 'false';
        break;
      case 'kubelet-port':
        flags.kubeletPort = Number(v);
        break;
      case 'kubelet-preferred-address-types':
        flags.kubeletPreferredAddressTypes = v.split(',').filter(Boolean);
        break;
      case 'kubelet-request-timeout':
        flags.kubeletRequestTimeoutMs = parseGoDuration(v);
        break;
      case 'kubelet-certificate-authority':
        flags.kubeletCAFile = v;
        break;
      case 'kubelet-token-file':
        flags.kubeletTokenFile = v;
        break;
      case 'kubeconfig':
        flags.kubeconfig = v;
        break;
      // Upstream's components.yaml passes these: the serving certificate is generated in memory
      // (nothing to write), and the node's status port is what the scraper dials anyway.
      case 'cert-dir':
      case 'kubelet-use-node-status-port':
        break;
      default:
        throw new TypeError(`Unknown flag "--${name}"`);
    }
  }
  if (!Number.isInteger(flags.securePort) || flags.securePort < 0 || flags.securePort > 65535) {
    throw new RangeError(`Invalid --secure-port "${flags.securePort}"`);
  }
  if (flags.metricResolutionMs <= 0) throw new RangeError('--metric-resolution must be positive');
  return flags;
}

/** Builds the server's options from flags (exported for tests). */
export function optionsFromFlags(flags: MetricsServerFlags): MetricsServerOptions {
  const config = flags.kubeconfig ? loadKubeconfig(flags.kubeconfig) : inClusterConfig();
  const saDir = process.env['SKIFF_SERVICEACCOUNT_DIR'] ?? serviceAccountDir;
  const tokenFile = flags.kubeletTokenFile ?? (flags.kubeconfig ? undefined : `${saDir}/token`);
  const client = new KubeClient({ config: { ...config, userAgent: 'metrics-server/skiff' } });
  // In a pod with only its service-account token (upstream's manifest): through the API server.
  const viaAPI = !flags.kubeletTokenFile && !flags.kubeconfig;
  return {
    client,
    resolutionMs: flags.metricResolutionMs,
    securePort: flags.securePort,
    bindAddress: flags.bindAddress,
    kubelet: {
      // Re-read on every scrape so a rotated token is picked up without a restart.
      token: () => (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : config.token),
      insecureTLS: flags.kubeletInsecureTLS,
      ca: flags.kubeletCAFile ? readFileSync(flags.kubeletCAFile, 'utf8') : undefined,
      kubeletPort: flags.kubeletPort,
      preferredAddressTypes: flags.kubeletPreferredAddressTypes,
      requestTimeoutMs: flags.kubeletRequestTimeoutMs,
      ...(viaAPI ? { viaAPI: client } : {}),
    },
  };
}

/**
 * Runs the metrics-server until SIGTERM or SIGINT (or `signal`), then shuts down cleanly.
 * @example
 * await main(['--metric-resolution=1s', '--secure-port=4443']);
 */
export async function main(argv: string[], signal?: AbortSignal): Promise<void> {
  const log = createLogger({ component: 'metrics-server' });
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const server = new MetricsServer({ ...optionsFromFlags(parseFlags(argv)), log });
    await server.start(ac.signal);
    await new Promise<void>((resolve) => {
      if (ac.signal.aborted) resolve();
      ac.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.stopped();
  } catch (err) {
    log.error('metrics-server failed', { error: errorMessage(err) });
    throw err;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
