// API aggregation: APIService objects with spec.service route /apis/<group>/<version>/** to a
// Service's ready endpoint over https, appear in discovery, and get an Available condition
// (follows kube-aggregator pkg/apiserver handler_proxy.go and available_controller.go).
import type http from 'node:http';
import https from 'node:https';
import type { KObject } from '../api/object.js';
import { findResource } from '../api/resources.js';
import { rfc3339 } from '../api/time.js';
import type { Clock, Timer } from '../lib/clock.js';
import { isObject } from '../lib/json.js';
import type { KeyValue, WatchHandle } from '../store/backend.js';
import type { ApiResourceEntry, ExtraGroupVersion } from './discovery.js';
import type { ApiContext, UserInfo } from './handlers/context.js';
import { StatusError, serviceUnavailable } from './status-error.js';

const apiservices = findResource('apiregistration.k8s.io', 'v1', 'apiservices')!;
const services = findResource('', 'v1', 'services')!;
const endpoints = findResource('', 'v1', 'endpoints')!;
const checkIntervalMs = 10_000;
const discoveryTtlMs = 10_000;

interface ServiceRef {
  namespace: string;
  name: string;
  port: number;
}

interface Backend {
  host: string;
  port: number;
}

/** Options of the aggregator. */
export interface AggregatorOptions {
  ctx: ApiContext;
  clock: Clock;
}

/** Tracks APIService objects and proxies their group-versions. */
export class Aggregator {
  #ctx: ApiContext;
  #clock: Clock;
  #byGv = new Map<string, KObject>();
  #watch: WatchHandle | undefined;
  #timer: Timer | undefined;
  #discovery = new Map<string, { at: number; resources: ApiResourceEntry[] }>();
  #stopped = false;

