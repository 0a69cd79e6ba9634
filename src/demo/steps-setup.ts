// Steps 1–2 of SEED.md: remove a previous demo's objects, create the Deployment, Service and
// Ingress with the seed's exact kubectl lines, wait for 2/2 Ready, and show traffic alternating.

import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../client/resources.js';
import { isNotFound } from '../client/rest.js';
import {
  APP,
  type DemoContext,
  DemoStepError,
  IMAGE,
  kubectlStep,
  MIN_REPLICAS,
  s,
  shortPod,
} from './context.js';
import { podView } from './sampler.js';
import { type RequestLoop, summarizeTraffic } from './traffic.js';

/** Deletes the objects of a previous demo (if any) and waits until their pods are gone. */
export async function cleanupPrevious(ctx: DemoContext): Promise<void> {
  const first = await ctx.sampler.sample();
  const leftovers = first.specReplicas !== undefined || first.hpaDesired !== undefined;
  if (!leftovers && first.pods.length === 0) {
    ctx.timeline.note('cleanup', 'no objects from a previous demo');
    return;
  }
  ctx.timeline.note('cleanup', 'objects from a previous demo exist: deleting them first');
  await kubectlStep(ctx, 'cleanup', ['delete', 'deploy,svc,ing,hpa', APP, '--ignore-not-found'], {
    timeoutMs: 60_000,
  });
  const t0 = ctx.clock.now();
  let gone = await ctx.sampler.waitFor((x) => x.pods.length === 0, 30_000);
  if (!gone) {
    // The garbage collector should remove the ReplicaSets and their pods; if it did not within
    // the bound, remove them by label so the new Service does not select stale pods.
    ctx.timeline.error(
      'cleanup',
      'pods of the deleted Deployment remain after 30 s: deleting them',
    );
    await kubectlStep(ctx, 'cleanup', ['delete', 'rs,pods', '-l', `app=${APP}`, '--wait=false'], {
      allowFailure: true,
    });
    gone = await ctx.sampler.waitFor((x) => x.pods.length === 0, 30_000);
    if (!gone) throw new DemoStepError('cleanup', `pods labelled app=${APP} did not go away`);
  }
  ctx.timeline.note('cleanup', `previous pods gone after ${s((gone.at - t0) / 1000)}`);
}

/** Step 1: the seed's create commands, then `rollout status` until 2/2 are Ready. */
export async function deployApp(ctx: DemoContext): Promise<void> {
  await kubectlStep(ctx, 'deploy', [
    'create',
    'deployment',
    APP,
    `--image=${IMAGE}`,
    `--replicas=${MIN_REPLICAS}`,
  ]);
  await kubectlStep(
    ctx,
    'deploy',
    [
      'create',
      'deployment',
      APP,
      '--image',
      IMAGE,
      `--replicas=${MIN_REPLICAS}`,
      '--dry-run=client',
      '-o',
      'yaml',
    ],
    { output: { head: 4 } },
  );
  await kubectlStep(ctx, 'deploy', ['create', 'service', 'clusterip', APP, '--tcp=5000:5000']);
  await kubectlStep(ctx, 'deploy', ['create', 'ingress', APP, `--rule=/=${APP}:5000`]);
  const r = await kubectlStep(
    ctx,
    'deploy',
    ['rollout', 'status', `deployment/${APP}`, '--timeout=60s'],
    { timeoutMs: 70_000, output: 'last' },
  );
  ctx.timeline.figure(
    'deploy',
    `${MIN_REPLICAS}/${MIN_REPLICAS} pods Ready after ${s(r.ms / 1000)} of rollout`,
  );
  await kubectlStep(ctx, 'deploy', ['get', 'pods']);
}

const INGRESS_NS = 'ingress-nginx';
const INGRESS_DEPLOYMENT = 'ingress-nginx-controller';

/**
 * Waits (bounded) for the bundled ingress controller to be Available, as the seed waits for
 * ingress-nginx; on a timeout, names the controller pods' state so the failure is precise.
 */
export async function waitIngressController(ctx: DemoContext, timeoutMs = 60_000): Promise<void> {
  const t0 = ctx.clock.now();
  let announced = false;
  for (;;) {
    let dep: Deployment | undefined;
    try {
      dep = await ctx.client.get<Deployment>(R.deployments, INGRESS_NS, INGRESS_DEPLOYMENT);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      ctx.timeline.note(
        'traffic',
        `no ${INGRESS_NS}/${INGRESS_DEPLOYMENT} Deployment: not waiting for it`,
      );
      return;
    }
    const available = dep.status?.conditions?.some(
      (c) => c.type === 'Available' && c.status === 'True',
    );
    if (available) {
      if (announced)
        ctx.timeline.note(
          'traffic',
          `ingress controller Available after ${s((ctx.clock.now() - t0) / 1000)}`,
        );
      return;
    }
    if (!announced) {
      ctx.timeline.note('traffic', 'waiting for the ingress controller to be Available');
      announced = true;
    }
    if (ctx.clock.now() - t0 > timeoutMs) {
      const pods = await ctx.client.list<Pod>(R.pods, { namespace: INGRESS_NS });
      const states = pods.items
        .map(podView)
        .map(
          (p) => `${p.name} ${p.phase}${p.ready ? ' Ready' : ' not Ready'} RESTARTS ${p.restarts}`,
        );
      ctx.timeline.error(
        'traffic',
        `the ingress controller is not Available after ${timeoutMs / 1000} s: ${states.join('; ') || 'no pod'}`,
      );
      return;
    }
    await ctx.clock.sleep(500);
  }
}

/**
 * Step 2: the request loop through the ingress, until both pods have answered; shows the
 * alternation. The loop keeps running for the self-heal step.
 */
export async function showTraffic(ctx: DemoContext, loop: RequestLoop): Promise<void> {
  await waitIngressController(ctx);
  const t0 = ctx.clock.now();
  ctx.timeline.note('traffic', `GET ${ctx.ingressUrl} 20 times a second (the seed's curl loop)`);
  loop.start();
  // Until both pods answered: the ingress learns the endpoints a moment after they are Ready.
  const deadline = t0 + 30_000;
  while (ctx.clock.now() < deadline) {
    await ctx.clock.sleep(250);
    const sum = summarizeTraffic(loop.between(t0));
    if (Object.keys(sum.byPod).length >= MIN_REPLICAS) break;
  }
  await ctx.clock.sleep(1500);
  const sum = summarizeTraffic(loop.between(t0));
  const firstOk = loop.between(t0).find((r) => r.ok);
  if (!firstOk) {
    const errs = [...new Set(loop.between(t0).map((r) => r.error))].join('; ');
    throw new DemoStepError('traffic', `no request through ${ctx.ingressUrl} succeeded: ${errs}`);
  }
  ctx.timeline.note(
    'traffic',
    `first answer after ${s((firstOk.doneAt - t0) / 1000)}: "Hello, my first docker images! ${firstOk.pod ?? '?'}"`,
  );
  const order = sum.sequence.slice(-12).map(shortPod).join(' → ');
  ctx.timeline.figure(
    'traffic',
    `${sum.sent} requests, ${sum.failed} failed; answers by pod: ${Object.entries(sum.byPod)
      .map(([p, n]) => `${shortPod(p)} ${n}`)
      .join(', ')}\nlatest order: ${order}`,
  );
  if (Object.keys(sum.byPod).length < MIN_REPLICAS)
    ctx.timeline.error('traffic', 'only one pod answered: the ingress does not spread the load');
}
