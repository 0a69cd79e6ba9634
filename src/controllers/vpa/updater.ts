// Which pods the VPA updater acts on (kubernetes/autoscaler vertical-pod-autoscaler/pkg/updater/
// priority/priority_processor.go and update_priority_calculator.go): a pod is updated when a
// container's request lies outside [lowerBound, upperBound], or, once the pod has lived
// podLifetimeUpdateThreshold, when the target differs from the request by 10% or more.
import type { Pod, ResourceRequirements } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../../api/quantity.js';
import {
  containerPolicyFor,
  type RecommendedContainerResources,
  recommendedResources,
  type VerticalPodAutoscaler,
} from '../../api/vpa.js';

/** Upstream defaultUpdateThreshold: a 10% difference is worth an update of a long-lived pod. */
export const updateThreshold = 0.1;

/** What the updater would do to one pod: the containers' new resources, and why. */
export interface PodUpdate {
  containers: { name: string; resources: ResourceRequirements }[];
  /** True when some request lies outside the recommended range (updated whatever its age). */
  isOutsideRange: boolean;
}

function q(v: string | number | undefined): number | undefined {
  return v === undefined ? undefined : parseQuantity(v);
}

/**
 * The update a pod needs for the VPA's recommendation, or undefined when none is due.
 * `podAgeMs` is how long the pod has run; `lifetimeThresholdMs` is upstream's 12 h.
 */
export function podUpdateFor(
  vpa: VerticalPodAutoscaler,
  pod: Pod,
  opts: { podAgeMs: number; lifetimeThresholdMs: number },
): PodUpdate | undefined {
  const recs = vpa.status?.recommendation?.containerRecommendations ?? [];
  const out: PodUpdate = { containers: [], isOutsideRange: false };
  let maxDiff = 0;
  for (const c of pod.spec?.containers ?? []) {
    const rec: RecommendedContainerResources | undefined = recs.find(
      (r) => r.containerName === c.name,
    );
    if (!rec) continue;
    const policy = containerPolicyFor(vpa, c.name);
    const resources = recommendedResources(c, rec, policy);
    if (!resources) continue;
    for (const [r, t] of Object.entries(rec.target)) {
      const req = q(c.resources?.requests?.[r] ?? c.resources?.limits?.[r]);
      const lo = q(rec.lowerBound?.[r]);
      const hi = q(rec.upperBound?.[r]);
      const target = parseQuantity(t);
      if (req === undefined) {
        out.isOutsideRange = true;
        continue;
      }
      if ((lo !== undefined && req < lo) || (hi !== undefined && req > hi)) {
        out.isOutsideRange = true;
      }
      if (req > 0) maxDiff = Math.max(maxDiff, Math.abs(target - req) / req);
    }
    out.containers.push({ name: c.name, resources });
  }
  if (out.containers.length === 0) return undefined;
  if (out.isOutsideRange) return out;
  const isLongLived = opts.podAgeMs >= opts.lifetimeThresholdMs;
  return isLongLived && maxDiff >= updateThreshold ? out : undefined;
}

/**
 * The HPA metrics that act on a resource the VPA also sets (upstream documentation: do not use
 * both on cpu or memory); returns the resource names in conflict.
 */
export function hpaConflicts(
  vpa: VerticalPodAutoscaler,
  hpa: {
    spec?: {
      scaleTargetRef?: { kind?: string; name?: string };
      metrics?: {
        type?: string;
        resource?: { name?: string };
        containerResource?: { name?: string };
      }[];
    };
  },
): string[] {
  const ref = vpa.spec?.targetRef;
  const target = hpa.spec?.scaleTargetRef;
  if (!ref || !target || ref.kind !== target.kind || ref.name !== target.name) return [];
  const controlled = new Set<string>();
  const policies = vpa.spec?.resourcePolicy?.containerPolicies ?? [];
  if (policies.length === 0) {
    controlled.add('cpu');
    controlled.add('memory');
  }
  for (const p of policies) {
    if (p.mode === 'Off') continue;
    for (const r of p.controlledResources ?? ['cpu', 'memory']) controlled.add(r);
  }
  const names = new Set<string>();
  for (const m of hpa.spec?.metrics ?? []) {
    const name = m.type === 'Resource' ? m.resource?.name : m.containerResource?.name;
    if ((m.type === 'Resource' || m.type === 'ContainerResource') && name && controlled.has(name)) {
      names.add(name);
    }
  }
  return [...names].sort();
}
