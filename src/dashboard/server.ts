// The live dashboard served by `skiff up`: an API client that lists and watches pods, deployments,
// replicasets, HPAs and (while a page is open) events, renders HTML fragments and pushes them over
// server-sent events.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { Informer, objectKey } from '../client/informer.js';
import { R } from '../client/resources.js';
import type { KubeClient } from '../client/rest.js';
import { type Clock, realClock, type Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Component } from '../lib/lifecycle.js';
import { createLogger } from '../lib/log.js';
import { renderEvents, renderHpas, renderIngress, renderPage, renderWorkloads } from './html.js';
import { OnDemandInformer } from './on-demand.js';
import {
  type Columns,
  IngressRates,
  type IngressSample,
  isIngressStats,
  SeriesTable,
} from './series.js';
import { groupWorkloads, hpaSample, recentEvents } from './view.js';

/** Options of createDashboard. */
export interface DashboardOptions {
  client: KubeClient;
  clock?: Clock;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Where users reach the ingress (shown in the header). */
  ingressUrl?: string;
  /** The ingress controller's JSON stats endpoint (see IngressStats); absent: "no ingress stats". */
  ingressStatsUrl?: string;
  /** Chart sampling period; default 1 s. */
  sampleIntervalMs?: number;
  /** Coalesces bursts of watch events into one push; default 150 ms. */
  pushDelayMs?: number;
  /** How long a restarted pod flashes; default 4 s. */
  flashMs?: number;
  /** How long Events stay watched after the last page closed; default 5 min. */
  eventsIdleMs?: number;
}

/** The dashboard component; url() is valid once start() resolved. */
export type Dashboard = Component & { url(): string };

// Failed stats polls in a row before the ingress figures are dropped.
const STATS_FAILURES_BEFORE_RESET = 3;

const require = createRequire(import.meta.url);
const uplotDir = require.resolve('uplot/package.json').replace(/package\.json$/, 'dist/');
const staticDir = new URL('./static/', import.meta.url);

const assets: Record<string, { file: string | URL; type: string }> = {
  'uPlot.iife.min.js': { file: `${uplotDir}uPlot.iife.min.js`, type: 'text/javascript' },
  'uPlot.min.css': { file: `${uplotDir}uPlot.min.css`, type: 'text/css' },
  'app.js': { file: new URL('app.js', staticDir), type: 'text/javascript' },
  'app.css': { file: new URL('app.css', staticDir), type: 'text/css' },
};

/**
 * Creates the dashboard. Guarantees: a watch event reaches open pages within pushDelayMs; a pod
 * whose restart count grows is marked `flash` for flashMs; charts get one point per sample period.
 * @example
 * const d = createDashboard({ client, port: 0 }); await d.start(signal); console.log(d.url());
 */
