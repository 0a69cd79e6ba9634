// The ingress route table: which Ingresses this controller serves (IngressClass, default class) and
// how a request's host and path pick a backend. Follows the networking/v1 Ingress spec and
// ingress-nginx's server/location model (internal/ingress/controller/controller.go getBackendServers).
import type { Ingress, IngressBackend, IngressClass } from 'kubernetes-types/networking/v1.js';

/** Upstream controller value of ingress-nginx IngressClasses. */
export const nginxController = 'k8s.io/ingress-nginx';
/** Annotation marking the cluster's default IngressClass. */
export const defaultClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';
/** Legacy class annotation, still honoured by ingress-nginx. */
export const legacyClassAnnotation = 'kubernetes.io/ingress.class';

/** A Service backend resolved to its namespace. */
export interface RouteBackend {
  namespace: string;
  service: string;
  /** Service port by number or by name. */
  port: { number?: number; name?: string };
  /** "namespace/ingress" that defined this route, for logs. */
  ingress: string;
}

type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** One path rule of a host. */
export interface RouteLocation {
  path: string;
  pathType: PathType;
  backend: RouteBackend;
}

/** The rules of one host (an nginx server block): locations in precedence order. */
export interface RouteServer {
  locations: RouteLocation[];
  defaultBackend?: RouteBackend;
}

type Location = RouteLocation;
type Server = RouteServer;

/**
 * The IngressClass names this controller owns, whether one of them is the default, and whether
 * any class (of any controller) is.
 */
export function ownedClasses(
  classes: readonly Readonly<IngressClass>[],
  controller = nginxController,
): { names: Set<string>; hasDefault: boolean; anyDefault: boolean } {
  const names = new Set<string>();
  let hasDefault = false;
  let anyDefault = false;
  for (const c of classes) {
    const isDefault = c.metadata?.annotations?.[defaultClassAnnotation] === 'true';
    if (isDefault) anyDefault = true;
    if (c.spec?.controller !== controller || !c.metadata?.name) continue;
    names.add(c.metadata.name);
    if (isDefault) hasDefault = true;
  }
  return { names, hasDefault, anyDefault };
}

/**
 * True when the Ingress is served by a controller owning `owned` classes. A class-less Ingress
 * goes to the default class; with no default class at all (upstream's deploy.yaml marks none) it
 * is served anyway, as k3s's Traefik does, so the seed's `kubectl create ingress` keeps working
 * after the upstream manifest replaced Skiff's (ingress-nginx would need --watch-ingress-without-class).
 */
export function isOwnedIngress(
  ing: Readonly<Ingress>,
  owned: { names: Set<string>; hasDefault: boolean; anyDefault?: boolean },
): boolean {
  const cls = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[legacyClassAnnotation];
  if (cls) return owned.names.has(cls);
  return owned.hasDefault || owned.anyDefault === false;
}

function toBackend(ns: string, ingress: string, b: IngressBackend | undefined) {
  const svc = b?.service;
  if (!svc?.name) return undefined;
  return {
    namespace: ns,
    service: svc.name,
    port: { number: svc.port?.number, name: svc.port?.name },
    ingress,
  } satisfies RouteBackend;
}

/** Element-wise Prefix match: "/foo" matches "/foo", "/foo/" and "/foo/bar", not "/foobar". */
export function prefixMatches(pattern: string, path: string): boolean {
  const p = pattern.replace(/\/+$/, '');
  if (p === '') return true;
  return path === p || path.startsWith(`${p}/`);
}

function locationMatches(loc: Location, path: string): boolean {
  switch (loc.pathType) {
    case 'Exact':
      return path === loc.path;
    case 'Prefix':
      return prefixMatches(loc.path, path);
    case 'ImplementationSpecific':
      // ingress-nginx treats it as an nginx prefix location: a plain string prefix.
      return path.startsWith(loc.path);
  }
}

/** Path length for precedence, ignoring a trailing slash of Prefix paths. */
function weight(loc: Location): number {
  return loc.pathType === 'Prefix' ? loc.path.replace(/\/+$/, '').length : loc.path.length;
}

