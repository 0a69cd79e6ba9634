// `skiff up`: starts the whole single-node cluster in this process (or detached), prints what it
// started and how long each part took, then a short "ready" block; Ctrl-C stops it cleanly.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import pc from 'picocolors';
import { loadKubeconfig } from '../client/config.js';
import { R } from '../client/resources.js';
import { KubeClient } from '../client/rest.js';
import {
  DataDirLockedError,
  dataDirLayout,
  ensureDataDir,
  isProcessAlive,
  runningPid,
} from '../lib/data-dir.js';
import { errorMessage } from '../lib/errors.js';
import { withUpEnv, withUpNodeFlags } from '../lib/node-flags.js';
import { parseDisabled } from './bootstrap.js';
import { type ClusterOptions, startCluster } from './server.js';

/** Options of `skiff up` as commander parses them. */
export interface UpOptions {
  dataDir?: string;
  apiPort: number;
  ingressPort: number;
  ingressStatusPort: number;
  ingressDataPlane: 'auto' | 'nginx' | 'node';
  kubeletPort: number;
  metricsPort: number;
  dashboardPort: number;
  kubeVersion: string;
  podCidr: string;
  serviceCidr: string;
  nodeName: string;
  hpaSyncPeriod: number;
  hpaDownscaleStabilization: number;
  hpaTolerance: number;
  hpaCpuInitializationPeriod: number;
  hpaInitialReadinessDelay: number;
  vpaRecommenderInterval: number;
  vpaMemoryAggregationInterval: number;
  vpaPodLifetimeUpdateThreshold: number;
  vpaPodRecommendationMinCpuMillicores: number;
  vpaPodRecommendationMinMemoryMb: number;
  vpaRecommendationMarginFraction: number;
  vpaTargetCpuPercentile: number;
  vpaTargetMemoryPercentile: number;
  metricResolution: number;
  eventTtl?: number;
  cronjobTimeScale: number;
  reduced: boolean;
  kubeconfig: boolean;
  detach: boolean;
  /** Milliseconds to wait for the add-ons before the ready banner (0: do not wait). */
  wait: number;
  registryMirror?: string[];
  insecureRegistry?: string[];
  localRegistryPort: number;
  /** Built-in add-ons to leave out (--disable). */
  disable?: string[];
  /** Where LoadBalancer Services listen (--lb-address). */
  lbAddress?: string;
}

const out = (s: string) => process.stdout.write(s + '\n');

/**
 * Makes the terminal's output best effort. When it goes away (the window closed, or the reader of
 * a pipe such as `skiff up | tee` ended), the next line written ends in EPIPE or EIO, which as an
 * unhandled stream error killed skiff up halfway through stopping, pods left behind. Components
 * log to <data-dir>/skiff.log, so nothing else is lost.
 */
