// The API server: node:http(s) wiring, authentication, health, version, discovery, OpenAPI and
// routing to the generic REST handlers (k8s.io/apiserver's handler chain, flattened).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { findResource } from '../api/resources.js';
import { type Clock, realClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import type { Backend } from '../store/backend.js';
import { Aggregator } from './aggregator.js';
import { createAuthenticator } from './auth/authenticator.js';
import type { Pki } from './auth/pki.js';
import { issueServiceAccountToken } from './auth/tokens.js';
import {
  aggregatedDiscovery,
  aggregatedDiscoveryContentType,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
} from './discovery.js';
import type { ProtobufDecoder } from './handlers/body.js';
import type { ApiContext, UserInfo } from './handlers/context.js';
import { parseGroupVersion, parseResourcePath } from './handlers/request-info.js';
import { handleResource, type ResourceRequest } from './handlers/rest.js';
import { parseMediaTypes, sendError, sendObject } from './http.js';
import { ApiServerMetrics, requestLabels } from './metrics.js';
import { OpenApiV3 } from './openapi.js';
import { registryConfig } from './registry/config.js';
import { GenericStore } from './registry/generic/store.js';
import { defaultRegistry } from './registry/index.js';
import type { KubeletClientConfig, Registry, ServiceAccountIssuer } from './registry/storage.js';
import { pathNotFound, StatusError, toStatusError, unauthorized } from './status-error.js';

/** The version /version reports (kubectl's dispatcher picks its client from major/minor). */
export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
}

/** Authenticates a request: the user, or undefined when the credentials are missing or invalid. */
export interface Authenticator {
  authenticate(req: http.IncomingMessage): Promise<UserInfo | undefined>;
}

/** Options of createApiServer. */
export interface ApiServerOptions {
  backend: Backend;
  clock?: Clock;
  version?: Partial<ServerVersion>;
  host?: string;
  /** Default 6443; 0 picks a free port. */
  port?: number;
  /** Serve https with this key pair; plain http when absent. clientCa enables client certificates. */
  tls?: { key: string; cert: string; clientCa?: string };
  /** Absent: every request is allowed as an anonymous admin (unit tests, plain http). */
  authenticator?: Authenticator;
  serviceAccountIssuer?: ServiceAccountIssuer;
  kubelet?: KubeletClientConfig;
  /**
   * The cluster PKI (src/apiserver/auth/pki.ts ensurePki): when given, and the options above are
   * not, it supplies tls (serving cert), the bearer-token authenticator, the TokenRequest issuer
   * and the kubelet client credentials.
   */
  pki?: Pki;
  /** Overrides the registry (tests wrap it); default: src/apiserver/registry/index.ts. */
  registry?: Registry;
  /** IPv4 CIDR ClusterIPs are allocated from (--service-cluster-ip-range); default 10.96.0.0/12. */
  serviceCIDR?: string;
  /** Inclusive NodePort range (--service-node-port-range); default 30000–32767. */
  nodePortRange?: { min: number; max: number };
  /**
   * How long a client may take to send a request head (Node's headersTimeout, default 60 s);
   * checked every quarter of it, so a slowloris client is cut within 1.25× this.
   */
  headersTimeoutMs?: number;
}

/** A running (or ready to listen) API server. */
export interface ApiServer {
  handler(req: http.IncomingMessage, res: http.ServerResponse): void;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
  /** Resolves once the system namespaces exist. */
  ready: Promise<void>;
}

const seedNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const healthPaths = new Set(['/healthz', '/livez', '/readyz', '/version']);
const healthChecks = ['ping', 'log', 'etcd', 'poststarthook/start-apiextensions-informers'];
const anonymousAdmin: UserInfo = {
  username: 'system:admin',
  groups: ['system:masters', 'system:authenticated'],
};

