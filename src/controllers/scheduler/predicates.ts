// Scheduling filters for one pod against one node: node name, unschedulable, node selector,
// taints/tolerations, resource fit (kubernetes pkg/scheduler/framework/plugins: NodeName,
// NodeUnschedulable, NodeAffinity, TaintToleration, NodeResourcesFit) and the FitError message.
import type { Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../../api/quantity.js';

/** Requested resources in scheduler units: milli-CPU, bytes, pod count. */
export interface Resources {
  milliCPU: number;
  memory: number;
  pods: number;
}

function milli(q: string | number | undefined): number {
  return q === undefined ? 0 : Math.round(parseQuantity(q) * 1000);
}
function bytes(q: string | number | undefined): number {
  return q === undefined ? 0 : Math.round(parseQuantity(q));
}

/** A pod's requests: max(sum of containers, largest init container) + overhead (upstream PodRequests). */
export function podRequests(pod: Pod): Resources {
  let cpu = 0;
  let mem = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += milli(c.resources?.requests?.['cpu']);
    mem += bytes(c.resources?.requests?.['memory']);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    cpu = Math.max(cpu, milli(c.resources?.requests?.['cpu']));
    mem = Math.max(mem, bytes(c.resources?.requests?.['memory']));
  }
  cpu += milli(pod.spec?.overhead?.['cpu']);
  mem += bytes(pod.spec?.overhead?.['memory']);
  return { milliCPU: cpu, memory: mem, pods: 1 };
}

/** A node's allocatable resources (capacity when allocatable is missing). */
export function nodeAllocatable(node: Node): Resources {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    milliCPU: milli(a['cpu']),
    memory: bytes(a['memory']),
    pods: a['pods'] === undefined ? 110 : Math.floor(parseQuantity(a['pods'])),
  };
}

/** True when the toleration tolerates the taint (upstream Toleration.ToleratesTaint). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/** Why one node cannot take the pod; `resolvable` says whether preemption could ever help. */
export interface FilterFailure {
  reasons: string[];
  resolvable: boolean;
}

/**
 * Runs the filters for pod on node given what is already requested there; undefined when it fits.
 */
export function filterNode(pod: Pod, node: Node, requested: Resources): FilterFailure | undefined {
  if (node.spec?.unschedulable) {
    const tolerated = (pod.spec?.tolerations ?? []).some((t) =>
      toleratesTaint(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }),
    );
    if (!tolerated) return { reasons: ['node(s) were unschedulable'], resolvable: false };
  }
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (labels[k] !== v) {
      return { reasons: ["node(s) didn't match Pod's node affinity/selector"], resolvable: false };
    }
  }
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if ((pod.spec?.tolerations ?? []).some((t) => toleratesTaint(t, taint))) continue;
    return {
      reasons: [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`],
      resolvable: false,
    };
  }
  const want = podRequests(pod);
  const have = nodeAllocatable(node);
  const reasons: string[] = [];
  if (requested.pods + 1 > have.pods) reasons.push('Too many pods');
  if (want.milliCPU > 0 && requested.milliCPU + want.milliCPU > have.milliCPU) {
    reasons.push('Insufficient cpu');
  }
  if (want.memory > 0 && requested.memory + want.memory > have.memory) {
    reasons.push('Insufficient memory');
  }
  return reasons.length ? { reasons, resolvable: true } : undefined;
}

/**
 * The FailedScheduling message (upstream FitError.Error plus the preemption PostFilter message).
 * @example
 * // "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
 */
export function fitErrorMessage(numNodes: number, failures: readonly FilterFailure[]): string {
  if (numNodes === 0) return 'no nodes available to schedule pods';
  const counts = new Map<string, number>();
  for (const f of failures) for (const r of f.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const reasons = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  let msg = `0/${numNodes} nodes are available: ${reasons.join(', ')}.`;
  // Every pod has the same (zero) priority here, so preemption never finds victims.
  const post = new Map<string, number>();
  for (const f of failures) {
    const r = f.resolvable
      ? 'No preemption victims found for incoming pod'
      : 'Preemption is not helpful for scheduling';
    post.set(r, (post.get(r) ?? 0) + 1);
  }
  const postReasons = [...post].map(([r, n]) => `${n} ${r}`).sort();
  msg += ` preemption: 0/${numNodes} nodes are available: ${postReasons.join(', ')}.`;
  return msg;
}
