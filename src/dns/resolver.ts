// Answers for names in the cluster zone, following the Kubernetes DNS spec
// (kubernetes/dns docs/specification.md) as CoreDNS's kubernetes plugin implements it.
import { aRecord, nameRecord, RCode, type ResourceRecord, RRType } from './codec.js';

/** What DNS needs to know about one Service. */
export interface ServiceRecord {
  /** ClusterIP, absent for headless Services. */
  clusterIP?: string;
  /** Ready endpoint addresses (used for headless Services). */
  endpoints: { ip: string; hostname?: string }[];
  /** For type ExternalName. */
  externalName?: string;
}

/** Where the resolver reads Services from. */
export interface ServiceRecordSource {
  service(namespace: string, name: string): ServiceRecord | undefined;
}

/** The outcome for a name in the zone. */
export interface ZoneAnswer {
  rcode: number;
  answers: ResourceRecord[];
}

/** Options of resolveInZone. */
export interface ResolveOptions {
  /** e.g. "cluster.local". */
  zone: string;
  /** TTL of answers (CoreDNS kubernetes plugin default 5 s). */
  ttl: number;
}

/**
 * Answers a question whose name is in the cluster zone; undefined when the name is outside it (the
 * caller forwards). Records: `<svc>.<ns>.svc.<zone>` A → ClusterIP (headless → ready endpoint IPs),
 * `<hostname>.<svc>.<ns>.svc.<zone>` → that endpoint, `<a-b-c-d>.<ns>.pod.<zone>` → a.b.c.d,
 * ExternalName → CNAME. Other types of an existing name get an empty NOERROR; unknown names NXDOMAIN.
 */
export function resolveInZone(
  name: string,
  type: number,
  src: ServiceRecordSource,
  opts: ResolveOptions,
): ZoneAnswer | undefined {
  const zone = opts.zone.toLowerCase();
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n !== zone && !n.endsWith(`.${zone}`)) return undefined;
  const rel = n === zone ? [] : n.slice(0, -(zone.length + 1)).split('.');
  const nodata: ZoneAnswer = { rcode: RCode.NOERROR, answers: [] };
  const nx: ZoneAnswer = { rcode: RCode.NXDOMAIN, answers: [] };
  const wantsA = type === RRType.A || type === RRType.ANY;

  // The zone apex and the "svc"/"pod" nodes exist but hold no address.
  if (rel.length === 0) return nodata;
  const kind = rel[rel.length - 1];
  if (kind !== 'svc' && kind !== 'pod') return nx;
  if (rel.length === 1) return nodata;
  const ns = rel[rel.length - 2]!;
  if (rel.length === 2) return nodata;

  if (kind === 'pod') {
    if (rel.length !== 3) return nx;
    const ip = rel[0]!.replace(/-/g, '.');
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return nx;
    return wantsA ? { rcode: RCode.NOERROR, answers: [aRecord(n, ip, opts.ttl)] } : nodata;
  }

  const svcName = rel[rel.length - 3]!;
  const svc = src.service(ns, svcName);
  if (!svc) return nx;
  if (rel.length === 4) {
    // <hostname>.<svc>.<ns>.svc.<zone>: one endpoint of a headless Service.
    const ep = svc.clusterIP ? undefined : svc.endpoints.find((e) => e.hostname === rel[0]);
    if (!ep) return nx;
    return wantsA ? { rcode: RCode.NOERROR, answers: [aRecord(n, ep.ip, opts.ttl)] } : nodata;
  }
  if (rel.length !== 3) return nx;
  if (svc.externalName) {
    return {
      rcode: RCode.NOERROR,
      answers: [nameRecord(n, RRType.CNAME, svc.externalName, opts.ttl)],
    };
  }
  if (!wantsA) return nodata;
  const ips = svc.clusterIP ? [svc.clusterIP] : [...new Set(svc.endpoints.map((e) => e.ip))];
  return { rcode: RCode.NOERROR, answers: ips.map((ip) => aRecord(n, ip, opts.ttl)) };
}