  constructor(opts: AggregatorOptions) {
    this.#ctx = opts.ctx;
    this.#clock = opts.clock;
    const store = this.#ctx.store;
    const prefix = store.prefix(apiservices);
    const list = store.backend.list(prefix);
    for (const kv of list.items) this.#track(store.decode(apiservices, kv));
    this.#watch = store.backend.watch(prefix, list.revision, (ev) => {
      const obj = store.decode(apiservices, ev.kv as KeyValue);
      if (ev.type === 'delete') this.#untrack(obj);
      else this.#track(obj);
    });
  }

  #gvOf(obj: KObject): string | undefined {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    if (!isObject(spec['service'])) return undefined;
    return `${String(spec['group'] ?? '')}/${String(spec['version'] ?? '')}`;
  }

  #track(obj: KObject): void {
    // The gv an APIService serves may change on update: drop any previous mapping of this name.
    this.#untrack(obj);
    const gv = this.#gvOf(obj);
    if (gv) this.#byGv.set(gv, obj);
  }

  #untrack(obj: KObject): void {
    for (const [gv, o] of this.#byGv)
      if (o.metadata?.name === obj.metadata?.name) this.#byGv.delete(gv);
  }

  /** Starts the periodic availability checks. */
  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      void this.#checkAll().finally(() => {
        if (!this.#stopped) this.#timer = this.#clock.setTimeout(loop, checkIntervalMs);
      });
    };
    loop();
  }

  /** Stops checks and the APIService watch. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#watch?.close();
  }

  #serviceRef(obj: KObject): ServiceRef | undefined {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    const svc = isObject(spec['service']) ? spec['service'] : undefined;
    if (!svc) return undefined;
    return {
      namespace: String(svc['namespace'] ?? ''),
      name: String(svc['name'] ?? ''),
      port: typeof svc['port'] === 'number' ? svc['port'] : 443,
    };
  }

  /** Resolves a ready endpoint of the APIService's Service; a reason string when there is none. */
  #resolve(obj: KObject): Backend | { reason: string; message: string } {
    const ref = this.#serviceRef(obj)!;
    let svc: KObject;
    try {
      svc = this.#ctx.store.get(services, ref.namespace, ref.name);
    } catch {
      return {
        reason: 'ServiceNotFound',
        message: `service/${ref.name} in "${ref.namespace}" is not present`,
      };
    }
    const spec = isObject(svc['spec']) ? svc['spec'] : {};
    const ports = Array.isArray(spec['ports']) ? spec['ports'].filter(isObject) : [];
    const sp = ports.find((p) => p['port'] === ref.port);
    if (!sp) {
      return {
        reason: 'ServicePortError',
        message: `service/${ref.name} in "${ref.namespace}" is not listening on port ${ref.port}`,
      };
    }
    let ep: KObject | undefined;
    try {
      ep = this.#ctx.store.get(endpoints, ref.namespace, ref.name);
    } catch {
      ep = undefined;
    }
    const subsets = ep && Array.isArray(ep['subsets']) ? ep['subsets'].filter(isObject) : [];
    for (const ss of subsets) {
      const addrs = Array.isArray(ss['addresses']) ? ss['addresses'].filter(isObject) : [];
      const eports = Array.isArray(ss['ports']) ? ss['ports'].filter(isObject) : [];
      const port =
        eports.find((p) => sp['name'] !== undefined && p['name'] === sp['name']) ??
        (eports.length === 1 ? eports[0] : undefined);
      if (addrs.length > 0 && port && typeof port['port'] === 'number') {
        return { host: String(addrs[0]!['ip']), port: port['port'] };
      }
    }
    return {
      reason: 'MissingEndpoints',
      message: `endpoints for service/${ref.name} in "${ref.namespace}" have no addresses with port name "${String(sp['name'] ?? '')}"`,
    };
  }

  #tlsOptions(obj: KObject): https.RequestOptions {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    const insecure = spec['insecureSkipTLSVerify'] === true;
    const caBundle =
      typeof spec['caBundle'] === 'string'
        ? Buffer.from(spec['caBundle'], 'base64').toString()
        : undefined;
    return { rejectUnauthorized: !insecure, ca: caBundle };
  }

  /** Proxies the request when gv is served through an APIService; false when it is not. */
  async tryProxy(
    group: string,
    version: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    user: UserInfo,
  ): Promise<boolean> {
    const svc = this.#byGv.get(`${group}/${version}`);
    if (!svc) return false;
    const backend = this.#resolve(svc);
    if (!('host' in backend)) throw unavailable();
    const headers: http.OutgoingHttpHeaders = {
      'X-Remote-User': user.username,
      'X-Remote-Group': user.groups,
    };
    for (const h of ['accept', 'content-type', 'content-length', 'user-agent']) {
      const v = req.headers[h];
      if (v !== undefined) headers[h] = v;
    }
    await new Promise<void>((resolve, reject) => {
      const up = https.request(
        {
          host: backend.host,
          port: backend.port,
          method: req.method,
          path: url.pathname + url.search,
          headers,
          ...this.#tlsOptions(svc),
        },
        (ures) => {
          const out: http.OutgoingHttpHeaders = {};
          for (const h of ['content-type', 'content-length', 'content-encoding']) {
            if (ures.headers[h] !== undefined) out[h] = ures.headers[h];
          }
          res.writeHead(ures.statusCode ?? 502, out);
          ures.pipe(res);
          ures.on('end', resolve);
          ures.on('error', () => resolve());
        },
      );
      up.on('error', () => reject(unavailable()));
      // The response closing before it finished means the client went away (request 'close'
      // fires as soon as the body is consumed, so it cannot be used for this).
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      req.pipe(up);
    });
    return true;
  }

  /** The aggregated group-versions for discovery, with their resources when the backend answers. */
  async discoveryGroups(): Promise<ExtraGroupVersion[]> {
    const out: ExtraGroupVersion[] = [];
    for (const [gv, svc] of this.#byGv) {
      const [group = '', version = ''] = gv.split('/');
      out.push({ group, version, resources: await this.#resourcesOf(gv, svc) });
    }
    return out;
  }

  async #resourcesOf(gv: string, svc: KObject): Promise<ApiResourceEntry[]> {
    const cached = this.#discovery.get(gv);
    if (cached && this.#clock.now() - cached.at < discoveryTtlMs) return cached.resources;
    const fetched = await this.#fetchResourceList(gv, svc).catch(() => undefined);
    const resources = fetched ?? cached?.resources ?? [];
    this.#discovery.set(gv, { at: this.#clock.now(), resources });
    return resources;
  }

  #fetchResourceList(gv: string, svc: KObject): Promise<ApiResourceEntry[]> {
    const backend = this.#resolve(svc);
    if (!('host' in backend)) return Promise.reject(new Error(backend.message));
    return new Promise((resolve, reject) => {
      const up = https.request(
        {
          host: backend.host,
          port: backend.port,
          method: 'GET',
          path: `/apis/${gv}`,
          headers: {
            Accept: 'application/json',
            'X-Remote-User': 'system:kube-aggregator',
            'X-Remote-Group': 'system:masters',
          },
          timeout: 5000,
          ...this.#tlsOptions(svc),
        },
        (ures) => {
          const chunks: Buffer[] = [];
          ures.on('data', (c: Buffer) => chunks.push(c));
          ures.on('end', () => {
            if ((ures.statusCode ?? 0) !== 200) {
              reject(
                new Error(
                  `failing or missing response from https://${backend.host}:${backend.port}/apis/${gv}: bad status from https://${backend.host}:${backend.port}/apis/${gv}: ${ures.statusCode}`,
                ),
              );
              return;
            }
            try {
              const list = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
                resources?: ApiResourceEntry[];
              };
              resolve(Array.isArray(list.resources) ? list.resources : []);
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
          ures.on('error', reject);
        },
      );
      up.on('timeout', () => up.destroy(new Error('timeout')));
      up.on('error', reject);
      up.end();
    });
  }

  async #checkAll(): Promise<void> {
    for (const [gv, svc] of [...this.#byGv]) {
      let available = true;
      let reason = 'Passed';
      let message = 'all checks passed';
      try {
        const resources = await this.#fetchResourceList(gv, svc);
        this.#discovery.set(gv, { at: this.#clock.now(), resources });
      } catch (err) {
        available = false;
        const resolved = this.#resolve(svc);
        reason = 'host' in resolved ? 'FailedDiscoveryCheck' : resolved.reason;
        message = err instanceof Error ? err.message : String(err);
      }
      this.#setAvailable(svc.metadata?.name ?? '', available, reason, message);
    }
  }

  #setAvailable(name: string, available: boolean, reason: string, message: string): void {
    const status = available ? 'True' : 'False';
    try {
      this.#ctx.store.guaranteedUpdate(
        apiservices,
        undefined,
        name,
        (cur) => {
          const st = isObject(cur['status']) ? cur['status'] : {};
          const conds = Array.isArray(st['conditions']) ? st['conditions'].filter(isObject) : [];
          const prev = conds.find((c) => c['type'] === 'Available');
          if (
            prev &&
            prev['status'] === status &&
            prev['reason'] === reason &&
            prev['message'] === message
          )
            return cur;
          const cond = {
            type: 'Available',
            status,
            lastTransitionTime:
              prev && prev['status'] === status
                ? prev['lastTransitionTime']
                : rfc3339(this.#clock.now()),
            reason,
            message,
          };
          cur['status'] = {
            ...st,
            conditions: [...conds.filter((c) => c['type'] !== 'Available'), cond],
          };
          return cur;
        },
        { subresource: 'status' },
      );
    } catch (err) {
      // Deleted meanwhile: nothing to report on.
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
  }
}

function unavailable(): StatusError {
  return serviceUnavailable('the server is currently unable to handle the request');
}
