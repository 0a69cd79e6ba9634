// The all-in-one server (k3s style): the one place that wires store → apiserver → controllers →
// node agent → proxy/DNS → add-ons → dashboard, each behind its start(signal) seam.
import { setMaxListeners } from 'node:events';
import {
  chmodSync,
  closeSync,
  createWriteStream,
  existsSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ensurePki, type Pki } from '../apiserver/auth/pki.js';
import { createApiServer } from '../apiserver/server.js';
import { InformerFactory } from '../client/informer-factory.js';
import {
  mergeIntoKubeconfig,
  renderKubeconfig,
  userKubeconfigPath,
  writeSecretFile,
} from '../client/kubeconfig.js';
import { KubeClient } from '../client/rest.js';
import { createDashboard } from '../dashboard/server.js';
import { nthAddress } from '../lib/cidr.js';
import { realClock } from '../lib/clock.js';
import { dataDirLayout, ensureDataDir, lockDataDir } from '../lib/data-dir.js';
import { errorMessage } from '../lib/errors.js';
import { lockRanges, type RangeClaim, RangeInUseError } from '../lib/host-lock.js';
import type { Component } from '../lib/lifecycle.js';
import { configureLogging, createLogger } from '../lib/log.js';
import { startEventExpiry } from '../store/event-ttl.js';
import { startCompactor } from '../store/revisions.js';
import { SqliteBackend } from '../store/sqlite/sqlite-backend.js';
import { bootstrapObjects, ensureObjects } from './bootstrap.js';
import {
  cleanupHost,
  controllerComponents,
  imageComponents,
  networkComponents,
  nodeComponents,
} from './components.js';
import type { ClusterOptions, WiringContext } from './context.js';

export type { ClusterOptions, HPASettings } from './context.js';

/** A running cluster. */
export interface Cluster {
  apiUrl: string;
  kubeconfigPath: string;
  userKubeconfigPath: string;
  ingressUrl: string;
  dashboardUrl?: string;
  client: KubeClient;
  /** Stops every component; with stopPods also the pods and the host network. */
  stop(opts: { stopPods: boolean }): Promise<void>;
}

