// Where to reach a registry, as containerd's hosts.toml decides it: mirrors first (in the order
// given), then the registry itself; Docker Hub lives at registry-1.docker.io; plain http only for
// loopback hosts and registries listed as insecure.

/** One place to ask for a registry's content. */
export interface RegistryEndpoint {
  /** Base URL without /v2, e.g. `https://registry-1.docker.io`. */
  url: string;
  /** True for a mirror (its failure falls through to the next endpoint). */
  isMirror: boolean;
}

/** Mirrors and insecure registries, from `skiff up` flags. */
export interface RegistryHostsOptions {
  /** registry host → mirror URLs, e.g. { 'docker.io': ['http://127.0.0.1:5001'] }. */
  mirrors?: Record<string, string[]>;
  /** Hosts (host[:port]) that may be reached over plain http. */
  insecure?: string[];
}

/** True for localhost, 127.0.0.0/8 and ::1, with or without a port. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[')
    ? hostPort.slice(1, hostPort.indexOf(']'))
    : hostPort.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Parses `--registry-mirror HOST=URL` values into the mirrors map. */
export function parseMirrorFlags(
  values: string[],
  insecure: string[] = [],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const host = v.slice(0, eq).trim();
    const url = v
      .slice(eq + 1)
      .trim()
      .replace(/\/+$/, '');
    if (eq <= 0 || !/^https?:\/\/[^/]+$/.test(url))
      throw new TypeError(`--registry-mirror "${v}" is not REGISTRY=http(s)://HOST[:PORT]`);
    const mirrorHost = new URL(url).host;
    if (url.startsWith('http://') && !isLoopbackHost(mirrorHost) && !insecure.includes(mirrorHost))
      throw new TypeError(
        `--registry-mirror "${v}": plain http only for loopback or --insecure-registry hosts`,
      );
    const key = host === 'index.docker.io' ? 'docker.io' : host;
    out[key] = [...(out[key] ?? []), url];
  }
  return out;
}

/** Resolves registry names to the endpoints to try, in order. */
export class RegistryHosts {
  readonly #mirrors: Record<string, string[]>;
  readonly #insecure: Set<string>;

  constructor(opts: RegistryHostsOptions = {}) {
    this.#mirrors = opts.mirrors ?? {};
    this.#insecure = new Set(opts.insecure ?? []);
  }

  /** True when plain http may be used for this host. */
  allowsHttp(hostPort: string): boolean {
    return isLoopbackHost(hostPort) || this.#insecure.has(hostPort);
  }

  /** Endpoints for a registry name (`docker.io`, `ghcr.io`, `127.0.0.1:5001`). */
  endpoints(registry: string): RegistryEndpoint[] {
    const mirrors = (this.#mirrors[registry] ?? []).map((url) => ({ url, isMirror: true }));
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    const scheme = this.allowsHttp(registry) ? 'http' : 'https';
    return [...mirrors, { url: `${scheme}://${host}`, isMirror: false }];
  }
}
