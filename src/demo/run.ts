// Runs the whole seed walkthrough (SEED.md steps 1–3) on a running cluster and returns its
// figures, timeline and verdict; the CLI prints them.

import { loadKubeconfig } from '../client/config.js';
import { KubeClient } from '../client/rest.js';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { ClusterInfo } from './cluster.js';
import { type DemoContext, DemoStepError } from './context.js';
import { type DemoFigures, type DemoVerdict, evaluateFigures } from './figures.js';
import { Kubectl } from './kubectl.js';
import { Sampler } from './sampler.js';
import { selfHeal } from './steps-heal.js';
import { autoscale, loadAndScaleUp, scaleDown, waitMetrics } from './steps-scale.js';
import { cleanupPrevious, deployApp, showTraffic } from './steps-setup.js';
import { type DemoStep, Timeline, type TimelineEntry } from './timeline.js';
import { RequestLoop, summarizeTraffic } from './traffic.js';
import { which } from './which.js';

/** Options of one demo run. */
export interface RunDemoOptions {
  cluster: ClusterInfo;
  /** Continue after a failed step (the verdict still fails). */
  keepGoing?: boolean;
  /** Scale-down stabilization window to set on the HPA, in seconds (default 15). */
  windowSeconds?: number;
  /** The load (default the seed's ab -c 50 -n 10000). */
  load?: { requests: number; concurrency: number };
  /** Use ab inside a pod (default: when ab is on this machine's PATH). */
  useAb?: boolean;
  clock?: Clock;
  onEntry?: (e: TimelineEntry) => void;
}

/** Everything the demo found out. */
export interface DemoReport extends DemoVerdict {
  figures: DemoFigures;
  timeline: TimelineEntry[];
  cluster: ClusterInfo;
}

/** Replays the walkthrough; never throws for a failed step (the report says what failed). */
export async function runDemo(opts: RunDemoOptions): Promise<DemoReport> {
  const clock = opts.clock ?? realClock;
  const timeline = new Timeline({ clock, onEntry: opts.onEntry });
  const client = new KubeClient({
    config: { ...loadKubeconfig(opts.cluster.kubeconfig), userAgent: 'skiff-demo' },
  });
  const kubectl = new Kubectl({ kubeconfig: opts.cluster.kubeconfig, clock });
  const sampler = new Sampler({ client, clock });
  const figures: DemoFigures = {
    requests: 0,
    failedRequests: 0,
    stabilizationWindowSeconds: opts.windowSeconds ?? 15,
    peakReplicas: 0,
    peakReadyPods: 0,
    totalSeconds: 0,
  };
  const ctx: DemoContext = {
    kubectl,
    client,
    sampler,
    timeline,
    clock,
    ingressUrl: opts.cluster.ingressUrl,
    figures,
    windowSeconds: figures.stabilizationWindowSeconds,
    load: opts.load ?? { requests: 10_000, concurrency: 50 },
    useAb: opts.useAb ?? which('ab') !== undefined,
  };
  timeline.note(
    'cluster',
    opts.cluster.started
      ? `no cluster was running: started one with "skiff up --detach" (data dir ${opts.cluster.dataDir})`
      : `using the running cluster (pid ${opts.cluster.pid}, data dir ${opts.cluster.dataDir})`,
  );
  const loop = new RequestLoop({ url: opts.cluster.ingressUrl, rate: 20, clock });
  const errors: string[] = [];
  const skipped: DemoStep[] = [];
  let stopped = false;
  const step = async (name: DemoStep, fn: () => Promise<void>, fatal = false) => {
    if (stopped) {
      skipped.push(name);
      return;
    }
    try {
      await fn();
    } catch (err) {
      const msg = err instanceof DemoStepError ? err.message : `${name}: ${errorMessage(err)}`;
      errors.push(msg);
      timeline.error(name, msg);
      if (fatal || !opts.keepGoing) stopped = true;
    }
  };
  sampler.start();
  let loadEnd: number | undefined;
  try {
    await step('cleanup', () => cleanupPrevious(ctx), true);
    await step('deploy', () => deployApp(ctx), true);
    await step('traffic', () => showTraffic(ctx, loop));
    await step('self-heal', () => selfHeal(ctx, loop));
    await loop.stop();
    // Count from the first answer: before it, the ingress may not have routed the new Ingress yet
    // (the seed's user starts curl after the objects exist, not before they serve).
    const firstOk = loop.records.find((r) => r.ok);
    const sum = summarizeTraffic(firstOk ? loop.between(firstOk.at) : loop.records);
    figures.requests = sum.sent;
    figures.failedRequests = sum.failed;
    await step('metrics', () => waitMetrics(ctx));
    await step('autoscale', () => autoscale(ctx));
    await step('load', async () => {
      loadEnd = await loadAndScaleUp(ctx);
    });
    if (loadEnd !== undefined) {
      const end = loadEnd;
      await step('scale-down', () => scaleDown(ctx, end));
    } else skipped.push('scale-down');
  } finally {
    await loop.stop();
    await sampler.stop();
    kubectl.dispose();
    client.close();
  }
  figures.totalSeconds = timeline.elapsed();
  const verdict = evaluateFigures(figures, errors, [...new Set(skipped)]);
  timeline.note('done', verdict.ok ? 'walkthrough complete' : 'walkthrough incomplete');
  return { ...verdict, figures, timeline: timeline.entries, cluster: opts.cluster };
}