/** Creates the API server; call listen() to bind, or mount handler/upgrade on another server. */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const clock = opts.clock ?? realClock;
  opts = withPki(opts, clock, () => ctx);
  const log = createLogger({ component: 'apiserver' });
  const version: ServerVersion = {
    major: opts.version?.major ?? '1',
    minor: opts.version?.minor ?? '32',
    gitVersion: opts.version?.gitVersion ?? 'v1.32.0',
  };
  const watches = new Set<() => void>();
  let ctx: ApiContext | undefined;
  let aggregator: Aggregator | undefined;
  let metrics: ApiServerMetrics | undefined;
  let isReady = false;
  let boundPort = opts.port ?? 6443;
  const openapi = new OpenApiV3();

  const ready = (async () => {
    const registry = opts.registry ?? defaultRegistry;
    const store = new GenericStore({
      backend: opts.backend,
      clock,
      strategyFor: (r) => registry.storageFor(r).strategy,
      config: registryConfig({ serviceCIDR: opts.serviceCIDR, nodePortRange: opts.nodePortRange }),
    });
    ctx = {
      store,
      registry,
      loadProtobuf: lazyProtobufDecoder(),
      serviceAccountIssuer: opts.serviceAccountIssuer,
      kubelet: opts.kubelet,
      log,
      trackWatch: (close) => {
        watches.add(close);
        return () => watches.delete(close);
      },
    };
    const nsResource = findResource('', 'v1', 'namespaces')!;
    for (const name of seedNamespaces) {
      if (!opts.backend.get(store.key(nsResource, undefined, name))) {
        store.create(nsResource, undefined, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name },
        });
      }
    }
    aggregator = new Aggregator({ ctx, clock });
    metrics = new ApiServerMetrics({ store });
    isReady = true;
  })();

  const versionBody = () => ({
    ...version,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23.4',
    compiler: 'gc',
    platform: 'linux/amd64',
  });

  const sendText = (
    res: http.ServerResponse,
    code: number,
    text: string,
    type = 'text/plain; charset=utf-8',
  ) => {
    res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  const serveHealth = (path: string, url: URL, res: http.ServerResponse) => {
    const base = `/${path.split('/')[1]}`;
    const ok = base !== '/readyz' || isReady;
    if (url.searchParams.has('verbose')) {
      const lines = healthChecks.map((c) => `[+]${c} ok`);
      if (base === '/readyz')
        lines.push(`[${isReady ? '+' : '-'}]informer-sync ${isReady ? 'ok' : 'failed: not ready'}`);
      lines.push(`${base.slice(1)} check ${ok ? 'passed' : 'failed'}`);
      sendText(res, ok ? 200 : 500, `${lines.join('\n')}\n`);
      return;
    }
    sendText(
      res,
      ok ? 200 : 500,
      ok ? 'ok' : `[-]informer-sync failed: not ready\n${base.slice(1)} check failed`,
    );
  };

  const authenticate = async (req: http.IncomingMessage): Promise<UserInfo> => {
    if (!opts.authenticator) return anonymousAdmin;
    const user = await opts.authenticator.authenticate(req);
    // Authorization: RBAC is not evaluated; every authenticated user (admin or service account)
    // is allowed everything.
    if (!user) throw unauthorized();
    return user;
  };

  const serveDiscovery = async (
    path: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<boolean> => {
    const accept = parseMediaTypes(req.headers.accept);
    const wantAggregated = accept.find(
      (m) => m.params['as'] === 'APIGroupDiscoveryList' && m.params['g'] === 'apidiscovery.k8s.io',
    );
    const extra = path === '/apis' ? await aggregator!.discoveryGroups() : [];
    if (path === '/api' || path === '/apis') {
      if (wantAggregated) {
        const v = wantAggregated.params['v'] === 'v2beta1' ? 'v2beta1' : 'v2';
        const body = JSON.stringify(
          aggregatedDiscovery(path === '/api' ? 'api' : 'apis', v, extra),
        );
        sendText(res, 200, body, aggregatedDiscoveryContentType(v));
        return true;
      }
      const addr = `${opts.host ?? '127.0.0.1'}:${boundPort}`;
      sendObject(res, 200, path === '/api' ? apiVersions(addr) : apiGroupList(extra));
      return true;
    }
    const segs = path.split('/').filter(Boolean);
    if (segs[0] === 'apis' && segs.length === 2) {
      const g = apiGroup(segs[1]!, await aggregator!.discoveryGroups());
      if (!g) return false;
      sendObject(res, 200, g);
      return true;
    }
    const gv = parseGroupVersion(segs);
    if (gv && gv.rest.length === 0) {
      const list = apiResourceList(gv.group, gv.version);
      if (!list) return false;
      sendObject(res, 200, list);
      return true;
    }
    return false;
  };

  const route = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    user: UserInfo,
  ) => {
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname;
    if (path === '/version') {
      sendObject(res, 200, versionBody());
      return;
    }
    if (path === '/metrics') {
      sendText(res, 200, metrics!.render(), 'text/plain; version=0.0.4; charset=utf-8');
      return;
    }
    if (path === '/openapi/v2') {
      sendOpenApiV2(req, res, version.gitVersion, openapi);
      return;
    }
    if (path === '/openapi/v3') {
      sendText(res, 200, openapi.index(), 'application/json');
      return;
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapi.document(path.slice('/openapi/v3/'.length));
      if (!doc) throw pathNotFound();
      sendText(res, 200, doc, 'application/json');
      return;
    }
    const segs = path.split('/').filter(Boolean);
    const gv = parseGroupVersion(segs);
    if (gv && (await aggregator!.tryProxy(gv.group, gv.version, req, res, url, user))) return;
    if (await serveDiscovery(path, req, res)) return;
    const info = parseResourcePath(path);
    if (!info) throw pathNotFound();
    const r = findResource(info.group, info.version, info.resource);
    if (!r) throw pathNotFound();
    if (info.namespace !== undefined && !r.namespaced) throw pathNotFound();
    const rr: ResourceRequest = {
      r,
      namespace: r.namespaced ? info.namespace : undefined,
      name: info.name,
      subresource: info.subresource,
      query: url.searchParams,
      isWatchPath: info.isWatchPath,
      user,
    };
    // A namespaced object needs a namespace in its path.
    if (r.namespaced && rr.name !== undefined && rr.namespace === undefined) throw pathNotFound();
    await handleResource(ctx!, req, res, rr);
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const started = clock.now();
    res.setHeader('Cache-Control', 'no-cache, private');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const run = async () => {
      const p = url.pathname;
      const base = `/${p.split('/')[1] ?? ''}`;
      if (base === '/healthz' || base === '/livez' || base === '/readyz') {
        serveHealth(p, url, res);
        return;
      }
      await ready;
      const user = healthPaths.has(p) ? anonymousAdmin : await authenticate(req);
      await route(req, res, url, user);
    };
    run()
      .catch((err: unknown) => {
        const status = toStatusError(err);
        if (!(err instanceof StatusError)) log.error('Request failed', { err, path: url.pathname });
        // Drain an unread body so keep-alive connections stay usable.
        req.resume();
        sendError(res, status);
      })
      .finally(() => {
        const labels = requestLabels(req.method ?? 'GET', url, req.headers['content-type']);
        metrics?.observe(labels, res.statusCode, (clock.now() - started) / 1000);
        // A watch stays open after its handler returned: it counts as long-running until closed.
        if (labels.verb === 'WATCH' && !res.writableEnded && metrics) {
          res.on('close', metrics.startLongRunning(labels));
        }
        log.debug('request', {
          method: req.method,
          path: url.pathname,
          status: res.statusCode,
          ms: clock.now() - started,
        });
      });
  };

  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (err: StatusError) => {
      const body = JSON.stringify(err.toStatus());
      socket.end(
        `HTTP/1.1 ${err.code} ${http.STATUS_CODES[err.code] ?? ''}\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    const run = async () => {
      await ready;
      await authenticate(req);
      const info = parseResourcePath(url.pathname);
      const r = info && findResource(info.group, info.version, info.resource);
      if (!info || !r || info.subresource === undefined || info.name === undefined) {
        throw pathNotFound();
      }
      // Only subresources whose storage takes upgrades (exec, attach, portforward) do.
      const storage = ctx!.registry.storageFor(r).subresources[info.subresource];
      if (!storage?.upgrade) throw pathNotFound();
      storage.upgrade(ctx!, req, socket, head, {
        r,
        namespace: info.namespace,
        name: info.name,
        subresource: info.subresource,
        query: url.searchParams,
      });
    };
    socket.on('error', (err) => log.debug('Upgrade socket error', { err }));
    run().catch((err: unknown) => refuse(toStatusError(err)));
  };

  const headersTimeout = opts.headersTimeoutMs ?? 60_000;
  // Node checks the timeout every 30 s by default, which lets a slow head live up to 90 s.
  const timeouts = {
    headersTimeout,
    connectionsCheckingInterval: Math.max(headersTimeout / 4, 250),
  };
  const server: http.Server = opts.tls
    ? https.createServer({
        ...timeouts,
        key: opts.tls.key,
        cert: opts.tls.cert,
        ca: opts.tls.clientCa,
        requestCert: opts.tls.clientCa !== undefined,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      })
    : http.createServer(timeouts);
  server.on('request', handler);
  server.on('upgrade', upgrade);
  // Watches and logs -f are long-lived: no request timeout; keep idle connections for reuse.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.maxConnections = 10_000;

  return {
    handler,
    upgrade,
    ready,
    async listen() {
      await ready;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 6443, opts.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      boundPort = (server.address() as AddressInfo).port;
      aggregator?.start();
      return { port: boundPort };
    },
    async close() {
      aggregator?.stop();
      for (const close of [...watches]) close();
      await new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

const podsResource = findResource('', 'v1', 'pods')!;
const serviceAccountsResource = findResource('', 'v1', 'serviceaccounts')!;

/** Fills tls/authenticator/serviceAccountIssuer/kubelet from opts.pki where not given. */
function withPki(
  opts: ApiServerOptions,
  clock: Clock,
  ctx: () => ApiContext | undefined,
): ApiServerOptions {
  const pki = opts.pki;
  if (!pki) return opts;
  const lookup = (kind: 'Pod' | 'ServiceAccount', namespace: string, name: string) => {
    const c = ctx();
    if (!c) return undefined;
    const r = kind === 'Pod' ? podsResource : serviceAccountsResource;
    const kv = c.store.backend.get(c.store.key(r, namespace, name));
    if (!kv) return undefined;
    const uid = (JSON.parse(kv.value) as { metadata?: { uid?: string } }).metadata?.uid;
    return uid ? { uid } : undefined;
  };
  const issuer: ServiceAccountIssuer = (req) => {
    const expirationSeconds = req.expirationSeconds ?? 3600;
    const ref = req.boundObjectRef;
    const token = issueServiceAccountToken(pki, {
      namespace: req.namespace,
      serviceAccountName: req.name,
      serviceAccountUid: req.uid,
      pod:
        ref?.kind === 'Pod' && ref.name && ref.uid ? { name: ref.name, uid: ref.uid } : undefined,
      expirationSeconds,
      now: clock.now(),
      audiences: req.audiences,
    });
    const exp = new Date(clock.now() + expirationSeconds * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    return { token, expirationTimestamp: exp };
  };
  return {
    ...opts,
    tls: opts.tls ?? (pki.serverCert ? { key: pki.serverKey, cert: pki.serverCert } : undefined),
    authenticator: opts.authenticator ?? createAuthenticator({ pki, lookup, clock }),
    serviceAccountIssuer: opts.serviceAccountIssuer ?? issuer,
    kubelet: opts.kubelet ?? { token: pki.kubeletToken, ca: pki.caCert || undefined },
  };
}

/**
 * The OpenAPI v2 document. As gnostic protobuf (what kubectl asks for) it is minimal, with no
 * definitions: kubectl ≤1.29 fetches it before `apply` and fails on a 404, and with no schema for
 * a kind it falls back to its compiled-in types for the strategic merge patch. As JSON it carries
 * every kind's definitions (openapi.ts).
 */
function sendOpenApiV2(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  gitVersion: string,
  openapi: OpenApiV3,
): void {
  const accept = String(req.headers.accept ?? '');
  if (accept.includes('protobuf')) {
    // openapi_v2.Document: 1 swagger, 2 info {1 title, 2 version}, 8 paths {} (field numbers from gnostic).
    const str = (field: number, v: string) => {
      const b = Buffer.from(v, 'utf8');
      return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
    };
    const info = Buffer.concat([str(1, 'Kubernetes'), str(2, gitVersion)]);
    const body = Buffer.concat([
      str(1, '2.0'),
      Buffer.from([(2 << 3) | 2, info.length]),
      info,
      Buffer.from([(8 << 3) | 2, 0]),
    ]);
    res.writeHead(200, {
      'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
      'Content-Length': body.length,
      'Cache-Control': 'no-cache, private',
    });
    res.end(body);
    return;
  }
  // JSON (the Python client, curl) gets the definitions too.
  const body = openapi.v2(gitVersion);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-cache, private',
  });
  res.end(body);
}

/**
 * A loader of the protobuf decoder that imports it on first call: protobufjs and its schema cost
 * startup time and memory, and only kubectl's typed creates send protobuf.
 */
function lazyProtobufDecoder(): () => Promise<ProtobufDecoder> {
  let loading: Promise<ProtobufDecoder> | undefined;
  return () => {
    loading ??= import('./protobuf/decode.js').then((m) => m.decodeProtobuf);
    return loading;
  };
}
