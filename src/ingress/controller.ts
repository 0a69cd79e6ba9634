// The ingress controller: watches Ingresses, IngressClasses, Services and EndpointSlices, keeps the
// route table and per-backend balancers current, writes Ingress status, and serves HTTP
// (ingress-nginx's role: internal/ingress/controller/nginx.go + status/status.go).
import { rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { EndpointPicker, endpointsForServicePort, type Target } from '../api/endpoint-picker.js';
import { objectKey } from '../client/informer.js';
import { InformerFactory } from '../client/informer-factory.js';
import { R } from '../client/resources.js';
import type { KObject, KubeClient } from '../client/rest.js';
import { BoundedFrequencyRunner } from '../lib/bounded-frequency-runner.js';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Component } from '../lib/lifecycle.js';
import { createLogger, type Logger } from '../lib/log.js';
import { BufferedLog } from './access-log.js';
import { ActivityReporter } from './activity.js';
import { ColdStartPods } from './cold-start.js';
import { acceptBacklog, bindAll, listenOn } from './listen.js';
import { NginxDataPlane } from './nginx.js';
import { renderLuaConfig, upstreamName } from './nginx-conf.js';
import { defaultEndpointWaitMs, IngressProxy } from './proxy.js';
import {
  isOwnedIngress,
  nginxController,
  ownedClasses,
  type RouteBackend,
  RouteTable,
} from './routes.js';
import { mergeStats, type StatsSnapshot, TrafficStats } from './stats.js';
import { createStatusServer } from './status.js';

/** nginx's fail_timeout: how long a refused endpoint stays out before it is tried again. */
const failTimeoutMs = 10_000;
/**
 * A Service that scales from zero: how soon a refused endpoint is tried again (a pod just started
 * may be Ready a moment before it listens), and how long its requests may wait for a pod.
 */
const coldRetryMs = 50;
const coldStartWaitMs = 30_000;

/** Options of createIngressController. */
export interface IngressControllerOptions {
  client: KubeClient;
  clock?: Clock;
  log?: Logger;
  /** HTTP port; default 80. */
  httpPort?: number;
  /** Used when httpPort cannot be bound (EACCES/EADDRINUSE); default 8080. */
  fallbackPort?: number;
  /**
   * Addresses to serve HTTP on; default 127.0.0.1 only. The first one that binds decides the
   * port (httpPort or the fallback); others that cannot bind are skipped with a warning.
   */
  bindAddresses?: string[];
  /** Port of /healthz and /stats; default 10254 as ingress-nginx. 0 picks a free port; false
   * serves none (a worker process whose primary serves it). */
  statusPort?: number | false;
  /** Address of the status port; default 127.0.0.1. */
  statusAddress?: string;
  /** Address published in Ingress status.loadBalancer; default 127.0.0.1. */
  publishIP?: string;
  /** The controller value of IngressClasses served; default k8s.io/ingress-nginx. */
  controllerClass?: string;
  /**
   * false: bind nothing; the port comes through listenOn() (a worker of the supervisor process
   * that holds the port). Default true.
   */
  listen?: boolean;
  /** nginx-style access log sink; default stdout. `false` disables it. */
  accessLog?: ((line: string) => void) | false;
  /** How long a request waits for a ready endpoint before its 503/502; default 10 s. */
  endpointWaitMs?: number;
  /**
   * Serve with nginx (its Lua module routes and balances; this process holds what it cannot
   * serve) instead of the Node data path: the nginx binary (findNginx) and its worker count.
   */
  nginx?: {
    path: string;
    workers?: number;
    /** GET/HEAD answers up to this size are read whole and retried when cut; 0: all stream. */
    wholeAnswerBytes?: number;
  };
}

/** The running controller's bound ports. */
export interface IngressController extends Component {
  readonly httpPort: number;
  readonly statusPort: number;
  /** This process's traffic counters. */
  readonly stats: TrafficStats;
  /** True once the route table is synced and HTTP is served. */
  readonly serving: boolean;
  /**
   * Accepts from a server listening in another process too (the supervisor sent it); requests
   * wait for the first sync. Ignored once stopping.
   */
  listenOn(handle: net.Server): Promise<void>;
  /** Serves a connection another process accepted (the supervisor passed it). */
  serveConnection(conn: net.Socket): void;
}

