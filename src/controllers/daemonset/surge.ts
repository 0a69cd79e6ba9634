// The surge half of a DaemonSet rolling update: a new pod starts beside the old one and the old
// one goes once the new one is available (behaviour follows kubernetes pkg/controller/daemon
// update.go rollingUpdate's maxSurge branch and daemon_controller.go podsShouldBeOnNode).
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isPodAvailable } from '../runtime/pods.js';

const revisionLabel = 'controller-revision-hash';

/** The daemon pods on one node that should run the daemon (running or pending, not terminating). */
export interface NodeDaemonPods {
  node: string;
  pods: Pod[];
}

const byAge = (a: Pod, b: Pod) =>
  (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') ||
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

/**
 * Under surge a node may hold one old and one new pod: keeps the oldest of each and returns the
 * rest to delete (upstream podsShouldBeOnNode with surge allowed).
 */
export function surplusUnderSurge(pods: Pod[], hash: string): Pod[] {
  let oldest: { old?: Pod; cur?: Pod } = {};
  const surplus: Pod[] = [];
  for (const p of [...pods].sort(byAge)) {
    const isNew = p.metadata?.labels?.[revisionLabel] === hash;
    if (isNew && !oldest.cur) oldest = { ...oldest, cur: p };
    else if (!isNew && !oldest.old) oldest = { ...oldest, old: p };
    else surplus.push(p);
  }
  return surplus;
}

/**
 * One surge step over every node (upstream rollingUpdate when maxSurge > 0). Invariants:
 * 1. A node whose old pod is unavailable gets its new pod at once (it costs no availability).
 * 2. An old pod is deleted once the new pod beside it is available.
 * 3. At most `maxSurge` nodes run a new pod that is not available yet beside an available old one.
 */
export function surgeUpdate(
  nodes: NodeDaemonPods[],
  opts: { hash: string; maxSurge: number; minReadySeconds: number; now: number },
): { createOn: string[]; remove: Pod[] } {
  const available = (p: Pod) => isPodAvailable(p, opts.minReadySeconds, opts.now);
  const remove: Pod[] = [];
  const allowed: string[] = [];
  const candidates: string[] = [];
  let surging = 0;
  for (const { node, pods } of nodes) {
    const fresh = pods.filter((p) => p.metadata?.labels?.[revisionLabel] === opts.hash);
    const old = pods.filter((p) => p.metadata?.labels?.[revisionLabel] !== opts.hash);
    // More than one of a kind: the manage step trims it first; count it as surging meanwhile.
    if (fresh.length > 1 || old.length > 1) {
      surging++;
      continue;
    }
    const [newPod] = fresh;
    const [oldPod] = old;
    if (!oldPod) continue; // up to date (or empty: the manage step creates its pod)
    if (!newPod) {
      if (available(oldPod)) candidates.push(node);
      else allowed.push(node);
      continue;
    }
    if (available(newPod)) remove.push(oldPod);
    else surging++;
  }
  const room = Math.min(Math.max(0, opts.maxSurge - surging), candidates.length);
  return { createOn: [...allowed, ...candidates.slice(0, room)], remove };
}