/**
 * The routes of the owned Ingresses. Guarantees:
 * 1. Host: an exact host wins over a wildcard ("*.foo.com" matches one extra label), which wins
 *    over rules without a host.
 * 2. Path: the longest matching path wins; at equal length Exact beats Prefix; at a full tie the
 *    oldest Ingress wins (as ingress-nginx merges by creation time).
 * 3. Nothing matches in the host: that host's defaultBackend, else the catch-all's defaultBackend.
 */
export class RouteTable {
  #exact = new Map<string, Server>();
  #wildcard = new Map<string, Server>();
  #catchAll: Server = { locations: [] };

  constructor(ingresses: readonly Readonly<Ingress>[]) {
    const sorted = [...ingresses].sort((a, b) => {
      const ta = a.metadata?.creationTimestamp ?? '';
      const tb = b.metadata?.creationTimestamp ?? '';
      if (ta !== tb) return ta < tb ? -1 : 1;
      return `${a.metadata?.namespace}/${a.metadata?.name}` <
        `${b.metadata?.namespace}/${b.metadata?.name}`
        ? -1
        : 1;
    });
    for (const ing of sorted) this.#add(ing);
    for (const s of [...this.#exact.values(), ...this.#wildcard.values(), this.#catchAll]) {
      // Stable sort keeps the oldest first among equals.
      s.locations.sort((a, b) => {
        const w = weight(b) - weight(a);
        if (w !== 0) return w;
        return (a.pathType === 'Exact' ? 0 : 1) - (b.pathType === 'Exact' ? 0 : 1);
      });
    }
  }

  #server(host: string | undefined): Server {
    if (!host) return this.#catchAll;
    const map = host.startsWith('*.') ? this.#wildcard : this.#exact;
    const key = host.startsWith('*.') ? host.slice(2).toLowerCase() : host.toLowerCase();
    let s = map.get(key);
    if (!s) {
      s = { locations: [] };
      map.set(key, s);
    }
    return s;
  }

  #add(ing: Readonly<Ingress>): void {
    const ns = ing.metadata?.namespace ?? 'default';
    const id = `${ns}/${ing.metadata?.name ?? ''}`;
    const def = toBackend(ns, id, ing.spec?.defaultBackend);
    if (def && !this.#catchAll.defaultBackend) this.#catchAll.defaultBackend = def;
    for (const rule of ing.spec?.rules ?? []) {
      const server = this.#server(rule.host);
      if (def && rule.host && !server.defaultBackend) server.defaultBackend = def;
      for (const p of rule.http?.paths ?? []) {
        const backend = toBackend(ns, id, p.backend);
        if (!backend) continue;
        server.locations.push({
          path: p.path || '/',
          pathType: (p.pathType as PathType | undefined) ?? 'ImplementationSpecific',
          backend,
        });
      }
    }
  }

  /** The servers by exact host, by wildcard suffix ("*.foo.com" → "foo.com") and the catch-all. */
  servers(): {
    exact: Map<string, RouteServer>;
    wildcard: Map<string, RouteServer>;
    catchAll: RouteServer;
  } {
    return { exact: this.#exact, wildcard: this.#wildcard, catchAll: this.#catchAll };
  }

  /** Every backend some route names (once each, by upstream key). */
  backends(): RouteBackend[] {
    const out = new Map<string, RouteBackend>();
    for (const s of [...this.#exact.values(), ...this.#wildcard.values(), this.#catchAll]) {
      for (const b of [...s.locations.map((l) => l.backend), s.defaultBackend]) {
        if (b)
          out.set(`${b.namespace}/${b.service}:${b.port.number ?? ''}:${b.port.name ?? ''}`, b);
      }
    }
    return [...out.values()];
  }

  /** The backend for a request, or undefined (404). `host` may carry a port; `path` no query. */
  match(host: string | undefined, path: string): RouteBackend | undefined {
    const h = (host ?? '').replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
    const candidates: Server[] = [];
    const exact = this.#exact.get(h);
    if (exact) candidates.push(exact);
    const dot = h.indexOf('.');
    const wild = dot > 0 ? this.#wildcard.get(h.slice(dot + 1)) : undefined;
    if (wild) candidates.push(wild);
    // ingress-nginx serves a request with one server block: the most specific host that exists.
    const server = candidates[0] ?? this.#catchAll;
    for (const loc of server.locations) if (locationMatches(loc, path)) return loc.backend;
    return server.defaultBackend ?? this.#catchAll.defaultBackend;
  }
}
