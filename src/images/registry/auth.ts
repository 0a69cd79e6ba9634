// Registry authentication as the distribution token spec describes it: a 401 carries
// `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; the client gets a token from the realm
// (anonymously, with basic credentials, or with an identity token) and retries. Credentials come
// from imagePullSecrets (dockerconfigjson `auths` entries) matched by registry host.
import type { RegistryCredential } from '../service.js';

/** One parsed WWW-Authenticate challenge. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header (`Bearer realm="x",service="y"`); schemes lowercased. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /([A-Za-z]+)\s+((?:[A-Za-z_]+=(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*)/g;
  for (const m of header.matchAll(re)) {
    const params: Record<string, string> = {};
    for (const p of (m[2] ?? '').matchAll(/([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
      params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
    out.push({ scheme: (m[1] ?? '').toLowerCase(), params });
  }
  return out;
}

// dockerconfigjson keys come as `https://index.docker.io/v1/`, `docker.io`, `host:5000/path`...
function registryKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').split('/')[0] ?? '';
  return ['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'].includes(host)
    ? 'docker.io'
    : host;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  // `*.example.com` as the kubelet's credential provider matches one label
  if (!pattern.startsWith('*.')) return false;
  const rest = host.slice(host.indexOf('.') + 1);
  return host.includes('.') && rest === pattern.slice(2);
}

/** username/password or identity token for a registry host, from the first matching entry. */
export interface BasicCredential {
  username: string;
  password: string;
  identitytoken?: string;
}

/** The credential for a registry (`docker.io`, `host:port`), or undefined. */
export function findCredential(
  registry: string,
  credentials: RegistryCredential[] = [],
): BasicCredential | undefined {
  const want = registryKey(registry);
  for (const c of credentials) {
    if (!hostMatches(registryKey(c.registry), want)) continue;
    let { username = '', password = '' } = c;
    if (!username && c.auth) {
      const decoded = Buffer.from(c.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      username = decoded.slice(0, Math.max(0, colon));
      password = decoded.slice(colon + 1);
    }
    if (username || c.identitytoken)
      return { username, password, identitytoken: c.identitytoken || undefined };
  }
  return undefined;
}

/** `Basic base64(user:password)`. */
export function basicAuthorization(c: BasicCredential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
