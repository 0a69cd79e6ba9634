// `skiff demo --scale-to-zero` (issue #19): the seed app opted in to scale to zero behind the
// ingress; it goes to zero after a short idle window, then 20 concurrent requests wake it and are
// all answered. Prints each step, the Deployment's events and the ingress's counters.
import http from 'node:http';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { idleWindowAnnotation, scaleToZeroAnnotation } from '../api/scale-to-zero.js';
import { loadKubeconfig } from '../client/config.js';
import { R } from '../client/resources.js';
import { isAlreadyExists, isNotFound, type KObject, KubeClient } from '../client/rest.js';
import { errorMessage } from '../lib/errors.js';
import type { ClusterInfo } from './cluster.js';

/** Options of scaleToZeroManifests. */
export interface ScaleToZeroManifestOptions {
  name: string;
  namespace?: string;
  /** Go duration, e.g. "5s". */
  idleWindow: string;
  /** The Ingress rule's host (none: every host). */
  host?: string;
}

/** The seed app opted in to scale to zero (image present), its Service and Ingress. */
export function scaleToZeroManifests(o: ScaleToZeroManifestOptions): KObject[] {
  const labels = { app: o.name };
  const meta = { name: o.name, namespace: o.namespace ?? 'default' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        ...meta,
        labels,
        annotations: { [scaleToZeroAnnotation]: 'true', [idleWindowAnnotation]: o.idleWindow },
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'hello-world-flask',
                image: 'lyzhang1999/hello-world-flask:latest',
                imagePullPolicy: 'IfNotPresent',
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { ...meta, labels },
      spec: { selector: labels, ports: [{ name: '5000-5000', port: 5000, targetPort: 5000 }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta,
      spec: {
        rules: [
          {
            ...(o.host ? { host: o.host } : {}),
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: o.name, port: { number: 5000 } } },
                },
              ],
            },
          },
        ],
      },
    },
  ];
}

/** What the demo found: cold-start latencies (ms) and failures. */
export interface ScaleToZeroDemoReport {
  ok: boolean;
  problems: string[];
  /** Seconds from the last request to the Deployment at zero. */
  secondsToZero?: number;
  /** Sent → first byte of each request of the cold start, ascending. */
  coldStartMs: number[];
  failedRequests: number;
  events: string[];
  ingress?: { held?: number; coldStart?: number };
}

/** Options of runScaleToZeroDemo. */
export interface ScaleToZeroDemoOptions {
  cluster: ClusterInfo;
  /** Idle window; default "5s". */
  idleWindow?: string;
  /** Concurrent requests of the cold start; default 20. */
  concurrency?: number;
  /** The ingress controller's /stats URL, when known. */
  statsUrl?: string;
  out: (line: string) => void;
}

const name = 'hello-idle';
const host = 'hello-idle.local';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One GET through the ingress on a fresh connection: status (-1: failed), ms to the first byte. */
function get(ingressUrl: string): Promise<{ status: number; ms: number; body: string }> {
  const u = new URL(ingressUrl);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get(
      {
        host: u.hostname,
        port: u.port || 80,
        path: '/',
        headers: { host },
        agent: false,
        timeout: 60_000,
      },
      (res) => {
        let ms = 0;
        let body = '';
        res.on('data', (d: Buffer) => {
          if (!ms) ms = performance.now() - t0;
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms, body }));
        res.on('error', () => resolve({ status: -1, ms, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: -1, ms: performance.now() - t0, body: '' }));
  });
}

/** Polls `fn` every 100 ms until it is true or `ms` passed; false on timeout. */
async function until(ms: number, fn: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(100);
  }
  return false;
}

