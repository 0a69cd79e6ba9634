// The pods/proxy and services/proxy subresources (follows kubernetes pkg/registry/core/pod/
// strategy.go ResourceLocation, service/storage/storage.go ResourceLocation, and apimachinery
// pkg/util/proxy/upgradeaware.go): `name`, `name:port` or `scheme:name:port` picks a pod (its IP) or
// one ready endpoint of a service; the request after `/proxy` goes there, answers come back with
// same-host links rewritten to pass through the proxy again (proxy-rewrite.ts).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import zlib from 'node:zlib';
import type { KObject } from '../../api/object.js';
import { findResource } from '../../api/resources.js';
import { isObject } from '../../lib/json.js';
import { badRequest, StatusError, serviceUnavailable } from '../status-error.js';
import { nodeKubelet } from './pod-connect.js';
import { type RewriteContext, rewriteHtml, rewriteUrl } from './proxy-rewrite.js';
import type { StorageContext, SubresourceRequest, SubresourceStorage } from './storage.js';

const podsResource = findResource('', 'v1', 'pods')!;
const servicesResource = findResource('', 'v1', 'services')!;
const endpointsResource = findResource('', 'v1', 'endpoints')!;

/** Where a proxied request goes. */
export interface ProxyLocation {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** Credentials the API server presents (the kubelet's bearer token for nodes/proxy). */
  headers?: Record<string, string>;
  /** CA to verify the backend with; unset: not verified (a pod's certificate names nothing). */
  ca?: string;
}

/**
 * Splits a proxy id as upstream's SplitSchemeNamePort: `name`, `name:port` or `scheme:name:port`,
 * the scheme http, https or empty; undefined when invalid.
 * @example splitSchemeNamePort('https:web:443') // { scheme: 'https', name: 'web', port: '443' }
 */
export function splitSchemeNamePort(
  id: string,
): { scheme: '' | 'http' | 'https'; name: string; port: string } | undefined {
  const parts = id.split(':');
  if (parts.length > 3) return undefined;
  const [scheme, name = '', port = ''] = parts.length === 3 ? parts : ['', ...parts];
  if (name === '' || (scheme !== '' && scheme !== 'http' && scheme !== 'https')) return undefined;
  return { scheme, name, port };
}

function asList(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function podIP(pod: KObject): string {
  const status = isObject(pod['status']) ? pod['status'] : {};
  return typeof status['podIP'] === 'string' ? status['podIP'] : '';
}

/** pods/proxy: the pod's IP, at the given port or its first declared container port. */
function podLocation(ctx: StorageContext, rr: SubresourceRequest): ProxyLocation {
  const id = splitSchemeNamePort(rr.name);
  if (!id) throw badRequest(`invalid pod request "${rr.name}"`);
  const pod = ctx.store.get(podsResource, rr.namespace, id.name);
  let port = id.port;
  if (port === '') {
    const spec = isObject(pod['spec']) ? pod['spec'] : {};
    for (const c of asList(spec['containers'])) {
      const first = asList(c['ports'])[0];
      if (first) {
        port = String(first['containerPort']);
        break;
      }
    }
  }
  const ip = podIP(pod);
  if (net.isIP(ip) === 0) throw badRequest('address not allowed');
  // Upstream dials the pod's IP with no port as port 80.
  const n = port === '' ? 80 : Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw serviceUnavailable(
      `error trying to reach service: dial tcp: address ${port}: invalid port`,
    );
  }
  return { scheme: id.scheme || 'http', host: ip, port: n };
}

/** services/proxy: a random ready endpoint address of the service port (by name or number). */
function serviceLocation(ctx: StorageContext, rr: SubresourceRequest): ProxyLocation {
  const id = splitSchemeNamePort(rr.name);
  if (!id) throw badRequest(`invalid service request "${rr.name}"`);
  let portName = id.port;
  // A port number names the service port declaring it; the endpoints carry port names.
  if (/^-?\d+$/.test(id.port)) {
    const svc = ctx.store.get(servicesResource, rr.namespace, id.name);
    const spec = isObject(svc['spec']) ? svc['spec'] : {};
    const match = asList(spec['ports']).find((p) => String(p['port']) === String(Number(id.port)));
    if (!match) {
      throw serviceUnavailable(`no service port ${Number(id.port)} found for service "${id.name}"`);
    }
    portName = typeof match['name'] === 'string' ? match['name'] : '';
  }
  const eps = ctx.store.get(endpointsResource, rr.namespace, id.name);
  const subsets = asList(eps['subsets']);
  if (subsets.length === 0) {
    throw serviceUnavailable(`no endpoints available for service "${id.name}"`);
  }
  const seed = Math.floor(Math.random() * subsets.length);
  for (let i = 0; i < subsets.length; i++) {
    const ss = subsets[(seed + i) % subsets.length]!;
    const addresses = asList(ss['addresses']).filter((a) => isValidAddress(ctx, rr, a));
    const port = asList(ss['ports']).find((p) => (p['name'] ?? '') === portName);
    if (!port || addresses.length === 0) continue;
    const addr = addresses[Math.floor(Math.random() * addresses.length)]!;
    return { scheme: id.scheme || 'http', host: String(addr['ip']), port: Number(port['port']) };
  }
  throw serviceUnavailable(`no endpoints available for service "${rr.name}"`);
}

/** As upstream, only addresses that are pods of this namespace with that IP are proxied to. */
function isValidAddress(
  ctx: StorageContext,
  rr: SubresourceRequest,
  addr: Record<string, unknown>,
): boolean {
  const ref = isObject(addr['targetRef']) ? addr['targetRef'] : undefined;
  if (ref?.['kind'] !== 'Pod' || typeof ref['name'] !== 'string') return false;
  try {
    return podIP(ctx.store.get(podsResource, rr.namespace, ref['name'])) === addr['ip'];
  } catch (err) {
    if (err instanceof StatusError && err.code === 404) return false;
    throw err;
  }
}

/**
 * The raw request path split after `<resource>/<name>/proxy`: the prefix, and the path (still
 * escaped as sent) that goes to the backend.
 */
function splitProxyPath(req: http.IncomingMessage): {
  prefix: string;
  path: string;
  query: string;
} {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const segs = (q < 0 ? raw : raw.slice(0, q)).split('/');
  // segs[0] is '' (the leading slash); then api/v1 or apis/<group>/<version>.
  let i = segs[1] === 'api' ? 3 : 4;
  if (segs[i] === 'namespaces') i += 2;
  return {
    prefix: segs.slice(0, i + 3).join('/'),
    path: segs.length > i + 3 ? `/${segs.slice(i + 3).join('/')}` : '',
    query: q < 0 ? '' : raw.slice(q),
  };
}

// Hop-by-hop headers (RFC 7230 6.1), what the proxy sets itself, and the caller's credentials:
// the API server authenticated the caller, its token never reaches the backend.
const dropped = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'authorization',
  'host',
]);
const corsHeaders = [
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-allow-origin',
];

