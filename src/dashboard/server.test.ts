// Tests of the dashboard's SSE server against a real API server over the memory store: watch events
// become pushed fragments, a restart flashes, HPA and ingress samples feed the charts.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { type ApiServer, createApiServer } from '../apiserver/server.js';
import { R } from '../client/resources.js';
import { KubeClient } from '../client/rest.js';
import { MemoryBackend } from '../store/memory/memory-backend.js';
import { createDashboard, type Dashboard } from './server.js';

interface SseEvent {
  event: string;
  data: { id?: string; html?: string; hpa?: Record<string, number[]>; ingress?: number[] | null };
}

/** Reads an SSE stream and lets a test wait for the first event matching a predicate. */
class SseReader {
  events: SseEvent[] = [];
  #waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  #req: http.ClientRequest;

  constructor(url: string) {
    this.#req = http.get(url, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let at = buf.indexOf('\n\n');
        while (at >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          at = buf.indexOf('\n\n');
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) this.#emit({ event, data: JSON.parse(data) as SseEvent['data'] });
        }
      });
    });
    this.#req.on('error', () => undefined);
  }

  #emit(e: SseEvent) {
    this.events.push(e);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(e)) return true;
      w.resolve(e);
      return false;
    });
  }

  /** The first event (past or future) that matches, or a rejection after 5 s. */
  waitFor(what: string, match: (e: SseEvent) => boolean): Promise<SseEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
      this.#waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  close() {
    this.#req.destroy();
  }
}

const fragment = (id: string, includes: string) => (e: SseEvent) =>
  e.event === 'fragment' && e.data.id === id && (e.data.html ?? '').includes(includes);

describe('dashboard server', () => {
  const ac = new AbortController();
  let api: ApiServer;
  let client: KubeClient;
  let dashboard: Dashboard;
  let stats: http.Server;
  let sse: SseReader;
  let ingressRequests = 0;
  let failStats = 0;

  before(async () => {
    api = createApiServer({ backend: new MemoryBackend(), port: 0 });
    await api.ready;
    const { port } = await api.listen();
    client = new KubeClient({ config: { server: `http://127.0.0.1:${port}` } });
    stats = http.createServer((_req, res) => {
      if (failStats > 0) {
        failStats--;
        res.writeHead(503).end();
        return;
      }
      ingressRequests += 50;
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({ requests: ingressRequests, errors: 0, latencyMs: { p50: 2.5, p99: 9 } }),
      );
    });
    await new Promise<void>((r) => stats.listen(0, '127.0.0.1', r));
    dashboard = createDashboard({
      client,
      port: 0,
      sampleIntervalMs: 100,
      pushDelayMs: 20,
      flashMs: 300,
      ingressStatsUrl: `http://127.0.0.1:${(stats.address() as AddressInfo).port}/stats`,
    });
    await dashboard.start(ac.signal);
    sse = new SseReader(`${dashboard.url()}events`);
  });

  after(async () => {
    sse.close();
    ac.abort();
    await dashboard.stopped?.();
    await api.close();
    client.close();
    stats.closeAllConnections();
    await new Promise((r) => stats.close(r));
  });

  test('serves the page shell and uPlot from node_modules', async () => {
    const page = await fetch(dashboard.url());
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<script src="assets\/uPlot\.iife\.min\.js">/);
    assert.match(html, /id="workloads"/);
    const lib = await fetch(`${dashboard.url()}assets/uPlot.iife.min.js`);
    assert.equal(lib.status, 200);
    assert.match(await lib.text(), /uPlot/);
    assert.equal((await fetch(`${dashboard.url()}assets/app.js`)).status, 200);
    assert.equal((await fetch(`${dashboard.url()}assets/../server.ts`)).status, 404);
  });

  test('pushes a pod under its Deployment, then flashes it when it restarts', async () => {
    const labels = { app: 'web' };
    const template = {
      metadata: { labels },
      spec: { containers: [{ name: 'app', image: 'img' }] },
    };
    const d = await client.create<Deployment>(R.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 1, selector: { matchLabels: labels }, template },
    });
    const owner = (kind: string, name: string, uid: string | undefined) => [
      { apiVersion: 'apps/v1', kind, name, uid: uid ?? '', controller: true },
    ];
    const rs = await client.create<ReplicaSet>(R.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'web-abc',
        namespace: 'default',
        labels,
        ownerReferences: owner('Deployment', 'web', d.metadata?.uid),
      },
      spec: { replicas: 1, selector: { matchLabels: labels }, template },
    });
    const pod = await client.create<Pod>(R.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-abc-x1y2z',
        namespace: 'default',
        labels,
        ownerReferences: [
          { ...owner('ReplicaSet', 'web-abc', rs.metadata?.uid)[0]!, apiVersion: 'apps/v1' },
        ],
      },
      spec: template.spec,
    });
    const shown = await sse.waitFor('the pod card', fragment('workloads', 'web-abc-x1y2z'));
    assert.match(shown.data.html ?? '', /deployment\/web<\/h3>[\s\S]*web-abc-x1y2z/);

    const running = (restartCount: number): Pod => ({
      ...pod,
      status: {
        phase: 'Running',
        podIP: '10.244.0.7',
        containerStatuses: [
          {
            name: 'app',
            image: 'img',
            imageID: '',
            ready: true,
            restartCount,
            started: true,
            state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
          },
        ],
      },
    });
    const p1 = await client.updateStatus<Pod>(R.pods, running(0));
    await sse.waitFor('Running 1/1', fragment('workloads', 'ready 1/1'));
    await client.updateStatus<Pod>(R.pods, { ...running(1), metadata: p1.metadata });
    const flashed = await sse.waitFor(
      'the restart flash',
      fragment('workloads', 'data-restarts="1"'),
    );
    assert.match(flashed.data.html ?? '', /class="pod ok flash"/);
    const cleared = await sse.waitFor(
      'the flash to end',
      (e) =>
        fragment('workloads', 'data-restarts="1"')(e) && !(e.data.html ?? '').includes('flash'),
    );
    assert.ok(cleared);
  });

  test('samples HPA replicas, desired replicas and CPU for its chart', async () => {
    const hpa = await client.create<HorizontalPodAutoscaler>(R.hpas, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      },
    });
    await client.updateStatus<HorizontalPodAutoscaler>(R.hpas, {
      ...hpa,
      status: {
        currentReplicas: 2,
        desiredReplicas: 4,
        currentMetrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', current: { averageUtilization: 97, averageValue: '97m' } },
          },
        ],
      },
    });
    const s = await sse.waitFor(
      'an HPA sample',
      (e) => e.event === 'sample' && e.data.hpa?.['default/web']?.[2] === 4,
    );
    assert.deepEqual(s.data.hpa?.['default/web']?.slice(1), [2, 4, 97, 50]);
    await sse.waitFor('the HPA panel', fragment('hpas', 'desired <b class="desired">4</b>'));
  });

  test('derives ingress request rate from the stats counters', async () => {
    const s = await sse.waitFor(
      'an ingress sample',
      (e) => e.event === 'sample' && (e.data.ingress?.[1] ?? 0) > 0,
    );
    assert.equal(s.data.ingress?.[2], 0, 'no errors');
    assert.equal(s.data.ingress?.[3], 2.5);
    await sse.waitFor('the ingress figures', fragment('ingress', 'class="rps"'));
  });

  test('one failed stats poll keeps the ingress figures; a silent endpoint drops them', async () => {
    await sse.waitFor('the ingress figures', fragment('ingress', 'class="rps"'));
    const from = sse.events.length;
    failStats = 1;
    // The failed poll, then a good one: the rate comes back without the figures ever going away.
    const back = ingressRequests + 100;
    await sse.waitFor(
      'a sample after the failed poll',
      (e) => e.event === 'sample' && failStats === 0 && ingressRequests >= back,
    );
    const blank = sse.events.slice(from).find(fragment('ingress', 'no ingress stats'));
    assert.equal(blank, undefined, 'one failed poll blanked the ingress figures');
    failStats = 1000;
    // Only events after `from` count: the stream opened with "no ingress stats yet".
    const after = (match: (e: SseEvent) => boolean) => (e: SseEvent) =>
      sse.events.indexOf(e) >= from && match(e);
    await sse.waitFor('the figures dropped', after(fragment('ingress', 'no ingress stats yet')));
    const dropped = sse.events.length;
    failStats = 0;
    await sse.waitFor(
      'the figures back',
      (e) => sse.events.indexOf(e) >= dropped && fragment('ingress', 'class="rps"')(e),
    );
  });

  test('feeds events, newest first', async () => {
    await client.create(R.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web-abc-x1y2z', namespace: 'default' },
      reason: 'BackOff',
      message: 'Back-off restarting failed container',
      type: 'Warning',
      lastTimestamp: '2026-01-01T00:00:00Z',
    });
    const e = await sse.waitFor('the event row', fragment('events', 'BackOff'));
    assert.match(e.data.html ?? '', /pod\/web-abc-x1y2z/);
    assert.match(e.data.html ?? '', /class="warning"/);
  });
});

