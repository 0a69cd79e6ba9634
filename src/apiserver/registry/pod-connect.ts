// The pod subresources served by the pod's node agent (pods/log, exec, attach, portforward):
// locate the agent from the pod's Node object and forward the request (follows kubernetes
// pkg/registry/core/pod/strategy.go LogLocation/ExecLocation and pod/rest/log.go,
// subresources.go): logs stream through; upgrades (websocket or SPDY) are piped both ways untouched.
import type http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { KObject } from '../../api/object.js';
import { findResource } from '../../api/resources.js';
import { isObject } from '../../lib/json.js';
import { badRequest, methodNotAllowed, StatusError } from '../status-error.js';
import type { StorageContext, SubresourceRequest, SubresourceStorage } from './storage.js';

const podsResource = findResource('', 'v1', 'pods')!;
const nodesResource = findResource('', 'v1', 'nodes')!;

/** Where a pod's node agent listens. */
interface KubeletLocation {
  host: string;
  port: number;
  container: string;
}

function containerNames(pod: KObject, field: string): string[] {
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  const list = Array.isArray(spec[field]) ? spec[field] : [];
  return list.map((c) => (isObject(c) ? String(c['name'] ?? '') : ''));
}

/** Picks the container like upstream: the requested one, the default annotation, or the only one. */
export function pickContainer(pod: KObject, requested: string | null): string {
  const name = pod.metadata?.name ?? '';
  const containers = containerNames(pod, 'containers');
  const inits = containerNames(pod, 'initContainers');
  const ephemeral = containerNames(pod, 'ephemeralContainers');
  if (requested) {
    if (![...containers, ...inits, ...ephemeral].includes(requested)) {
      throw badRequest(`container ${requested} is not valid for pod ${name}`);
    }
    return requested;
  }
  const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && containers.includes(annotated)) return annotated;
  if (containers.length === 1) return containers[0]!;
  let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`;
  if (inits.length) msg += ` or one of the init containers: [${inits.join(' ')}]`;
  if (ephemeral.length) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
  throw badRequest(msg);
}

/** Resolves the node agent address of a pod and the container addressed by the query. */
export function locateKubelet(
  ctx: StorageContext,
  rr: SubresourceRequest,
  wantsContainer = true,
): KubeletLocation {
  const pod = ctx.store.get(podsResource, rr.namespace, rr.name);
  const container = wantsContainer ? pickContainer(pod, rr.query.get('container')) : '';
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  const nodeName = spec['nodeName'];
  if (typeof nodeName !== 'string' || nodeName === '') {
    throw badRequest(`pod ${rr.name} does not have a host assigned`);
  }
  return { ...nodeKubelet(ctx, nodeName), container };
}

/** Where a node's agent listens: its InternalIP and status.daemonEndpoints port. */
export function nodeKubelet(ctx: StorageContext, nodeName: string): { host: string; port: number } {
  const node = ctx.store.get(nodesResource, undefined, nodeName);
  const status = isObject(node['status']) ? node['status'] : {};
  const addresses = Array.isArray(status['addresses']) ? status['addresses'] : [];
  const internal = addresses.find((a) => isObject(a) && a['type'] === 'InternalIP');
  const host = isObject(internal) ? String(internal['address']) : '127.0.0.1';
  const de = isObject(status['daemonEndpoints']) ? status['daemonEndpoints'] : {};
  const ke = isObject(de['kubeletEndpoint']) ? de['kubeletEndpoint'] : {};
  const port = typeof ke['Port'] === 'number' ? ke['Port'] : 10250;
  return { host, port };
}

function forwardedQuery(q: URLSearchParams): string {
  const out = new URLSearchParams();
  for (const [k, v] of q) if (k !== 'container') out.append(k, v);
  const s = out.toString();
  return s ? `?${s}` : '';
}

function kubeletPath(
  kind: 'containerLogs' | 'exec' | 'attach' | 'portForward',
  rr: SubresourceRequest,
  container: string | undefined,
): string {
  const seg = (s: string) => encodeURIComponent(s);
  const c = container === undefined ? '' : `/${seg(container)}`;
  return `/${kind}/${seg(rr.namespace ?? '')}/${seg(rr.name)}${c}${forwardedQuery(rr.query)}`;
}

/** Streams a container log from the node agent (follow keeps the response open). */
function proxyPodLog(
  ctx: StorageContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rr: SubresourceRequest,
): Promise<void> {
  if (req.method !== 'GET') throw methodNotAllowed();
  const loc = locateKubelet(ctx, rr);
  const kubelet = ctx.kubelet ?? {};
  return new Promise((resolve) => {
    const upstream = https.request(
      {
        host: loc.host,
        port: loc.port,
        method: 'GET',
        path: kubeletPath('containerLogs', rr, loc.container),
        headers: kubelet.token ? { Authorization: `Bearer ${kubelet.token}` } : {},
        ca: kubelet.ca,
        rejectUnauthorized: !kubelet.insecureSkipTLSVerify,
      },
      (up) => {
        const headers: http.OutgoingHttpHeaders = {
          'Content-Type': up.headers['content-type'] ?? 'text/plain',
        };
        res.writeHead(up.statusCode ?? 502, headers);
        res.flushHeaders();
        up.pipe(res);
        up.on('end', resolve);
        up.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    // The client going away (kubectl logs -f interrupted) ends the upstream stream too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) {
        const e = new StatusError({
          reason: 'InternalError',
          code: 500,
          message: `Get "https://${loc.host}:${loc.port}/containerLogs/...": ${err.message}`,
        });
        res.writeHead(e.code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(e.toStatus()));
      } else res.destroy();
      resolve();
    });
    upstream.end();
  });
}

/** A plain (non-upgrade) exec request: upstream answers 400 asking for an upgrade. */
async function refuseWithoutUpgrade(
  _ctx: StorageContext,
  req: http.IncomingMessage,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST') throw methodNotAllowed();
  throw badRequest('Upgrade request required');
}

const forwardedUpgradeHeaders = [
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'x-stream-protocol-version',
  'content-length',
];

/** Pipes an exec or port-forward upgrade to the node agent; the 101 answer flows back untouched. */
function upgradeToKubelet(
  kind: 'exec' | 'attach' | 'portForward',
  ctx: StorageContext,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  rr: SubresourceRequest,
): void {
  const loc = locateKubelet(ctx, rr, kind !== 'portForward');
  const kubelet = ctx.kubelet ?? {};
  const upstream = tls.connect({
    host: loc.host,
    port: loc.port,
    ca: kubelet.ca,
    rejectUnauthorized: !kubelet.insecureSkipTLSVerify,
    ALPNProtocols: ['http/1.1'],
  });
  const path = kubeletPath(kind, rr, kind !== 'portForward' ? loc.container : undefined);
  const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`];
  lines.push(`Host: ${loc.host}:${loc.port}`);
  for (const h of forwardedUpgradeHeaders) {
    const v = req.headers[h];
    if (v !== undefined) lines.push(`${h}: ${Array.isArray(v) ? v.join(', ') : v}`);
  }
  if (kubelet.token) lines.push(`Authorization: Bearer ${kubelet.token}`);
  upstream.on('secureConnect', () => {
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  upstream.on('error', (err) => {
    if (socket.writable) {
      const body = JSON.stringify(
        new StatusError({
          reason: 'InternalError',
          code: 500,
          message: `error dialing backend: ${err.message}`,
        }).toStatus(),
      );
      socket.end(
        `HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
  });
  socket.on('error', () => upstream.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
}

const connectVerbs = ['create', 'get'] as const;

/** pods/log: the container's log from its node agent (PodLogOptions). */
export const podLogSubresource: SubresourceStorage = {
  kind: { group: '', version: 'v1', kind: 'Pod' },
  verbs: ['get'],
  connect: proxyPodLog,
};

/** pods/exec: a websocket or SPDY upgrade piped to the node agent. */
export const podExecSubresource: SubresourceStorage = {
  kind: { group: '', version: 'v1', kind: 'PodExecOptions' },
  verbs: connectVerbs,
  connect: refuseWithoutUpgrade,
  upgrade: (...args) => upgradeToKubelet('exec', ...args),
};

/** pods/attach: as exec, to the running container's main process. */
export const podAttachSubresource: SubresourceStorage = {
  kind: { group: '', version: 'v1', kind: 'PodAttachOptions' },
  verbs: connectVerbs,
  connect: refuseWithoutUpgrade,
  upgrade: (...args) => upgradeToKubelet('attach', ...args),
};

/** pods/portforward: SPDY (plain or tunnelled in a websocket) to the node agent, no container. */
export const podPortForwardSubresource: SubresourceStorage = {
  kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' },
  verbs: connectVerbs,
  connect: refuseWithoutUpgrade,
  upgrade: (...args) => upgradeToKubelet('portForward', ...args),
};
