// Steps 4–7 of SEED.md, autoscaling: metrics-server Available, `kubectl autoscale` plus a short
// scale-down window, the seed's requests patch, the load, the scale-up and the scale-down.
import { isScaledDown, isScaleUpSettled, scaleUp, toSeconds } from './analysis.js';
import {
  APP,
  type DemoContext,
  DemoStepError,
  kubectlStep,
  MAX_REPLICAS,
  MIN_REPLICAS,
  s,
  shortPod,
} from './context.js';
import { abInPod, type LoadFigures, loadThroughIngress } from './load.js';
import type { Sample } from './sampler.js';

/** Step 4: the seed's `kubectl wait` for the built-in metrics-server. */
export async function waitMetrics(ctx: DemoContext): Promise<void> {
  const r = await kubectlStep(
    ctx,
    'metrics',
    [
      'wait',
      'deployment',
      '-n',
      'kube-system',
      'metrics-server',
      '--for',
      'condition=Available=True',
      '--timeout=90s',
    ],
    { timeoutMs: 95_000 },
  );
  ctx.timeline.note('metrics', `metrics-server Available (waited ${s(r.ms / 1000)})`);
}

/** Step 5: the HPA, a short scale-down window (said out loud), the requests patch, the rollout. */
export async function autoscale(ctx: DemoContext): Promise<void> {
  await kubectlStep(ctx, 'autoscale', [
    'autoscale',
    'deployment',
    APP,
    '--cpu-percent=50',
    `--min=${MIN_REPLICAS}`,
    `--max=${MAX_REPLICAS}`,
  ]);
  ctx.timeline.note(
    'autoscale',
    `the demo shortens the HPA's scale-down stabilization window from 300 s to ${ctx.windowSeconds} s so the scale-down fits in the demo`,
  );
  await kubectlStep(ctx, 'autoscale', [
    'patch',
    'hpa',
    APP,
    '--type=merge',
    '-p',
    JSON.stringify({
      spec: { behavior: { scaleDown: { stabilizationWindowSeconds: ctx.windowSeconds } } },
    }),
  ]);
  await kubectlStep(ctx, 'autoscale', [
    'patch',
    'deployment',
    APP,
    '--type=json',
    '-p',
    '[{"op": "add", "path": "/spec/template/spec/containers/0/resources", "value": {"requests": {"memory": "100Mi", "cpu": "100m"}}}]',
  ]);
  const r = await kubectlStep(
    ctx,
    'autoscale',
    ['rollout', 'status', `deployment/${APP}`, '--timeout=60s'],
    { timeoutMs: 70_000, output: 'last' },
  );
  ctx.timeline.note('autoscale', `new ReplicaSet rolled out in ${s(r.ms / 1000)}`);
  await kubectlStep(ctx, 'autoscale', ['get', 'pod', '--field-selector=status.phase==Running']);
}

/** Narrates HPA decisions and new Ready pods while the load runs; returns the unsubscribe. */
function narrateScaling(ctx: DemoContext, initial: ReadonlySet<string>): () => void {
  let desired = MIN_REPLICAS;
  const readySeen = new Set<string>();
  return ctx.sampler.subscribe((x: Sample) => {
    const want = x.specReplicas ?? desired;
    if (want !== desired) {
      const cpu =
        x.cpuPercent !== undefined ? ` (CPU ${x.cpuPercent}% of the request, target 50%)` : '';
      ctx.timeline.note('scale-up', `HPA set replicas ${desired} → ${want}${cpu}`, x.at);
      desired = want;
    }
    for (const p of x.pods) {
      if (!p.ready || p.deleting || initial.has(p.name) || readySeen.has(p.name)) continue;
      readySeen.add(p.name);
      ctx.timeline.note(
        'scale-up',
        `new pod ${shortPod(p.name)} Ready (${readySeen.size + initial.size} Ready)`,
        x.at,
      );
    }
  });
}