describe('dashboard Events, watched only while a page is open', () => {
  const ac = new AbortController();
  let api: ApiServer;
  let client: KubeClient;
  let dashboard: Dashboard;

  /** Open watches of Events on the API server (its apiserver_longrunning_requests gauge). */
  const eventWatches = async (): Promise<number> => {
    const text = (await client.request('GET', '/metrics')).body.toString();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('apiserver_longrunning_requests{verb="WATCH"') &&
          l.includes('resource="events"'),
      );
    return Number(line?.split(' ')[1] ?? 0);
  };
  const until = async (what: string, ok: () => Promise<boolean>) => {
    const deadline = Date.now() + 5000;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  before(async () => {
    api = createApiServer({ backend: new MemoryBackend(), port: 0 });
    await api.ready;
    const { port } = await api.listen();
    client = new KubeClient({ config: { server: `http://127.0.0.1:${port}` } });
    await client.create<Event>(R.events, {
      metadata: { name: 'web.1', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' },
      reason: 'Started',
      message: 'Started container web',
      type: 'Normal',
    });
    dashboard = createDashboard({ client, port: 0, sampleIntervalMs: 100, eventsIdleMs: 300 });
    await dashboard.start(ac.signal);
  });

  after(async () => {
    ac.abort();
    await dashboard.stopped?.();
    await api.close();
    client.close();
  });

  test('no page: no watch; a page: the watch and its events; closed: the watch ends idleMs later', async () => {
    // Longer than a few sample periods, in which a watch would have started.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await eventWatches(), 0, 'no Events watch without a page');
    const sse = new SseReader(`${dashboard.url()}events`);
    try {
      await sse.waitFor('the events fragment', fragment('events', 'Started container web'));
      assert.equal(await eventWatches(), 1);
    } finally {
      sse.close();
    }
    const closedAt = Date.now();
    await until('the Events watch to end', async () => (await eventWatches()) === 0);
    assert.ok(Date.now() - closedAt >= 250, 'kept for idleMs after the page closed');
  });

  test('a one-shot read (/api/state, the page) lists the Events first', async () => {
    const state = (await (await fetch(`${dashboard.url()}api/state`)).json()) as {
      events: { message: string }[];
    };
    assert.deepEqual(
      state.events.map((e) => e.message),
      ['Started container web'],
    );
    assert.match(await (await fetch(dashboard.url())).text(), /Started container web/);
  });
});