/** Starts the whole cluster; resolves when the API is ready and every component started. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const layout = dataDirLayout(opts.dataDir);
  ensureDataDir(layout);
  const unlock = lockDataDir(layout, {
    nodeName: opts.nodeName,
    podCIDR: opts.podCIDR,
    startedAt: new Date().toISOString(),
  });
  let releaseRanges: () => Promise<void>;
  try {
    // Before the cluster record: a run refused here must not leave a record naming another
    // cluster's network for `skiff down` to remove.
    releaseRanges = await lockRanges(clusterRanges(opts), {
      pid: process.pid,
      dataDir: layout.root,
    });
  } catch (err) {
    unlock();
    throw err;
  }
  writeClusterRecord(layout.root, {
    nodeName: opts.nodeName,
    podCIDR: opts.podCIDR,
    serviceCIDR: opts.serviceCIDR,
  });
  const log = createLogger({ component: 'skiff' });
  // Component logs go to <data-dir>/skiff.log so the terminal keeps the progress and ready block;
  // SKIFF_LOG_STDERR=1 keeps them on stderr (debugging, CI).
  if (process.env['SKIFF_LOG_STDERR'] !== '1') {
    const stream = createWriteStream(layout.logFile, { flags: 'a', mode: 0o600 });
    configureLogging({ sink: (line) => stream.write(line + '\n') });
  }
  const abort = new AbortController();
  // Every informer, controller and timer listens on this one signal.
  setMaxListeners(1000, abort.signal);
  const components: Component[] = [];
  const stopFns: (() => void)[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const v = await fn();
    opts.onProgress?.(name, performance.now() - t);
    return v;
  };
  let backend: SqliteBackend | undefined;
  let api: ReturnType<typeof createApiServer> | undefined;
  try {
    const pki: Pki = await step('certificates and tokens', () =>
      ensurePki(layout.pki, {
        extraSans: [nthAddress(opts.serviceCIDR, 1), nthAddress(opts.podCIDR, 1)],
      }),
    );
    backend = await step('store (SQLite)', async () => {
      // The database holds Secrets: create it owner-only before SQLite opens it (its -wal and
      // -shm files inherit the mode).
      if (!existsSync(layout.db)) closeSync(openSync(layout.db, 'w', 0o600));
      chmodSync(layout.db, 0o600);
      return new SqliteBackend({ path: layout.db });
    });
    stopFns.push(startCompactor(backend, {}));
    stopFns.push(startEventExpiry(backend, { ttlMs: opts.eventTtlMs }));
    const minor = opts.kubeVersion.split('.')[1] ?? '32';
    api = createApiServer({
      backend,
      pki,
      port: opts.apiPort,
      host: '127.0.0.1',
      serviceCIDR: opts.serviceCIDR,
      version: { major: '1', minor, gitVersion: `v1.${minor}.0` },
    });
    const started = api;
    const { port } = await step('API server', async () => {
      const r = await started.listen();
      await started.ready;
      return r;
    });
    const apiUrl = `https://127.0.0.1:${port}`;
    const client = new KubeClient({
      config: {
        server: apiUrl,
        token: pki.adminToken,
        ca: pki.caCert,
        userAgent: 'skiff-controller',
      },
    });
    const kubeconfigText = renderKubeconfig({
      server: apiUrl,
      caPem: pki.caCert,
      token: pki.adminToken,
    });
    writeSecretFile(layout.kubeconfig, kubeconfigText);
    const userPath = userKubeconfigPath();
    if (opts.mergeKubeconfig)
      mergeIntoKubeconfig(userPath, { server: apiUrl, caPem: pki.caCert, token: pki.adminToken });

    const ctx: WiringContext = {
      opts,
      pki,
      client,
      apiPort: port,
      apiUrl,
      layout,
      log,
      signal: abort.signal,
      notice: (m: string) => opts.onNotice?.(m),
    };
    await step('system objects', () =>
      ensureObjects(client, bootstrapObjects(ctx), (m) => log.warn(m)),
    );
    const informers = new InformerFactory({ client, clock: realClock });
    const images = imageComponents(ctx, informers);
    ctx.images = images.service;
    const agent = nodeComponents(ctx);
    if (agent.isReduced)
      ctx.notice(
        'reduced mode: no namespaces or cgroups; each pod gets a loopback IP (run as root on Linux for full isolation)',
      );
    for (const [group, list] of [
      ['controllers', controllerComponents(ctx, informers)],
      ['images (store, local registry)', images.components],
      ['node agent', [agent]],
      ['network (service proxy, DNS)', networkComponents(ctx, informers)],
    ] as const) {
      await step(group, async () => {
        informers.start(abort.signal);
        await Promise.all(list.map((c) => c.start(abort.signal)));
        components.push(...list);
      });
    }
    const ingressUrl = `http://127.0.0.1${opts.ingressPort === 80 ? '' : `:${opts.ingressPort}`}/`;
    const ingressStatsUrl = `http://127.0.0.1:${opts.ingressStatusPort}/stats`;
    const dashboard = createDashboard({
      client,
      port: opts.dashboardPort,
      ingressUrl,
      ingressStatsUrl,
    });
    await step('dashboard', () => dashboard.start(abort.signal));
    components.push(dashboard);
    const dashboardUrl = dashboard.url();
    // `skiff status`, `skiff down` (host names derive from the pod CIDR) and `skiff demo` read it.
    const info = {
      pid: process.pid,
      nodeName: opts.nodeName,
      podCIDR: opts.podCIDR,
      ready: true,
      apiUrl,
      kubeconfig: layout.kubeconfig,
      ingressUrl,
      ingressStatsUrl,
      dashboardUrl,
    };
    writeFileSync(layout.pidFile, JSON.stringify(info), { mode: 0o600 });
    let stopping: Promise<void> | undefined;
    return {
      apiUrl,
      kubeconfigPath: layout.kubeconfig,
      userKubeconfigPath: userPath,
      ingressUrl,
      dashboardUrl,
      client,
      stop(o) {
        stopping ??= (async () => {
          // Where `skiff down` spends its time (debug level): issue 18 wants it under 2 s.
          const t0 = performance.now();
          const mark = (step: string) =>
            log.debug('stop step', { step, ms: Math.round(performance.now() - t0) });
          // Pods outlive the control plane unless asked (kill -9 leaves them running for adoption).
          if (o.stopPods)
            await agent
              .stopAllPods()
              .catch((err: unknown) => log.warn('Stopping pods failed', { err }));
          mark('pods');
          abort.abort();
          await Promise.all(
            components.map((c) =>
              c.stopped?.().catch((err: unknown) => log.warn('Stop failed', { err })),
            ),
          );
          await informers.stopped();
          mark('components');
          if (o.stopPods)
            await cleanupHost({
              dataDir: layout.root,
              nodeName: opts.nodeName,
              podCIDR: opts.podCIDR,
            });
          mark('host');
          for (const f of stopFns) f();
          await started.close();
          mark('api');
          client.close();
          backend?.close();
          await releaseRanges();
          unlock();
          mark('store');
        })();
        return stopping;
      },
    };
  } catch (err) {
    abort.abort();
    for (const f of stopFns) f();
    await api?.close().catch(() => undefined);
    backend?.close();
    await releaseRanges();
    unlock();
    throw err;
  }
}

/** Removes the pods, sandboxes and host network a crashed run left behind (skiff down). */
export async function cleanupLeftovers(opts: { dataDir: string }): Promise<boolean> {
  const layout = dataDirLayout(opts.dataDir);
  // Host names (bridge, netns, cgroups, service device) derive from the pod CIDR the data dir ran
  // with; without that record this data dir never started a cluster, and the host holds nothing
  // of it (guessing the defaults would remove another cluster's network).
  const record = readClusterRecord(layout.root);
  if (!record) return false;
  // The record's ranges may since have been taken by a cluster of another data dir, whose bridge
  // and pods carry the same names: removing them would break that cluster. Holding the ranges
  // while cleaning also keeps a `skiff up` from claiming them halfway through.
  const release = await lockRanges(clusterRanges(record), {
    pid: process.pid,
    dataDir: layout.root,
  }).catch((err: unknown) => {
    if (err instanceof RangeInUseError)
      throw new Error(`${err.inUse}: its pods and network were left alone`);
    throw err;
  });
  try {
    return await cleanupHost({
      dataDir: layout.root,
      nodeName: record.nodeName,
      podCIDR: record.podCIDR,
    });
  } catch (err) {
    throw new Error(`Cannot clean up after the previous run: ${errorMessage(err)}`);
  } finally {
    await release();
  }
}

/** The address ranges a cluster claims on the host (the service CIDR is unknown to old records). */
function clusterRanges(c: { podCIDR: string; serviceCIDR?: string }): RangeClaim[] {
  return [
    { what: 'pod CIDR', cidr: c.podCIDR, flag: '--pod-cidr' },
    ...(c.serviceCIDR
      ? [{ what: 'service CIDR', cidr: c.serviceCIDR, flag: '--service-cidr' }]
      : []),
  ];
}

/** What `skiff up` records in the data dir so `skiff down` can clean up after a crash. */
interface ClusterRecord {
  nodeName: string;
  podCIDR: string;
  serviceCIDR?: string;
}

function clusterRecordPath(root: string): string {
  return join(root, 'cluster.json');
}

function writeClusterRecord(root: string, record: ClusterRecord): void {
  writeFileSync(clusterRecordPath(root), JSON.stringify(record), { mode: 0o600 });
}

function readClusterRecord(root: string): ClusterRecord | undefined {
  const path = clusterRecordPath(root);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as ClusterRecord;
}