function forwardedHeaders(
  req: http.IncomingMessage,
  forwardedUri: string,
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers))
    if (!dropped.has(k) && v !== undefined) out[k] = v;
  // As Go's reverse proxy, the backend sees the Host the client sent.
  out['host'] = req.headers.host ?? '';
  out['x-forwarded-uri'] = forwardedUri;
  const prior = req.headers['x-forwarded-for'];
  const client = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = prior ? `${String(prior)}, ${client}` : client;
  return out;
}

/** Go's wording for a dial error, as kubectl users see it in the 503. */
function dialError(loc: ProxyLocation, err: NodeJS.ErrnoException): string {
  const addr = `${loc.host}:${loc.port}`;
  const why: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ETIMEDOUT: 'i/o timeout',
    ECONNRESET: 'read: connection reset by peer',
  };
  return `error trying to reach service: dial tcp ${addr}: ${why[err.code ?? ''] ?? err.message}`;
}

function sendError(res: http.ServerResponse, e: StatusError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(e.code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(e.toStatus()));
}

function decoder(encoding: string): zlib.Gunzip | zlib.Inflate | undefined {
  if (encoding === 'gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  return undefined;
}

/** Sends a backend answer: HTML links and redirects rewritten, CORS headers dropped. */
function relayResponse(
  up: http.IncomingMessage,
  res: http.ServerResponse,
  rw: RewriteContext,
): void {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(up.headers)) {
    if (v !== undefined && !dropped.has(k) && !corsHeaders.includes(k)) headers[k] = v;
  }
  const location = up.headers.location;
  if (location) {
    headers['location'] = rewriteUrl(location, rw);
    res.writeHead(up.statusCode ?? 502, headers);
    up.pipe(res);
    return;
  }
  const type = String(up.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  const encoding = String(up.headers['content-encoding'] ?? '');
  const decode = decoder(encoding);
  if (type !== 'text/html' || (encoding !== '' && !decode)) {
    res.writeHead(up.statusCode ?? 502, headers);
    res.flushHeaders();
    up.pipe(res);
    return;
  }
  // HTML is rewritten whole (as upstream buffers it), then re-encoded as it came.
  const chunks: Buffer[] = [];
  const body = decode ? up.pipe(decode) : up;
  body.on('data', (d: Buffer) => chunks.push(d));
  body.on('error', () => res.destroy());
  body.on('end', () => {
    const html = rewriteHtml(Buffer.concat(chunks).toString('utf8'), rw);
    let out = Buffer.from(html);
    if (encoding === 'gzip') out = zlib.gzipSync(out);
    else if (encoding === 'deflate') out = zlib.deflateSync(out);
    headers['content-length'] = out.length;
    res.writeHead(up.statusCode ?? 502, headers);
    res.end(out);
  });
}

/** Serves one proxied (non-upgrade) request. */
function proxyRequest(
  locate: (ctx: StorageContext, rr: SubresourceRequest) => ProxyLocation,
): SubresourceStorage['connect'] {
  return (ctx, req, res, rr) => {
    const loc = locate(ctx, rr);
    const { prefix, path, query } = splitProxyPath(req);
    // Upstream redirects an empty path to the one ending in '/' (kubernetes issue 4958).
    if (path === '' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(301, { Location: `${prefix}/${query}` });
      res.end();
      return Promise.resolve();
    }
    const rw: RewriteContext = {
      pathPrepend: prefix,
      backendHost: `${loc.host}:${loc.port}`,
      requestHost: req.headers.host ?? '',
    };
    return new Promise<void>((resolve) => {
      const mod = loc.scheme === 'https' ? https : http;
      const upstream = mod.request(
        {
          host: loc.host,
          port: loc.port,
          method: req.method,
          path: `${path}${query}`,
          headers: { ...forwardedHeaders(req, `${prefix}${path}`), ...loc.headers },
          // A pod's certificate names nothing the API server could check (upstream skips it too).
          rejectUnauthorized: loc.ca !== undefined,
          ...(loc.ca ? { ca: loc.ca } : {}),
          agent: false,
        },
        (up) => {
          relayResponse(up, res, rw);
          up.on('end', resolve);
          up.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        sendError(res, serviceUnavailable(dialError(loc, err)));
        resolve();
      });
      req.pipe(upstream);
    });
  };
}

/** Pipes an upgrade (a websocket to the pod) through: the backend's answer flows back untouched. */
function proxyUpgrade(
  locate: (ctx: StorageContext, rr: SubresourceRequest) => ProxyLocation,
): SubresourceStorage['upgrade'] {
  return (ctx, req, socket: Duplex, head, rr) => {
    const loc = locate(ctx, rr);
    const { prefix, path, query } = splitProxyPath(req);
    const upstream =
      loc.scheme === 'https'
        ? tls.connect({ host: loc.host, port: loc.port, rejectUnauthorized: false })
        : net.connect({ host: loc.host, port: loc.port });
    const lines = [`${req.method ?? 'GET'} ${path || '/'}${query} HTTP/1.1`];
    const headers = forwardedHeaders(req, `${prefix}${path}`);
    for (const h of ['upgrade', 'connection']) headers[h] = req.headers[h];
    for (const [k, v] of Object.entries(headers)) {
      if (v !== undefined) lines.push(`${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
    }
    upstream.once(loc.scheme === 'https' ? 'secureConnect' : 'connect', () => {
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      const body = JSON.stringify(serviceUnavailable(dialError(loc, err)).toStatus());
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
    });
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  };
}

const proxyVerbs = ['create', 'delete', 'get', 'patch', 'update'] as const;

/** pods/proxy: HTTP (and upgrades) to the pod's IP. */
export const podProxySubresource: SubresourceStorage = {
  kind: 'proxyOptions',
  verbs: proxyVerbs,
  connect: proxyRequest(podLocation),
  upgrade: proxyUpgrade(podLocation),
};

/**
 * nodes/proxy: HTTP to the node agent (kubelet) with the API server's kubelet credentials, as
 * `kubectl get --raw /api/v1/nodes/<node>/proxy/stats/summary` does; metrics-server's stand-in
 * scrapes through it from a pod network, where the node agent's loopback address is not reachable.
 */
export const nodeProxySubresource: SubresourceStorage = {
  kind: 'proxyOptions',
  verbs: proxyVerbs,
  connect: proxyRequest(nodeLocation),
};

function nodeLocation(ctx: StorageContext, rr: SubresourceRequest): ProxyLocation {
  const id = splitSchemeNamePort(rr.name);
  if (!id) throw badRequest(`invalid node request "${rr.name}"`);
  const kubelet = nodeKubelet(ctx, id.name);
  const creds = ctx.kubelet ?? {};
  return {
    scheme: 'https',
    host: kubelet.host,
    port: id.port === '' ? kubelet.port : Number(id.port),
    headers: creds.token ? { authorization: `Bearer ${creds.token}` } : {},
    ca: creds.insecureSkipTLSVerify ? undefined : creds.ca,
  };
}

/** services/proxy: HTTP (and upgrades) to one of the service's ready endpoints. */
export const serviceProxySubresource: SubresourceStorage = {
  kind: 'proxyOptions',
  verbs: proxyVerbs,
  connect: proxyRequest(serviceLocation),
  upgrade: proxyUpgrade(serviceLocation),
};
