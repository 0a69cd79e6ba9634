// Completion indexes of Indexed Jobs: the "1,3-5" interval strings of status.completedIndexes and
// the per-pod index annotation (kubernetes pkg/controller/job/indexed_job_utils.go).
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Container, Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';

/** The annotation (and label) carrying a pod's completion index. */
export const completionIndexKey = 'batch.kubernetes.io/job-completion-index';
/** The environment variable every container of an Indexed Job's pod gets. */
export const completionIndexEnv = 'JOB_COMPLETION_INDEX';

/** A sorted list of disjoint, non-adjacent closed intervals of indexes (upstream orderedIntervals). */
export type Intervals = ReadonlyArray<readonly [number, number]>;

/** Parses "0,2-4" keeping only indexes below completions; bad parts are skipped as upstream does. */
export function parseIndexes(s: string | undefined, completions: number): Intervals {
  const out: [number, number][] = [];
  if (!s) return out;
  for (const part of s.split(',')) {
    const [a, b = a] = part.split('-');
    const first = Number(a);
    let last = Number(b);
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < first) continue;
    if (first >= completions) break;
    last = Math.min(last, completions - 1);
    const prev = out[out.length - 1];
    if (prev && prev[1] + 1 >= first) prev[1] = Math.max(prev[1], last);
    else out.push([first, last]);
  }
  return out;
}

/** Renders intervals as "0,2-4". */
export function formatIndexes(iv: Intervals): string {
  return iv.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
}

/** Number of indexes covered. */
export function totalIndexes(iv: Intervals): number {
  return iv.reduce((n, [a, b]) => n + b - a + 1, 0);
}

/** True when ix lies in one of the intervals. */
export function hasIndex(iv: Intervals, ix: number): boolean {
  return iv.some(([a, b]) => ix >= a && ix <= b);
}

/** The union of iv and the given indexes (upstream withOrderedIndexes). */
export function withIndexes(iv: Intervals, indexes: Iterable<number>): Intervals {
  const all = new Set<number>();
  for (const [a, b] of iv) for (let i = a; i <= b; i++) all.add(i);
  for (const i of indexes) all.add(i);
  const sorted = [...all].sort((x, y) => x - y);
  const out: [number, number][] = [];
  for (const i of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev[1] + 1 === i) prev[1] = i;
    else out.push([i, i]);
  }
  return out;
}

/** The pod's completion index from its annotation, or undefined when missing or malformed. */
export function getCompletionIndex(pod: Pod): number | undefined {
  const v = pod.metadata?.annotations?.[completionIndexKey];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** The pod's index when it is valid for a job of `completions`. */
export function validIndex(pod: Pod, completions: number): number | undefined {
  const ix = getCompletionIndex(pod);
  return ix !== undefined && ix < completions ? ix : undefined;
}

/** True for completionMode Indexed. */
export function isIndexedJob(job: Job): boolean {
  return job.spec?.completionMode === 'Indexed';
}

/**
 * Previously recorded and now-known succeeded indexes: status.completedIndexes plus every
 * Succeeded pod's valid index (upstream calculateSucceededIndexes).
 */
export function calculateSucceededIndexes(
  job: Job,
  pods: readonly Pod[],
): { prev: Intervals; now: Intervals } {
  const completions = job.spec?.completions ?? 0;
  const prev = parseIndexes(job.status?.completedIndexes, completions);
  const fresh: number[] = [];
  for (const p of pods) {
    const ix = validIndex(p, completions);
    if (p.status?.phase === 'Succeeded' && ix !== undefined) fresh.push(ix);
  }
  return { prev, now: withIndexes(prev, fresh) };
}

/** The lowest `count` indexes neither succeeded nor held by an active pod (upstream firstPendingIndexes). */
export function firstPendingIndexes(
  succeeded: Intervals,
  activePods: readonly Pod[],
  count: number,
  completions: number,
): number[] {
  const busy = new Set<number>();
  for (const p of activePods) {
    const ix = validIndex(p, completions);
    if (ix !== undefined) busy.add(ix);
  }
  const out: number[] = [];
  for (let i = 0; i < completions && out.length < count; i++) {
    if (!busy.has(i) && !hasIndex(succeeded, i)) out.push(i);
  }
  return out;
}

/**
 * Splits active pods into those to remove (no valid index, or a duplicate of an index another pod
 * holds: the one `keepFirst` ranks best stays) and the rest (upstream appendDuplicatedIndexPodsForRemoval).
 */
export function duplicatedIndexPods(
  pods: readonly Pod[],
  completions: number,
  keepBefore: (a: Pod, b: Pod) => boolean,
): { rm: Pod[]; left: Pod[] } {
  const rm: Pod[] = [];
  const byIndex = new Map<number, Pod[]>();
  for (const p of pods) {
    const ix = validIndex(p, completions);
    if (ix === undefined) rm.push(p);
    else byIndex.set(ix, [...(byIndex.get(ix) ?? []), p]);
  }
  const left: Pod[] = [];
  for (const group of byIndex.values()) {
    // The pod to keep is the one that would be deleted last.
    let keep = group[0] as Pod;
    for (const p of group) if (keepBefore(keep, p)) keep = p;
    left.push(keep);
    for (const p of group) if (p !== keep) rm.push(p);
  }
  return { rm, left };
}

/** Adds JOB_COMPLETION_INDEX from the index annotation to every container without it. */
export function addCompletionIndexEnv(template: PodTemplateSpec): void {
  const add = (c: Container) => {
    if (c.env?.some((e) => e.name === completionIndexEnv)) return;
    c.env = [
      ...(c.env ?? []),
      {
        name: completionIndexEnv,
        valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${completionIndexKey}']` } },
      },
    ];
  };
  for (const c of template.spec?.initContainers ?? []) add(c);
  for (const c of template.spec?.containers ?? []) add(c);
}

/** Every index the intervals cover, in order. */
export function indexList(iv: Intervals): number[] {
  const out: number[] = [];
  for (const [a, b] of iv) for (let i = a; i <= b; i++) out.push(i);
  return out;
}
