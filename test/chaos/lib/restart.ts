// Restart plumbing for test/integration/restart.test.ts and bench/restart.ts (issue 12): a web
// deployment with probes behind a Service and the ingress, `skiff down` as a user runs it, and the
// wait for every pod Ready and serving again (with each pod's uid and restart count).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../../src/client/resources.js';
import { eventually, run } from '../../integration/harness.js';
import { type ChaosCluster, hostProcesses, isPodReady } from './cluster.js';

const repo = join(import.meta.dirname, '..', '..', '..');

/** Deployment `web` (n replicas, readiness and liveness probes), Service and Ingress for it. */
export function webManifest(replicas: number): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: lyzhang1999/hello-world-flask:latest
        readinessProbe: { httpGet: { path: /, port: 5000 }, periodSeconds: 1 }
        livenessProbe:
          tcpSocket: { port: 5000 }
          initialDelaySeconds: 10
          periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 5000, targetPort: 5000 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  rules:
  - http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 5000 } } } }
`;
}

/** One web pod as a restart check sees it. */
export interface WebPod {
  uid: string;
  restartCount: number;
  /** Exit code of lastState.terminated, if any. */
  lastExit?: number;
}

/** The web pods by name once exactly n exist and all are Ready, else undefined. */
export async function readyWebPods(
  c: ChaosCluster,
  n: number,
): Promise<Map<string, WebPod> | undefined> {
  const list = await c.client.list<Pod>(R.pods, {
    namespace: 'default',
    labelSelector: 'app=web',
  });
  const pods = list.items.filter((p) => !p.metadata?.deletionTimestamp);
  if (pods.length !== n || !pods.every(isPodReady)) return undefined;
  return new Map(
    pods.map((p) => {
      const cs = p.status?.containerStatuses?.[0];
      return [
        p.metadata?.name ?? '',
        {
          uid: p.metadata?.uid ?? '',
          restartCount: cs?.restartCount ?? -1,
          lastExit: cs?.lastState?.terminated?.exitCode,
        },
      ];
    }),
  );
}

/** True when a burst of requests through the ingress (fresh connections) all answer 200. */
export async function ingressServes(c: ChaosCluster): Promise<boolean> {
  const codes = await Promise.all(
    Array.from({ length: 8 }, () =>
      fetch(c.ingressUrl, { signal: AbortSignal.timeout(5000), keepalive: false })
        .then((r) => r.text().then(() => r.status))
        .catch(() => -1),
    ),
  );
  return codes.every((code) => code === 200);
}

/** What untilServing saw: the pods, and ms until all were Ready and until the ingress served. */
export interface Serving {
  pods: Map<string, WebPod>;
  readyMs: number;
  servingMs: number;
}

/** Waits (up to timeoutMs) until n web pods are Ready and the ingress serves them. */
export async function untilServing(
  c: ChaosCluster,
  n: number,
  timeoutMs: number,
): Promise<Serving> {
  const t0 = Date.now();
  let readyMs = -1;
  const pods = await eventually(
    async () => {
      const p = await readyWebPods(c, n);
      if (p && readyMs < 0) readyMs = Date.now() - t0;
      return p && (await ingressServes(c)) && p;
    },
    { timeoutMs, intervalMs: 100, what: `${n} web pods Ready and serving` },
  );
  return { pods, readyMs, servingMs: Date.now() - t0 };
}

/** `skiff down` as a user runs it; resolves with how long it took. */
export async function skiffDown(c: ChaosCluster): Promise<number> {
  const t0 = Date.now();
  const r = await run(process.execPath, [
    join(repo, 'bin', 'skiff.js'),
    'down',
    '--data-dir',
    c.skiff.dataDir,
  ]);
  if (r.code !== 0) throw new Error(`skiff down failed (${r.code}): ${r.stdout}${r.stderr}`);
  return Date.now() - t0;
}

/** `skiff up` again on the same data dir; resolves with ms until it printed its ready banner. */
export async function skiffUp(c: ChaosCluster): Promise<number> {
  const t0 = Date.now();
  await c.skiff.restart();
  return Date.now() - t0;
}

/** This cluster's /run/netns entries, pods' and spares' (never another cluster's). */
export function ownNetns(c: ChaosCluster): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter(
    (f) => f.startsWith(`${c.netnsPrefix}-`) || f.startsWith(`${c.netnsPrefix}.spare-`),
  );
}

/** Live host processes whose command line mentions `text` (e.g. the data dir). */
export function processesMentioning(text: string): Array<{ pid: number; ppid: number }> {
  return hostProcesses().filter((p) => p.argv.some((a) => a.includes(text)));
}