function survivePipeLoss(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

/** Runs `skiff up`; returns the exit code. */
export async function upCommand(opts: UpOptions): Promise<number> {
  const layout = dataDirLayout(opts.dataDir);
  if (!/^1\.(2[7-9]|3[0-3])$/.test(opts.kubeVersion)) {
    process.stderr.write(`error: --kube-version must be 1.27 to 1.33, got "${opts.kubeVersion}"\n`);
    return 2;
  }
  try {
    parseDisabled(opts.disable);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 2;
  }
  const holder = runningPid(layout);
  if (holder !== undefined) {
    process.stderr.write(`error: ${new DataDirLockedError(layout.root, holder).message}\n`);
    return 1;
  }
  if (opts.detach) return detach(opts, layout.root);

  survivePipeLoss();
  const t0 = performance.now();
  out(`Starting Skiff ${pc.dim(`(data dir ${layout.root})`)}`);
  const clusterOpts: ClusterOptions = {
    dataDir: layout.root,
    apiPort: opts.apiPort,
    ingressPort: opts.ingressPort,
    ingressStatusPort: opts.ingressStatusPort,
    ingressDataPlane: opts.ingressDataPlane,
    kubeletPort: opts.kubeletPort,
    metricsPort: opts.metricsPort,
    dashboardPort: opts.dashboardPort,
    kubeVersion: opts.kubeVersion,
    podCIDR: opts.podCidr,
    serviceCIDR: opts.serviceCidr,
    nodeName: opts.nodeName,
    hpa: {
      syncPeriodMs: opts.hpaSyncPeriod,
      downscaleStabilizationMs: opts.hpaDownscaleStabilization,
      tolerance: opts.hpaTolerance,
      cpuInitializationPeriodMs: opts.hpaCpuInitializationPeriod,
      initialReadinessDelayMs: opts.hpaInitialReadinessDelay,
    },
    vpa: {
      recommenderIntervalMs: opts.vpaRecommenderInterval,
      memoryAggregationIntervalMs: opts.vpaMemoryAggregationInterval,
      podLifetimeUpdateThresholdMs: opts.vpaPodLifetimeUpdateThreshold,
      podMinCPUMillicores: opts.vpaPodRecommendationMinCpuMillicores,
      podMinMemoryMb: opts.vpaPodRecommendationMinMemoryMb,
      safetyMarginFraction: opts.vpaRecommendationMarginFraction,
      targetCPUPercentile: opts.vpaTargetCpuPercentile,
      targetMemoryPercentile: opts.vpaTargetMemoryPercentile,
    },
    metricResolutionMs: opts.metricResolution,
    ...(opts.eventTtl === undefined ? {} : { eventTtlMs: opts.eventTtl }),
    cronJobTimeScale: opts.cronjobTimeScale,
    reduced: opts.reduced,
    mergeKubeconfig: opts.kubeconfig,
    registryMirrors: opts.registryMirror ?? [],
    insecureRegistries: opts.insecureRegistry ?? [],
    localRegistryPort: opts.localRegistryPort,
    disable: opts.disable,
    loadBalancerIP: opts.lbAddress,
    onProgress: (step, ms) => out(`  ${pc.green('✓')} ${step} ${pc.dim(`(${Math.round(ms)} ms)`)}`),
    onNotice: (msg) => out(`  ${pc.yellow('!')} ${msg}`),
  };
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  try {
    cluster = await startCluster(clusterOpts);
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
  if (opts.wait > 0) {
    const t1 = performance.now();
    const pending = await waitForAddons(cluster.client, opts.wait, parseDisabled(opts.disable));
    if (pending.length)
      out(
        `  ${pc.yellow('!')} add-ons not available after ${opts.wait / 1000} s: ${pending.join(', ')}`,
      );
    else
      out(
        `  ${pc.green('✓')} add-ons available ${pc.dim(`(${Math.round(performance.now() - t1)} ms)`)}`,
      );
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  out('');
  out(pc.bold(`Skiff is ready in ${secs} s.`));
  out(`  API server   ${cluster.apiUrl}`);
  out(
    `  kubeconfig   ${cluster.kubeconfigPath}${opts.kubeconfig ? ` (context "skiff" merged into ${cluster.userKubeconfigPath})` : ''}`,
  );
  out(`  ingress      ${cluster.ingressUrl}`);
  if (cluster.dashboardUrl) out(`  dashboard    ${cluster.dashboardUrl}`);
  out(`  logs         ${layout.logFile}`);
  out('');
  out(
    opts.kubeconfig
      ? '  Try: kubectl get nodes'
      : `  Try: KUBECONFIG=${cluster.kubeconfigPath} kubectl get nodes`,
  );
  out(`  Stop: Ctrl-C here, or skiff down${opts.dataDir ? ` --data-dir ${layout.root}` : ''}`);

  return await new Promise<number>((resolveExit) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        // A second Ctrl-C: give up on a clean stop.
        process.exit(130);
      }
      stopping = true;
      out(`\n${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping Skiff (pods, network, API)...`);
      cluster
        .stop({ stopPods: true })
        .then(() => {
          out('Skiff stopped.');
          resolveExit(0);
        })
        .catch((err: unknown) => {
          process.stderr.write(`error while stopping: ${errorMessage(err)}\n`);
          resolveExit(1);
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // The terminal closed: stop as for Ctrl-C rather than die on the default action with every
    // pod left running.
    process.on('SIGHUP', onSignal);
  });
}

/** Starts `skiff up` in the background with output to <data-dir>/skiff.log, returns once ready. */
async function detach(opts: UpOptions, root: string): Promise<number> {
  const layout = dataDirLayout(root);
  ensureDataDir(layout);
  const log = openSync(layout.logFile, 'a', 0o600);
  const args = process.argv.slice(1).filter((a) => a !== '--detach');
  if (!args.includes('--data-dir')) args.push('--data-dir', root);
  const child = spawn(
    process.execPath,
    [...withUpNodeFlags(process.execArgv), ...args.map((a, i) => (i === 0 ? resolve(a) : a))],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: withUpEnv(process.env),
    },
  );
  closeSync(log);
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (child.pid === undefined || !isProcessAlive(child.pid)) break;
    try {
      const info = JSON.parse(readFileSync(layout.pidFile, 'utf8')) as Record<string, unknown>;
      if (info['pid'] === child.pid && info['ready'] === true) {
        if (opts.wait > 0) {
          const client = new KubeClient({ config: loadKubeconfig(String(info['kubeconfig'])) });
          const pending = await waitForAddons(client, opts.wait, parseDisabled(opts.disable));
          client.close();
          if (pending.length) {
            process.stderr.write(
              `error: Skiff (pid ${child.pid}) runs, but these add-ons are not available after ${opts.wait / 1000} s: ${pending.join(', ')}; see ${layout.logFile}\n`,
            );
            return 1;
          }
        }
        out(`Skiff is running in the background (pid ${child.pid}, log ${layout.logFile}).`);
        out(`  API server   ${String(info['apiUrl'])}`);
        out(`  kubeconfig   ${String(info['kubeconfig'])}`);
        out(`  ingress      ${String(info['ingressUrl'])}`);
        if (info['dashboardUrl']) out(`  dashboard    ${String(info['dashboardUrl'])}`);
        out(`  Stop: skiff down${opts.dataDir ? ` --data-dir ${root}` : ''}`);
        return 0;
      }
    } catch {
      // The pid file is not written yet.
    }
  }
  process.stderr.write(`error: skiff did not become ready; see ${layout.logFile}\n`);
  return 1;
}

/** The add-on Deployments `skiff up --wait` waits for, by --disable name. */
const addons = {
  ingress: 'ingress-nginx/ingress-nginx-controller',
  'metrics-server': 'kube-system/metrics-server',
};

/**
 * Waits until every add-on Deployment is Available (or timeoutMs passes); resolves with those
 * that are not (empty: all available).
 */
async function waitForAddons(
  client: KubeClient,
  timeoutMs: number,
  disabled: Set<string>,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending: string[] = [];
    for (const [addon, key] of Object.entries(addons)) {
      if (disabled.has(addon)) continue;
      const [ns, name] = key.split('/');
      const d = await client.get<Deployment>(R.deployments, ns, name ?? '').catch(() => undefined);
      const available = d?.status?.conditions?.some(
        (c) => c.type === 'Available' && c.status === 'True',
      );
      if (!available) pending.push(key);
    }
    if (pending.length === 0 || Date.now() >= deadline) return pending;
    await new Promise((r) => setTimeout(r, 250));
  }
}
