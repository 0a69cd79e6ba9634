// Step 3 of SEED.md, self-healing: `kubectl exec <pod> -- bash -c "killall python3"` while the
// request loop runs; measures when the failure is noticed, the heal, and the failed requests.
import { healTimes, toSeconds } from './analysis.js';
import { APP, type DemoContext, DemoStepError, kubectlStep, s, shortPod } from './context.js';
import { type RequestLoop, summarizeTraffic } from './traffic.js';

/** Kills the app in one pod and waits until that pod is Ready again with one more restart. */
export async function selfHeal(ctx: DemoContext, loop: RequestLoop): Promise<void> {
  const before = await ctx.sampler.sample();
  const victim = before.pods.find((p) => p.ready && !p.deleting);
  if (!victim) throw new DemoStepError('self-heal', `no Ready pod of ${APP} to kill`);
  ctx.figures.killedPod = victim.name;

  // Narrate the pod's state changes as the sampler sees them.
  let lastState = 'Ready';
  const unsubscribe = ctx.sampler.subscribe((x) => {
    const p = x.pods.find((q) => q.name === victim.name);
    if (!p) return;
    const state = p.ready ? 'Ready' : 'not Ready';
    if (state === lastState) return;
    lastState = state;
    ctx.timeline.note(
      'self-heal',
      p.ready
        ? `${victim.name} Ready again (RESTARTS ${p.restarts}): back in the Service`
        : `${victim.name} not Ready (RESTARTS ${p.restarts}): out of the Service's endpoints`,
      x.at,
    );
  });

  const killedAt = ctx.clock.now();
  await kubectlStep(ctx, 'self-heal', ['exec', victim.name, '--', 'bash', '-c', 'killall python3']);
  const healed = await ctx.sampler.waitFor(
    (x) => x.pods.some((p) => p.name === victim.name && p.ready && p.restarts > victim.restarts),
    60_000,
  );
  unsubscribe();
  const t = healTimes(ctx.sampler.samples, victim.name, killedAt, victim.restarts);
  if (t.notReadyAt !== undefined) ctx.figures.notReadySeconds = toSeconds(t.notReadyAt - killedAt);
  if (!healed || t.healedAt === undefined)
    throw new DemoStepError('self-heal', `${victim.name} was not Ready again within 60 s`);
  ctx.figures.healSeconds = toSeconds(t.healedAt - killedAt);
  ctx.timeline.figure(
    'self-heal',
    `healed in ${s(ctx.figures.healSeconds)} (kill → Ready, RESTARTS 1)`,
  );

  // The seed's loop shows the healed pod answering again.
  // Answers sent before the pod was last seen not Ready may come from the dying process; count
  // only answers sent after that.
  const lastDown = ctx.sampler.samples
    .filter((x) => x.at >= killedAt && x.at <= (t.healedAt ?? killedAt))
    .filter((x) => x.pods.some((p) => p.name === victim.name && !p.ready))
    .at(-1)?.at;
  const anyOk = loop.records.some((r) => r.ok);
  const back = anyOk
    ? await waitForAnswerFrom(ctx, loop, victim.name, lastDown ?? killedAt, 15_000)
    : undefined;
  if (back !== undefined) {
    ctx.figures.trafficBackSeconds = toSeconds(back - killedAt);
    ctx.timeline.note(
      'self-heal',
      `${shortPod(victim.name)} answers through the ingress again ${s(ctx.figures.trafficBackSeconds)} after the kill`,
      back,
    );
  } else ctx.timeline.error('self-heal', `${victim.name} did not answer through the ingress again`);

  const during = summarizeTraffic(loop.between(killedAt));
  const failures = loop.between(killedAt).filter((r) => !r.ok);
  ctx.timeline.figure(
    'self-heal',
    `since the kill: ${during.sent} requests, ${during.failed} failed; answers by pod: ${Object.entries(
      during.byPod,
    )
      .map(([p, n]) => `${shortPod(p)} ${n}`)
      .join(', ')}`,
  );
  for (const f of failures.slice(0, 3))
    ctx.timeline.error(
      'self-heal',
      `failed request at ${ctx.timeline.elapsed(f.at)} s: ${f.error}`,
    );
  await kubectlStep(ctx, 'self-heal', ['get', 'pods']);
}

/** Clock time of the first answer from `pod` sent after `after`, waiting up to timeoutMs. */
async function waitForAnswerFrom(
  ctx: DemoContext,
  loop: RequestLoop,
  pod: string,
  after: number,
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = ctx.clock.now() + timeoutMs;
  for (;;) {
    const hit = loop.between(after).find((r) => r.ok && r.pod === pod);
    if (hit) return hit.doneAt;
    if (ctx.clock.now() > deadline) return undefined;
    await ctx.clock.sleep(100);
  }
}