export function createDashboard(opts: DashboardOptions): Dashboard {
  const clock = opts.clock ?? realClock;
  const host = opts.host ?? '127.0.0.1';
  const sampleMs = opts.sampleIntervalMs ?? 1000;
  const pushDelayMs = opts.pushDelayMs ?? 150;
  const flashMs = opts.flashMs ?? 4000;
  const log = createLogger({ component: 'dashboard' });
  const inf = {
    pods: new Informer<Pod>({ client: opts.client, resource: R.pods, clock }),
    deployments: new Informer<Deployment>({ client: opts.client, resource: R.deployments, clock }),
    replicaSets: new Informer<ReplicaSet>({ client: opts.client, resource: R.replicasets, clock }),
    hpas: new Informer<HorizontalPodAutoscaler>({ client: opts.client, resource: R.hpas, clock }),
  };
  // Only pages show Events: they are watched while one is open (and a while after).
  const events = new OnDemandInformer<Event>({
    create: () => new Informer<Event>({ client: opts.client, resource: R.events, clock }),
    idleMs: opts.eventsIdleMs ?? 5 * 60_000,
    clock,
  });
  const clients = new Set<http.ServerResponse>();
  const lastFragments = new Map<string, string>();
  const restarts = new Map<string, number>();
  const flashUntil = new Map<string, number>();
  const hpaSeries = new Map<string, SeriesTable>();
  const ingressSeries = new SeriesTable({ width: 5 });
  const rates = new IngressRates();
  let lastIngress: IngressSample | undefined;
  let pushTimer: Timer | undefined;
  let sampleTimer: Timer | undefined;
  const flashTimers = new Set<Timer>();
  let fetching = false;
  let statsFailures = 0;
  let boundPort = opts.port;
  let stopped: Promise<void> = Promise.resolve();
  const server = http.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      log.warn('Dashboard request failed', { path: req.url, err: errorMessage(err) });
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end();
    });
  });

  const fragments = (): Record<string, string> => {
    const now = clock.now();
    for (const [key, until] of flashUntil) if (until <= now) flashUntil.delete(key);
    const synced = Object.values(inf).every((i) => i.hasSynced()) && events.hasSynced();
    const groups = groupWorkloads(
      inf.deployments.lister.list(),
      inf.replicaSets.lister.list(),
      inf.pods.lister.list(),
    );
    const hpas = inf.hpas.lister.list().map(hpaSample);
    const podCount = groups.reduce((n, g) => n + g.pods.length, 0);
    return {
      status: `${synced ? '' : 'syncing… · '}${podCount} pods · ${hpas.length} HPAs${opts.ingressUrl ? ` · ingress ${opts.ingressUrl}` : ''}`,
      workloads: renderWorkloads(groups, now, new Set(flashUntil.keys())),
      hpas: renderHpas(hpas),
      ingress: renderIngress(lastIngress, opts.ingressStatsUrl),
      events: renderEvents(recentEvents(events.list()), now),
    };
  };

  const send = (res: http.ServerResponse, event: string, data: unknown) => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const broadcast = (event: string, data: unknown) => {
    for (const res of clients) send(res, event, data);
  };

  const push = () => {
    pushTimer = undefined;
    // No page open: rendering every fragment each second (sorting all Events) would serve no one.
    if (clients.size === 0) return;
    for (const [id, html] of Object.entries(fragments())) {
      if (lastFragments.get(id) === html) continue;
      lastFragments.set(id, html);
      broadcast('fragment', { id, html });
    }
  };
  const schedulePush = () => {
    pushTimer ??= clock.setTimeout(push, pushDelayMs);
  };

  const history = () => ({
    hpa: Object.fromEntries([...hpaSeries].map(([k, s]) => [k, s.columns])) as Record<
      string,
      Columns
    >,
    ingress: opts.ingressStatsUrl ? ingressSeries.columns : null,
  });

  const sample = () => {
    const t = clock.now() / 1000;
    const hpa: Record<string, (number | null)[]> = {};
    const live = new Set<string>();
    for (const obj of inf.hpas.lister.list()) {
      const key = objectKey(obj);
      const s = hpaSample(obj);
      const row = [t, s.currentReplicas, s.desiredReplicas, s.cpu ?? null, s.cpuTarget ?? null];
      let table = hpaSeries.get(key);
      if (!table) {
        table = new SeriesTable({ width: 5 });
        hpaSeries.set(key, table);
      }
      table.push(row);
      hpa[key] = row;
      live.add(key);
    }
    for (const key of hpaSeries.keys()) if (!live.has(key)) hpaSeries.delete(key);
    const ing = lastIngress && lastIngress.t > t - (2 * sampleMs) / 1000 ? lastIngress : undefined;
    const ingRow = ing ? [t, ing.rps, ing.errorsPerSecond, ing.p50 ?? null, ing.p99 ?? null] : null;
    if (ingRow) ingressSeries.push(ingRow);
    broadcast('sample', { t, hpa, ingress: ingRow });
    push();
  };

  const pollIngress = () => {
    const url = opts.ingressStatsUrl;
    if (!url || fetching) return;
    fetching = true;
    fetch(url, { signal: AbortSignal.timeout(Math.max(200, sampleMs - 100)) })
      .then(async (res) => {
        const body: unknown = res.ok ? await res.json() : undefined;
        if (!isIngressStats(body)) throw new Error(`unexpected answer (HTTP ${res.status})`);
        lastIngress = rates.next(clock.now(), body) ?? lastIngress;
        statsFailures = 0;
      })
      .catch((err: unknown) => {
        // An ingress busy proxying the load can answer one poll late: keep the figures (the next
        // reading gives the rate over the gap) until the endpoint stays silent for a few polls.
        if (++statsFailures >= STATS_FAILURES_BEFORE_RESET) {
          rates.reset();
          lastIngress = undefined;
        }
        log.debug('Ingress stats unavailable', { url, error: errorMessage(err) });
      })
      .finally(() => {
        fetching = false;
      });
  };

  const tick = () => {
    sample();
    pollIngress();
    sampleTimer = clock.setTimeout(tick, sampleMs);
  };

  const onPod = (pod: Pod) => {
    const key = objectKey(pod);
    const n = (pod.status?.containerStatuses ?? []).reduce((s, c) => s + (c.restartCount ?? 0), 0);
    const before = restarts.get(key);
    restarts.set(key, n);
    if (before !== undefined && n > before) {
      flashUntil.set(key, clock.now() + flashMs);
      // Re-render once the flash is over so the highlight goes away.
      const timer = clock.setTimeout(() => {
        flashTimers.delete(timer);
        schedulePush();
      }, flashMs + 1);
      flashTimers.add(timer);
    }
    schedulePush();
  };
  inf.pods.addEventHandler({
    onAdd: onPod,
    onUpdate: (_old, pod) => onPod(pod),
    onDelete: (pod) => {
      restarts.delete(objectKey(pod));
      schedulePush();
    },
  });
  const pushOnChange = { onAdd: schedulePush, onUpdate: schedulePush, onDelete: schedulePush };
  for (const i of [inf.deployments, inf.replicaSets, inf.hpas] as Informer<object>[])
    i.addEventHandler(pushOnChange);
  events.onCreate((i) => i.addEventHandler(pushOnChange));

  // A one-shot reader (the page, /api/state) gets the Events listed first, at most this long.
  const eventsWaitMs = 2000;
  const route = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET' }).end();
    } else if (path === '/') {
      await events.synced(eventsWaitMs);
      const html = renderPage(fragments());
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
      });
      res.end(html);
    } else if (path === '/events') {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      res.write('retry: 1000\n\n');
      send(res, 'series', history());
      for (const [id, html] of Object.entries(fragments())) send(res, 'fragment', { id, html });
      clients.add(res);
      // Its events fragment follows once the Events are listed (the informer's adds push it).
      events.acquire();
      req.on('close', () => {
        clients.delete(res);
        events.release();
      });
    } else if (path === '/api/state') {
      await events.synced(eventsWaitMs);
      const body = JSON.stringify({
        workloads: groupWorkloads(
          inf.deployments.lister.list(),
          inf.replicaSets.lister.list(),
          inf.pods.lister.list(),
        ),
        hpas: inf.hpas.lister.list().map(hpaSample),
        ingress: lastIngress ?? null,
        events: recentEvents(events.list()),
        history: history(),
      });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
    } else if (path.startsWith('/assets/') && assets[path.slice(8)]) {
      const a = assets[path.slice(8)]!;
      try {
        const body = readFileSync(a.file);
        res.writeHead(200, { 'Content-Type': a.type, 'Cache-Control': 'max-age=60' }).end(body);
      } catch (err) {
        res
          .writeHead(500, { 'Content-Type': 'text/plain' })
          .end(`cannot read asset: ${errorMessage(err)}`);
      }
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  };

  return {
    name: 'dashboard',
    url: () => `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}/`,
    async start(signal: AbortSignal): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      boundPort = (server.address() as AddressInfo).port;
      for (const i of Object.values(inf)) i.start(signal);
      events.start(signal);
      sampleTimer = clock.setTimeout(tick, sampleMs);
      let release: () => void = () => undefined;
      stopped = new Promise<void>((r) => {
        release = r;
      });
      signal.addEventListener(
        'abort',
        () => {
          sampleTimer?.cancel();
          pushTimer?.cancel();
          for (const t of flashTimers) t.cancel();
          for (const res of clients) res.end();
          clients.clear();
          server.closeAllConnections();
          server.close(() => {
            void Promise.all([...Object.values(inf), events].map((i) => i.stopped())).then(() =>
              release(),
            );
          });
        },
        { once: true },
      );
      log.info('Dashboard listening', { url: `http://${host}:${boundPort}/` });
    },
    stopped: () => stopped,
  };
}
