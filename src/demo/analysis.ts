// Pure derivations of the demo's figures from the samples: heal time, the first scale decision,
// the first new pod Ready, peak replicas, and the return to the minimum.
import type { Sample } from './sampler.js';

/** First sample at or after `from` for which pred holds. */
export function firstSample(
  samples: readonly Sample[],
  from: number,
  pred: (s: Sample) => boolean,
): Sample | undefined {
  return samples.find((s) => s.at >= from && pred(s));
}

/** When the killed pod was seen not Ready, and Ready again with a restart (clock times). */
export function healTimes(
  samples: readonly Sample[],
  pod: string,
  killedAt: number,
  restartsBefore: number,
): { notReadyAt?: number; healedAt?: number } {
  const view = (s: Sample) => s.pods.find((p) => p.name === pod);
  const notReady = firstSample(samples, killedAt, (s) => {
    const p = view(s);
    return p !== undefined && (!p.ready || p.restarts > restartsBefore);
  });
  const healed = firstSample(samples, killedAt, (s) => {
    const p = view(s);
    return p?.ready === true && p.restarts > restartsBefore;
  });
  return { notReadyAt: notReady?.at, healedAt: healed?.at };
}

/** Scale-up figures from the samples taken since the load started. */
export interface ScaleUp {
  /** First time the HPA (or the Deployment) asked for more than `min` replicas. */
  decisionAt?: number;
  /** First time a pod that did not exist at load start was Ready. */
  firstNewPodReadyAt?: number;
  firstNewPod?: string;
  peakReplicas: number;
  peakReadyPods: number;
}

/** Derives the scale-up figures; `initialPods` are the pod names at load start. */
export function scaleUp(
  samples: readonly Sample[],
  loadStart: number,
  min: number,
  initialPods: ReadonlySet<string>,
): ScaleUp {
  const out: ScaleUp = { peakReplicas: 0, peakReadyPods: 0 };
  for (const s of samples) {
    if (s.at < loadStart) continue;
    const wanted = Math.max(s.hpaDesired ?? 0, s.specReplicas ?? 0);
    if (out.decisionAt === undefined && wanted > min) out.decisionAt = s.at;
    out.peakReplicas = Math.max(out.peakReplicas, s.specReplicas ?? 0);
    const ready = s.pods.filter((p) => p.ready && !p.deleting);
    out.peakReadyPods = Math.max(out.peakReadyPods, ready.length);
    if (out.firstNewPodReadyAt === undefined) {
      const fresh = ready.find((p) => !initialPods.has(p.name));
      if (fresh) {
        out.firstNewPodReadyAt = s.at;
        out.firstNewPod = fresh.name;
      }
    }
  }
  return out;
}

/** True when the Deployment (and the HPA's status) are back to `min` with no surplus pod left. */
export function isScaledDown(s: Sample, min: number): boolean {
  return (
    s.specReplicas === min &&
    (s.hpaCurrent === undefined || s.hpaCurrent === min) &&
    s.pods.filter((p) => !p.deleting).length === min
  );
}

/** Rounds a duration in ms to seconds with one decimal of millisecond precision kept. */
export function toSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/**
 * True once the scale-up has played out, so the load may stop early: the Deployment reached
 * `max` with every pod Ready, or a new pod has been Ready for `settleMs` and the replica count
 * has not changed for `settleMs`.
 */
export function isScaleUpSettled(
  samples: readonly Sample[],
  opts: {
    loadStart: number;
    now: number;
    max: number;
    initialPods: ReadonlySet<string>;
    settleMs: number;
  },
): boolean {
  const since = samples.filter((x) => x.at >= opts.loadStart);
  const last = since[since.length - 1];
  if (!last || last.specReplicas === undefined) return false;
  const ready = last.pods.filter((p) => p.ready && !p.deleting).length;
  if (last.specReplicas >= opts.max && ready >= opts.max) return true;
  const firstNew = scaleUp(samples, opts.loadStart, 0, opts.initialPods).firstNewPodReadyAt;
  if (firstNew === undefined || opts.now - firstNew < opts.settleMs) return false;
  const lastChange = since.findLast(
    (x, i) => i > 0 && x.specReplicas !== since[i - 1]?.specReplicas,
  )?.at;
  return lastChange === undefined || opts.now - lastChange >= opts.settleMs;
}