/** The ingress controller as a Component. */
export function createIngressController(opts: IngressControllerOptions): IngressController {
  return new Controller(opts);
}

class Controller implements IngressController {
  readonly name = 'ingress-controller';
  httpPort = 0;
  statusPort = 0;
  serving = false;
  readonly stats: TrafficStats;
  #accessLog: BufferedLog | undefined;
  #opts: IngressControllerOptions;
  #clock: Clock;
  #stopping = false;
  #log: Logger;
  #informers: InformerFactory;
  #ingresses;
  #classes;
  #services;
  #slices;
  #routes = new RouteTable([]);
  #pickers = new Map<string, EndpointPicker>();
  #runner: BoundedFrequencyRunner;
  #proxy: IngressProxy;
  #activity: ActivityReporter;
  #coldPods: ColdStartPods;
  /** HTTP servers listening (closed at stop). */
  #servers: http.Server[] = [];
  #done: Promise<void> = Promise.resolve();
  /** Requests waiting for the endpoints of a Service ("ns/name") to change. */
  #waiters = new Map<string, Set<() => void>>();
  /** When a Service's slices last went from some endpoint to none ("ns/name" → ms). */
  #emptySince = new Map<string, number>();
  /** Services whose slices list at least one endpoint, ready or not. */
  #withEndpoints = new Set<string>();
  /** Services whose slices list an endpoint that is not terminating (a pod that may serve). */
  #withLiveEndpoints = new Set<string>();
  /** The nginx data plane, when it serves. */
  #nginx: NginxDataPlane | undefined;
  #pushTimer: ReturnType<Clock['setTimeout']> | undefined;
  #markSynced: () => void = () => undefined;
  #synced = new Promise<void>((resolve) => {
    this.#markSynced = resolve;
  });

  constructor(opts: IngressControllerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.log ?? createLogger()).child({ component: 'ingress-controller' });
    this.#informers = new InformerFactory({ client: opts.client, clock: this.#clock });
    this.#ingresses = this.#informers.informerFor<Ingress & KObject>(R.ingresses);
    this.#classes = this.#informers.informerFor<IngressClass & KObject>(R.ingressclasses);
    this.#services = this.#informers.informerFor<Service & KObject>(R.services);
    this.#slices = this.#informers.informerFor<EndpointSlice & KObject>(R.endpointslices);
    this.#runner = new BoundedFrequencyRunner({
      fn: () => this.#sync(),
      minIntervalMs: 50,
      maxIntervalMs: 60_000,
      clock: this.#clock,
      onError: (err) => this.#log.warn('Ingress sync failed', { err: errorMessage(err) }),
    });
    this.stats = new TrafficStats({ clock: this.#clock });
    this.#activity = new ActivityReporter({
      client: opts.client,
      clock: this.#clock,
      log: this.#log,
      stats: this.stats,
    });
    this.#coldPods = new ColdStartPods({
      client: opts.client,
      log: this.#log,
      clock: this.#clock,
      onChange: (ns, svc) => this.#refreshService(ns, svc),
    });
    if (opts.accessLog === undefined) {
      this.#accessLog = new BufferedLog({
        write: (chunk) => process.stdout.write(chunk),
        clock: this.#clock,
      });
    }
    const buffered = this.#accessLog;
    const sink =
      // nginx writes the access log; its holder's requests are logged there too.
      opts.accessLog === false || opts.nginx
        ? undefined
        : (opts.accessLog ?? (buffered ? (line: string) => buffered.push(line) : undefined));
    this.#proxy = new IngressProxy({
      routes: () => this.#routes,
      pickerFor: (b) => this.#pickerFor(b),
      onRefused: (b, t) => {
        // Passive health check: drop the endpoint now, give it another chance after fail_timeout.
        const p = this.#pickers.get(this.#backendKey(b));
        p?.remove(t);
        const cold = this.#activity.scalesFromZero(b.namespace, b.service);
        this.#clock.setTimeout(
          () => this.#refreshService(b.namespace, b.service),
          cold ? coldRetryMs : failTimeoutMs,
        );
      },
      accessLog: sink,
      stats: this.stats,
      clock: this.#clock,
      endpointWaitMs: opts.endpointWaitMs,
      endpointsChanged: (b, ms) => this.#endpointsChanged(`${b.namespace}/${b.service}`, ms),
      mayWait: (b) =>
        this.#mayWait(`${b.namespace}/${b.service}`) ||
        this.#activity.scalesFromZero(b.namespace, b.service),
      onRequest: (b) => this.#activity.seen(b.namespace, b.service),
      onHeld: (b) => {
        // No endpoint but terminating ones (the slices may still list the pod that went away
        // with the scale to zero), or the Lease says it is at zero: wake it now.
        if (
          !this.#withLiveEndpoints.has(`${b.namespace}/${b.service}`) ||
          this.#activity.atZero(b.namespace, b.service)
        )
          this.#activity.held(b.namespace, b.service);
        else this.#activity.holding(b.namespace, b.service, +1);
        // Waking: route to its first Ready pod without waiting for the EndpointSlice.
        const svc = this.#services.lister.get(b.namespace, b.service);
        if (svc && this.#activity.scalesFromZero(b.namespace, b.service)) this.#coldPods.start(svc);
      },
      onHeldDone: (b) => this.#activity.holding(b.namespace, b.service, -1),
      // An open WebSocket is activity: its Lease is renewed as for held requests while it lasts.
      onTunnel: (b, delta) => this.#activity.holding(b.namespace, b.service, delta),
      holdBudgetMs: (b) =>
        this.#activity.scalesFromZero(b.namespace, b.service)
          ? Math.max(coldStartWaitMs, opts.endpointWaitMs ?? defaultEndpointWaitMs)
          : undefined,
      synced: this.#synced,
      trustForwarded: !!opts.nginx,
    });
    this.httpPort = opts.httpPort ?? 80;
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => {
      this.#stopping = true;
    });
    const rebuild = {
      onAdd: () => this.#runner.run(),
      onUpdate: () => this.#runner.run(),
      onDelete: () => this.#runner.run(),
    };
    this.#ingresses.addEventHandler(rebuild);
    this.#classes.addEventHandler(rebuild);
    const onService = (s: Service) => {
      this.#dropService(s.metadata?.namespace ?? '', s.metadata?.name ?? '');
      this.#schedulePush();
      this.#wake(`${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`);
    };
    this.#services.addEventHandler({
      onAdd: onService,
      onUpdate: (_o, n) => onService(n),
      onDelete: onService,
    });
    const onSlice = (s: EndpointSlice) => {
      const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
      if (svc) this.#refreshService(s.metadata?.namespace ?? '', svc);
    };
    this.#slices.addEventHandler({
      onAdd: onSlice,
      onUpdate: (_o, n) => onSlice(n),
      onDelete: onSlice,
    });
    // Take connections before the caches sync: a restarted controller's clients wait for the
    // route table (IngressProxyOptions.synced) instead of finding the port closed.
    if (this.#opts.nginx) await this.#startNginx(signal);
    else if (this.#opts.listen !== false) {
      const bound = await bindAll({
        bind: async (port, host) => {
          const server = this.#makeServer();
          await listenOn(server, port, host);
          return server;
        },
        portOf: (server) => (server.address() as net.AddressInfo).port,
        ...this.#bindOptions(),
      });
      this.httpPort = bound.port;
      // The retries push late servers to this same list.
      this.#servers = bound.bound;
    }
    const statusPort = this.#opts.statusPort ?? 10254;
    const status =
      statusPort === false
        ? undefined
        : createStatusServer({
            healthy: () => this.serving,
            stats: async () => mergeStats(await this.#snapshots()),
          });
    if (status && statusPort !== false) {
      await listenOn(status, statusPort, this.#opts.statusAddress ?? '127.0.0.1');
      this.statusPort = (status.address() as { port: number }).port;
    }
    this.#done = new Promise((resolve) => {
      const stop = () => {
        void this.#runner.stop();
        this.serving = false;
        this.#proxy.close();
        this.#coldPods.close();
        this.#accessLog?.flush();
        this.#pushTimer?.cancel();
        status?.close();
        // nginx first finishes its requests (some may wait in the holder), then the servers close.
        const planeStopped = this.#nginx?.stop() ?? Promise.resolve();
        const servers = this.#servers;
        void Promise.all([
          planeStopped,
          ...servers.map(
            (server) =>
              new Promise<void>((done) => {
                server.closeAllConnections();
                server.close(() => done());
              }),
          ),
        ]).then(() => {
          // Requests still held had their connections closed: end their waits (timers of up
          // to the cold-start budget would keep the process alive).
          this.#proxy.endHolds();
          for (const key of [...this.#waiters.keys()]) this.#wake(key);
          resolve();
        });
      };
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
    this.#informers.start(signal);
    await Promise.all([
      this.#informers.waitForCacheSync(signal),
      this.#activity.start(signal).catch((err: unknown) => {
        if (!signal.aborted) throw err;
      }),
    ]);
    if (signal.aborted) return;
    await this.#sync();
    this.#runner.start();
    this.#markSynced();
    await this.#pushNow();
    this.#pollActivity(signal);
    this.serving = true;
    this.#log.info('Ingress controller serving', {
      httpPort: this.httpPort,
      addresses: this.#servers.flatMap((s) => {
        const a = s.address();
        return a && typeof a === 'object' ? [a.address] : [];
      }),
      statusPort: this.statusPort,
    });
  }

  /**
   * Starts nginx on the HTTP addresses (the port, or its fallback, as bindAll decides by probing)
   * with the holder listening on a unix socket for what nginx cannot serve.
   */
  async #startNginx(signal: AbortSignal): Promise<void> {
    const cfg = this.#opts.nginx;
    if (!cfg) return;
    const probe = async (port: number, host: string): Promise<string> => {
      const s = net.createServer();
      await listenOn(s, port, host);
      const bound = (s.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => s.close(() => resolve()));
      return `${net.isIPv6(host) ? `[${host}]` : host}:${bound}`;
    };
    const bound = await bindAll({
      bind: probe,
      portOf: (a) => Number(a.slice(a.lastIndexOf(':') + 1)),
      ...this.#bindOptions(),
      onLateBind: (a) => this.#nginx?.addListen(a),
    });
    this.httpPort = bound.port;
    const plane = new NginxDataPlane({
      nginx: cfg.path,
      listen: bound.bound,
      workers: cfg.workers,
      wholeAnswerBytes: cfg.wholeAnswerBytes,
      accessLog: this.#opts.accessLog !== false,
      log: this.#log,
      clock: this.#clock,
    });
    this.#nginx = plane;
    const holder = this.#makeServer();
    this.#servers.push(holder);
    rmSync(plane.holderSocket, { force: true });
    await new Promise<void>((resolve, reject) => {
      holder.once('error', reject);
      holder.listen(plane.holderSocket, acceptBacklog, () => resolve());
    });
    if (signal.aborted) return;
    // Until the caches sync, nginx sends everything to the holder, which waits for the sync.
    await plane.start(this.#dataPlaneConfig());
  }

  /** Routes and ready endpoints as nginx's Lua table. */
  #dataPlaneConfig(): string {
    const { exact, wildcard, catchAll } = this.#routes.servers();
    const backends = new Map<string, Target[]>();
    for (const b of this.#routes.backends()) {
      backends.set(upstreamName(b), this.#pickerFor(b)?.targets() ?? []);
    }
    return renderLuaConfig({ exact, wildcard, catchAll, backends });
  }

  /** Pushes routes and endpoints to nginx within a tick (changes of one tick coalesce). */
  #schedulePush(): void {
    if (!this.#nginx || this.#pushTimer) return;
    this.#pushTimer = this.#clock.setTimeout(() => {
      this.#pushTimer = undefined;
      void this.#pushNow();
    }, 0);
  }

  async #pushNow(): Promise<void> {
    await this.#nginx?.push(this.#dataPlaneConfig());
  }

  /**
   * With nginx serving, requests it served itself are seen here only through its counters: reads
   * the per-backend last-request times once a second while some Service scales from zero.
   */
  #pollActivity(signal: AbortSignal): void {
    const plane = this.#nginx;
    if (!plane) return;
    const tick = async () => {
      if (signal.aborted) return;
      if (this.#activity.active) {
        try {
          const seen = await plane.activity();
          for (const b of this.#routes.backends()) {
            const at = seen.get(upstreamName(b));
            if (at !== undefined) this.#activity.seen(b.namespace, b.service, at);
          }
        } catch (err) {
          this.#log.debug('Cannot read nginx activity', { err: errorMessage(err) });
        }
      }
      if (!signal.aborted) this.#clock.setTimeout(() => void tick(), 1000);
    };
    void tick();
  }

  /** Traffic counters: nginx's and the holder's events, or this process's (Node data path). */
  async #snapshots(): Promise<StatsSnapshot[]> {
    const own = this.stats.snapshot();
    if (!this.#nginx) return [own];
    // The holder's requests went through nginx first and are counted there.
    return [
      await this.#nginx.stats(),
      { requests: 0, errors: 0, status: {}, histogram: {}, events: own.events },
    ];
  }

  /** How the HTTP port is chosen and its addresses bound (either data plane). */
  #bindOptions() {
    return {
      port: this.#opts.httpPort ?? 80,
      fallbackPort: this.#opts.fallbackPort ?? 8080,
      addresses: this.#opts.bindAddresses,
      log: this.#log,
      clock: this.#clock,
      stopping: () => this.#stopping,
    };
  }

  /** A server for the HTTP port (listening, or fed connections by accept). */
  #makeServer(): http.Server {
    const server = http.createServer({ keepAliveTimeout: 75_000, maxHeaderSize: 16 * 1024 });
    server.headersTimeout = 60_000;
    this.#proxy.attach(server);
    return server;
  }

  listenOn(handle: net.Server): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    const server = this.#makeServer();
    this.#servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // The server's handle listens here directly: node:cluster is not asked for one.
      server.listen(handle, acceptBacklog, () => {
        server.off('error', reject);
        this.httpPort = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  serveConnection(conn: net.Socket): void {
    const server = this.#servers[0];
    if (this.#stopping || !server) conn.destroy();
    else server.emit('connection', conn);
  }

  stopped(): Promise<void> {
    return this.#done;
  }

  /** Resolves when the endpoints of Service `key` change, or after `ms`. */
  #endpointsChanged(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const waiters = set;
      const timer = this.#clock.setTimeout(() => {
        waiters.delete(wake);
        resolve();
      }, ms);
      const wake = () => {
        timer.cancel();
        resolve();
      };
      waiters.add(wake);
    });
  }

  /** Wakes every request waiting on Service `key`. */
  #wake(key: string): void {
    const set = this.#waiters.get(key);
    if (!set) return;
    this.#waiters.delete(key);
    for (const wake of set) wake();
  }

  /** A Service that lists endpoints, or did within the wait budget, is worth waiting for. */
  #mayWait(key: string): boolean {
    if (this.#withEndpoints.has(key)) return true;
    const since = this.#emptySince.get(key);
    const budget = this.#opts.endpointWaitMs ?? defaultEndpointWaitMs;
    return since !== undefined && this.#clock.now() - since < budget;
  }

  /** Records whether Service `key` lists any endpoint now (for #mayWait). */
  #trackEndpoints(ns: string, svcName: string): void {
    const key = `${ns}/${svcName}`;
    let any = false;
    let live = false;
    for (const s of this.#slices.lister.list(ns)) {
      if (s.metadata?.labels?.['kubernetes.io/service-name'] !== svcName) continue;
      for (const e of s.endpoints ?? []) {
        any = true;
        if (e.conditions?.terminating !== true) live = true;
      }
    }
    if (live) {
      this.#withLiveEndpoints.add(key);
      this.#activity.endpointsAppeared(ns, svcName);
    } else this.#withLiveEndpoints.delete(key);
    if (any) {
      this.#withEndpoints.add(key);
      this.#emptySince.delete(key);
    } else if (this.#withEndpoints.delete(key)) this.#emptySince.set(key, this.#clock.now());
  }

  #backendKey(b: RouteBackend): string {
    return `${b.namespace}/${b.service}:${b.port.number ?? ''}:${b.port.name ?? ''}`;
  }

  /** The balancer of a backend, built on first use from the caches. */
  #pickerFor(b: RouteBackend): EndpointPicker | undefined {
    const key = this.#backendKey(b);
    const cached = this.#pickers.get(key);
    if (cached) return cached;
    const svc = this.#services.lister.get(b.namespace, b.service);
    const sp = svc?.spec?.ports?.find((p) =>
      b.port.name ? p.name === b.port.name : p.port === b.port.number,
    );
    if (!sp) return undefined;
    const picker = new EndpointPicker({ clock: this.#clock });
    picker.setEndpoints(this.#endpoints(b.namespace, b.service, sp.name ?? ''));
    this.#pickers.set(key, picker);
    return picker;
  }

  #endpoints(ns: string, svc: string, portName: string) {
    const slices = this.#slices.lister
      .list(ns)
      .filter((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === svc);
    const eps = endpointsForServicePort(slices, portName);
    if (!this.#coldPods.watching(ns, svc)) return eps;
    if (eps.some((e) => e.ready)) {
      // The slices caught up: the cold start's shortcut is no longer needed.
      this.#coldPods.stop(ns, svc);
      return eps;
    }
    const sp = this.#services.lister
      .get(ns, svc)
      ?.spec?.ports?.find((p) => (p.name ?? '') === portName);
    const direct = sp ? this.#coldPods.targets(ns, svc, sp) : [];
    return [
      ...eps,
      ...direct.map((t) => ({ ...t, ready: true, serving: true, terminating: false })),
    ];
  }

  /** Pushes new endpoints of a Service to its balancers at once (no rebuild, no delay). */
  #refreshService(ns: string, svcName: string): void {
    this.#trackEndpoints(ns, svcName);
    const svc = this.#services.lister.get(ns, svcName);
    const prefix = `${ns}/${svcName}:`;
    for (const [key, picker] of this.#pickers) {
      if (!key.startsWith(prefix)) continue;
      const [, num, name] = key.slice(ns.length + 1).split(':');
      const sp = svc?.spec?.ports?.find((p) => (name ? p.name === name : String(p.port) === num));
      picker.setEndpoints(sp ? this.#endpoints(ns, svcName, sp.name ?? '') : []);
    }
    this.#wake(`${ns}/${svcName}`);
    this.#schedulePush();
  }

  /** A Service changed: its port mapping may differ, so rebuild its balancers lazily. */
  #dropService(ns: string, svcName: string): void {
    for (const key of this.#pickers.keys()) {
      if (key.startsWith(`${ns}/${svcName}:`)) this.#pickers.delete(key);
    }
  }

  /** Rebuilds the route table and writes Ingress status. */
  async #sync(): Promise<void> {
    const owned = ownedClasses(
      this.#classes.lister.list(),
      this.#opts.controllerClass ?? nginxController,
    );
    const mine = this.#ingresses.lister.list().filter((i) => isOwnedIngress(i, owned));
    this.#routes = new RouteTable(mine);
    this.#schedulePush();
    const ip = this.#opts.publishIP ?? '127.0.0.1';
    for (const ing of mine) {
      const lb = ing.status?.loadBalancer?.ingress;
      if (lb?.length === 1 && lb[0]?.ip === ip) continue;
      const next = structuredClone(ing) as Ingress & KObject;
      next.status = { loadBalancer: { ingress: [{ ip }] } };
      try {
        await this.#opts.client.updateStatus(R.ingresses, next);
      } catch (err) {
        // A conflict means a newer version is coming through the watch, which syncs again.
        this.#log.debug('Cannot update Ingress status', {
          key: objectKey(ing),
          err: errorMessage(err),
        });
      }
    }
  }
}
