// What every demo step shares: the kubectl runner, the API client, the sampler, the timeline and
// the figures being filled in, plus the helper that runs a kubectl line as a visible step.
import type { KubeClient } from '../client/rest.js';
import type { Clock } from '../lib/clock.js';
import type { DemoFigures } from './figures.js';
import type { Kubectl, KubectlResult } from './kubectl.js';
import type { Sampler } from './sampler.js';
import type { DemoStep, Timeline } from './timeline.js';

/** The app the seed deploys. */
export const APP = 'hello-world-flask';
/** The seed's image. */
export const IMAGE = 'lyzhang1999/hello-world-flask:latest';
/** The HPA's minimum (the seed's --min=2). */
export const MIN_REPLICAS = 2;
/** The HPA's maximum (the seed's --max=10). */
export const MAX_REPLICAS = 10;

/** Shared state of one demo run. */
export interface DemoContext {
  kubectl: Kubectl;
  client: KubeClient;
  sampler: Sampler;
  timeline: Timeline;
  clock: Clock;
  ingressUrl: string;
  figures: DemoFigures;
  /** Scale-down stabilization window the demo sets on the HPA, in seconds. */
  windowSeconds: number;
  /** Load requests and concurrency (the seed's ab -n 10000 -c 50). */
  load: { requests: number; concurrency: number };
  /** Use `ab` inside a pod (as the seed does) when true, else skiff's load engine via ingress. */
  useAb: boolean;
}

/** A step that could not do its part; the message says what failed. */
export class DemoStepError extends Error {
  constructor(
    readonly step: DemoStep,
    message: string,
  ) {
    super(message);
    this.name = 'DemoStepError';
  }
}

/** How much of a command's output the timeline shows. */
export type OutputMode = 'all' | 'none' | 'last' | { head: number };

/**
 * Runs a kubectl line as the user would type it, shows it and its output on the timeline, and
 * throws DemoStepError when it fails (unless allowFailure).
 */
export async function kubectlStep(
  ctx: DemoContext,
  step: DemoStep,
  args: string[],
  opts: { timeoutMs?: number; output?: OutputMode; allowFailure?: boolean } = {},
): Promise<KubectlResult> {
  const r = await ctx.kubectl.run(args, { timeoutMs: opts.timeoutMs });
  ctx.timeline.add(step, 'command', r.command, ctx.clock.now() - r.ms);
  const mode = opts.output ?? 'all';
  let text = r.stdout.trimEnd();
  if (mode === 'none') text = '';
  else if (mode === 'last') text = text.split('\n').at(-1) ?? '';
  else if (typeof mode === 'object') {
    const lines = text.split('\n');
    if (lines.length > mode.head)
      text = [...lines.slice(0, mode.head), `... (${lines.length - mode.head} more lines)`].join(
        '\n',
      );
  }
  if (text) ctx.timeline.add(step, 'output', text);
  if (r.code !== 0) {
    const msg = `${r.command} exited with ${r.code}: ${(r.stderr || r.stdout).trim()}`;
    if (opts.allowFailure) ctx.timeline.add(step, 'output', r.stderr.trim());
    else throw new DemoStepError(step, msg);
  }
  return r;
}

/** Formats seconds as the timeline shows them. */
export function s(seconds: number): string {
  return `${seconds.toFixed(1)} s`;
}

/** The 5-character suffix that tells the pods of one ReplicaSet apart. */
export function shortPod(name: string): string {
  return name.slice(name.lastIndexOf('-') + 1);
}