/** Runs the scale-to-zero walkthrough; never throws (the report lists problems). */
export async function runScaleToZeroDemo(
  o: ScaleToZeroDemoOptions,
): Promise<ScaleToZeroDemoReport> {
  const client = new KubeClient({
    config: { ...loadKubeconfig(o.cluster.kubeconfig), userAgent: 'skiff-demo' },
  });
  const report: ScaleToZeroDemoReport = {
    ok: false,
    problems: [],
    coldStartMs: [],
    failedRequests: 0,
    events: [],
  };
  const idleWindow = o.idleWindow ?? '5s';
  const out = o.out;
  try {
    for (const r of [R.ingresses, R.services, R.deployments]) {
      await client.delete(r, 'default', name).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
    await until(30_000, async () => (await pods(client)).length === 0);
    out(
      `▸ kubectl apply: deployment/${name} (annotations skiff.dev/scale-to-zero=true, skiff.dev/idle-window=${idleWindow}), service, ingress for host ${host}`,
    );
    for (const obj of scaleToZeroManifests({ name, idleWindow, host })) {
      const r =
        obj.kind === 'Deployment'
          ? R.deployments
          : obj.kind === 'Service'
            ? R.services
            : R.ingresses;
      await client.create(r, obj).catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
    }
    // A first request (the pod may still be starting: the ingress holds it); 404 until the
    // ingress controller has the new Ingress.
    let warm = await get(o.cluster.ingressUrl);
    for (let i = 0; i < 100 && warm.status === 404; i++) {
      await sleep(100);
      warm = await get(o.cluster.ingressUrl);
    }
    out(`▸ curl -H 'Host: ${host}' ${o.cluster.ingressUrl} → ${warm.status} ${warm.body.trim()}`);
    const lastRequest = performance.now();
    out(`▸ no more requests: waiting for the idle window (${idleWindow})…`);
    const zero = await until(90_000, async () => {
      const d = await client.get<Deployment & KObject>(R.deployments, 'default', name);
      return d.spec?.replicas === 0 && (await pods(client)).length === 0;
    });
    if (!zero) throw new Error(`deployment/${name} did not scale to zero within 90 s`);
    report.secondsToZero = (performance.now() - lastRequest) / 1000;
    out(
      `  deployment/${name} at 0 replicas, no pod left, ${report.secondsToZero.toFixed(1)} s after the last request`,
    );
    const n = o.concurrency ?? 20;
    out(
      `▸ ${n} concurrent requests while at zero (the ingress holds them and wakes the Deployment)`,
    );
    const answers = await Promise.all(Array.from({ length: n }, () => get(o.cluster.ingressUrl)));
    const ok = answers.filter((a) => a.status === 200);
    report.failedRequests = answers.length - ok.length;
    report.coldStartMs = ok.map((a) => Math.round(a.ms)).sort((a, b) => a - b);
    out(
      `  ${ok.length}/${n} answered, first byte after ${report.coldStartMs[0] ?? '-'}–${report.coldStartMs.at(-1) ?? '-'} ms`,
    );
    await sleep(500);
    const events = await client.list<Event>(R.events, {
      namespace: 'default',
      fieldSelector: `involvedObject.kind=Deployment,involvedObject.name=${name}`,
    });
    report.events = events.items
      .filter((e) => e.reason === 'ScaledToZero' || e.reason === 'ScaledFromZero')
      .map((e) => `${e.reason}: ${e.message}`);
    out(`▸ kubectl get events --field-selector involvedObject.name=${name}`);
    for (const e of report.events) out(`  ${e}`);
    if (o.statsUrl) {
      try {
        const res = await fetch(o.statsUrl);
        const s = (await res.json()) as { events?: { held?: number; coldStart?: number } };
        report.ingress = { held: s.events?.held, coldStart: s.events?.coldStart };
        out(
          `▸ ingress /stats: held ${s.events?.held ?? 0} requests, ${s.events?.coldStart ?? 0} cold starts since it started`,
        );
      } catch (err) {
        out(`  (no ingress stats: ${errorMessage(err)})`);
      }
    }
    if (report.failedRequests > 0) report.problems.push(`${report.failedRequests} failed requests`);
    if (!report.events.some((e) => e.startsWith('ScaledFromZero')))
      report.problems.push('no ScaledFromZero event');
  } catch (err) {
    report.problems.push(errorMessage(err));
  } finally {
    client.close();
  }
  report.ok = report.problems.length === 0;
  return report;
}

async function pods(client: KubeClient): Promise<Pod[]> {
  return (await client.list<Pod>(R.pods, { namespace: 'default', labelSelector: `app=${name}` }))
    .items;
}