/** Step 6: the load, while the sampler records the scale-up; fills the scale-up figures. */
export async function loadAndScaleUp(ctx: DemoContext): Promise<number> {
  const now = await ctx.sampler.sample();
  const initial = new Set(now.pods.filter((p) => !p.deleting).map((p) => p.name));
  const target = now.pods.find((p) => p.ready && !p.deleting);
  if (!target) throw new DemoStepError('load', `no Ready pod of ${APP} to load`);
  const unsubscribe = narrateScaling(ctx, initial);
  const loadStart = ctx.clock.now();
  // Like a user pressing Ctrl-C on ab once the pods have scaled up: the rest of the 10000
  // requests would only make the demo longer.
  const early = new AbortController();
  const stopWatch = ctx.sampler.subscribe((x) => {
    if (early.signal.aborted) return;
    const settled = isScaleUpSettled(ctx.sampler.samples, {
      loadStart,
      now: x.at,
      max: MAX_REPLICAS,
      initialPods: initial,
      settleMs: 8000,
    });
    if (!settled) return;
    ctx.timeline.note('load', 'the scale-up has settled: stopping the load early (Ctrl-C)', x.at);
    early.abort();
  });
  let figures: LoadFigures | undefined;
  try {
    if (ctx.useAb) {
      ctx.timeline.add(
        'load',
        'command',
        `kubectl exec ${target.name} -- ab -c ${ctx.load.concurrency} -n ${ctx.load.requests} http://127.0.0.1:5000/`,
      );
      figures = await abInPod(ctx.kubectl, target.name, ctx.load, {
        timeoutMs: 150_000,
        signal: early.signal,
      });
      if (!figures) ctx.timeline.note('load', 'no ab inside the pod: using skiff load instead');
    }
    if (!figures) {
      const url = ctx.ingressUrl;
      ctx.timeline.add(
        'load',
        'command',
        `skiff load -c ${ctx.load.concurrency} -n ${ctx.load.requests} ${url}`,
      );
      figures = await loadThroughIngress(url, ctx.load, { signal: early.signal });
    }
  } catch (err) {
    unsubscribe();
    throw err;
  } finally {
    stopWatch();
  }
  const loadEnd = ctx.clock.now();
  ctx.figures.load = {
    tool: figures.tool,
    requests: figures.requests,
    failed: figures.failed,
    requestsPerSecond: figures.requestsPerSecond,
    seconds: figures.seconds,
  };
  ctx.timeline.figure(
    'load',
    `load done: ${figures.requests} requests in ${figures.seconds.toFixed(1)} s, ${figures.failed} failed, ${Math.round(figures.requestsPerSecond)} requests/s`,
  );
  // The HPA may still be catching up when a short load ends: give the first new pod a bound.
  const isFreshReady = (x: Sample) =>
    x.pods.some((p) => p.ready && !p.deleting && !initial.has(p.name));
  if (!ctx.sampler.samples.some((x) => x.at >= loadStart && isFreshReady(x)))
    await ctx.sampler.waitFor(isFreshReady, 30_000);
  unsubscribe();
  const up = scaleUp(ctx.sampler.samples, loadStart, MIN_REPLICAS, initial);
  ctx.figures.peakReplicas = up.peakReplicas;
  ctx.figures.peakReadyPods = up.peakReadyPods;
  if (up.decisionAt !== undefined) {
    ctx.figures.scaleDecisionSeconds = toSeconds(up.decisionAt - loadStart);
    ctx.timeline.figure(
      'scale-up',
      `first scale decision ${s(ctx.figures.scaleDecisionSeconds)} after the load started`,
    );
  }
  if (up.firstNewPodReadyAt !== undefined) {
    ctx.figures.firstNewPodSeconds = toSeconds(up.firstNewPodReadyAt - loadStart);
    ctx.timeline.figure(
      'scale-up',
      `first new pod Ready ${s(ctx.figures.firstNewPodSeconds)} after the load started`,
    );
  }
  ctx.timeline.figure(
    'scale-up',
    `peak: ${up.peakReplicas} replicas, ${up.peakReadyPods} Ready pods`,
  );
  if (up.decisionAt === undefined) {
    const last = ctx.sampler.latest;
    throw new DemoStepError(
      'scale-up',
      `the HPA did not scale up (last seen: replicas ${last?.specReplicas ?? '?'}, CPU ${last?.cpuPercent ?? 'unknown'}%)`,
    );
  }
  return loadEnd;
}

/** Step 7: waits (bounded: window + a margin) until the Deployment is back to 2 pods. */
export async function scaleDown(ctx: DemoContext, loadEnd: number): Promise<void> {
  const boundMs = (ctx.windowSeconds + 45) * 1000;
  ctx.timeline.note(
    'scale-down',
    `load stopped; waiting up to ${boundMs / 1000} s for the HPA to return to ${MIN_REPLICAS} (window ${ctx.windowSeconds} s)`,
  );
  let desired = ctx.sampler.latest?.specReplicas;
  const unsubscribe = ctx.sampler.subscribe((x) => {
    if (x.specReplicas !== undefined && x.specReplicas !== desired) {
      ctx.timeline.note(
        'scale-down',
        `HPA set replicas ${desired ?? '?'} → ${x.specReplicas}`,
        x.at,
      );
      desired = x.specReplicas;
    }
  });
  const done =
    ctx.sampler.latest &&
    isScaledDown(ctx.sampler.latest, MIN_REPLICAS) &&
    ctx.sampler.latest.at >= loadEnd
      ? ctx.sampler.latest
      : await ctx.sampler.waitFor(
          (x) => isScaledDown(x, MIN_REPLICAS),
          Math.max(0, loadEnd + boundMs - ctx.clock.now()),
        );
  unsubscribe();
  if (!done)
    throw new DemoStepError(
      'scale-down',
      `still ${ctx.sampler.latest?.specReplicas ?? '?'} replicas ${boundMs / 1000} s after the load ended`,
    );
  ctx.figures.scaleDownSeconds = toSeconds(done.at - loadEnd);
  ctx.timeline.figure(
    'scale-down',
    `back to ${MIN_REPLICAS} pods ${s(ctx.figures.scaleDownSeconds)} after the load ended`,
  );
  await kubectlStep(ctx, 'scale-down', ['get', 'hpa', APP]);
}
