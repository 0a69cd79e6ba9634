// The metrics-server add-on process: pod and node informers, a scrape loop every metric resolution,
// and the metrics.k8s.io API plus /healthz /livez /readyz over HTTPS (metrics-server cmd + pkg/server).
import https from 'node:https';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { InformerFactory } from '../client/informer-factory.js';
import { R } from '../client/resources.js';
import type { KObject, KubeClient } from '../client/rest.js';
import { type Clock, realClock, type Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Component } from '../lib/lifecycle.js';
import { createLogger, type Logger } from '../lib/log.js';
import { handleMetricsRequest, type MetricsObjects } from './api.js';
import { Scraper, type ScraperOptions } from './scraper.js';
import { MetricsStorage } from './storage.js';
import { generateSelfSignedCert, type ServingCert } from './tls.js';

/** Options of MetricsServer. */
export interface MetricsServerOptions {
  client: KubeClient;
  clock?: Clock;
  /** Scrape interval: 1 s here, upstream --metric-resolution 60 s (manifests 15 s). */
  resolutionMs?: number;
  /** HTTPS port (upstream --secure-port; 4443 as in the upstream manifests); 0 picks one. */
  securePort?: number;
  bindAddress?: string;
  /** Serving certificate; a self-signed one is generated when absent. */
  cert?: ServingCert;
  kubelet: Omit<ScraperOptions, 'log' | 'requestTimeoutMs'> & { requestTimeoutMs?: number };
  log?: Logger;
}

/**
 * The metrics-server. Guarantees:
 * 1. `start()` resolves once informers synced and the HTTPS port is bound; scraping starts at once.
 * 2. Scrapes never overlap: the next one starts one resolution after the previous one started, or
 *    right after it ends when it overran.
 * 3. /readyz turns 200 only once a node has a full sample window.
 */
export class MetricsServer implements Component {
  readonly name = 'metrics-server';
  readonly storage: MetricsStorage;
  #opts: MetricsServerOptions;
  #clock: Clock;
  #log: Logger;
  #resolutionMs: number;
  #server: https.Server | undefined;
  #timer: Timer | undefined;
  #scraper: Scraper | undefined;
  #port = 0;
  #done: Promise<void> = Promise.resolve();
  #informers: InformerFactory | undefined;

  constructor(opts: MetricsServerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.log ?? createLogger()).child({ component: 'metrics-server' });
    this.#resolutionMs = opts.resolutionMs ?? 1000;
    this.storage = new MetricsStorage({ resolutionMs: this.#resolutionMs });
  }

  /** The bound HTTPS port. */
  get port(): number {
    return this.#port;
  }

  async start(signal: AbortSignal): Promise<void> {
    const informers = new InformerFactory({
      client: this.#opts.client,
      clock: this.#clock,
      log: this.#log,
    });
    const pods = informers.informerFor<Pod & KObject>(R.pods);
    const nodes = informers.informerFor<Node & KObject>(R.nodes);
    this.#informers = informers;
    informers.start(signal);
    await informers.waitForCacheSync(signal);
    const objects: MetricsObjects = {
      listPods: (ns) =>
        pods.lister.list(ns).map((p) => ({
          namespace: p.metadata?.namespace ?? '',
          name: p.metadata?.name ?? '',
          labels: p.metadata?.labels,
        })),
      listNodes: () =>
        nodes.lister
          .list()
          .map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels })),
    };
    this.#scraper = new Scraper({
      ...this.#opts.kubelet,
      requestTimeoutMs: this.#opts.kubelet.requestTimeoutMs ?? 5000,
      log: this.#log,
    });
    const cert =
      this.#opts.cert ??
      (await generateSelfSignedCert({
        commonName: 'metrics-server',
        dnsNames: ['localhost', 'metrics-server.kube-system.svc'],
        ips: ['127.0.0.1'],
      }));
    const server = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://metrics-server');
      const send = (status: number, body: string, type: string) => {
        res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-cache, private' });
        res.end(body);
      };
      if (url.pathname === '/healthz' || url.pathname === '/livez')
        return send(200, 'ok', 'text/plain');
      if (url.pathname === '/readyz') {
        return this.storage.isReady()
          ? send(200, 'ok', 'text/plain')
          : send(
              500,
              '[-]metric-storage-ready failed: no metrics to serve\nreadyz check failed',
              'text/plain',
            );
      }
      try {
        const ans = handleMetricsRequest(
          { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams },
          { storage: this.storage, objects, now: this.#clock.now() },
        );
        send(ans.status, JSON.stringify(ans.body), 'application/json');
      } catch (err) {
        this.#log.error('Metrics request failed', { path: url.pathname, error: errorMessage(err) });
        send(
          500,
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: errorMessage(err),
            reason: 'InternalError',
            code: 500,
          }),
          'application/json',
        );
      }
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.securePort ?? 4443, this.#opts.bindAddress ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : 0;
    this.#log.info('Serving metrics.k8s.io', {
      port: this.#port,
      resolutionMs: this.#resolutionMs,
    });

    let isStopped = false;
    const tick = async () => {
      const started = this.#clock.now();
      try {
        const batch = await this.#scraper?.scrape(nodes.lister.list());
        if (batch) this.storage.store(batch);
      } catch (err) {
        this.#log.warn('Scrape failed', { error: errorMessage(err) });
      }
      if (isStopped) return;
      const elapsed = this.#clock.now() - started;
      this.#timer = this.#clock.setTimeout(
        () => {
          this.#done = tick();
        },
        Math.max(0, this.#resolutionMs - elapsed),
      );
    };
    this.#done = tick();
    signal.addEventListener(
      'abort',
      () => {
        isStopped = true;
        this.#timer?.cancel();
        server.close();
        server.closeAllConnections();
        this.#scraper?.close();
      },
      { once: true },
    );
  }

  async stopped(): Promise<void> {
    await this.#done;
    await this.#informers?.stopped();
    if (this.#server?.listening) await new Promise((r) => this.#server?.once('close', r));
  }
}
