// Turns usage histograms into recommendations (kubernetes/autoscaler vertical-pod-autoscaler/pkg/
// recommender/logic recommender.go and estimator.go): percentile, + safety margin, × confidence
// multiplier (bounds only), at least the pod minimum split over the containers; then the VPA's
// policy (pkg/utils/vpa/capping.go): containers in mode Off dropped, minAllowed/maxAllowed applied.
import { formatBytes, formatMilli } from '../../api/exact-quantity.js';
import { parseQuantity } from '../../api/quantity.js';
import {
  containerPolicyFor,
  controlledResourcesOf,
  type RecommendedContainerResources,
  type VerticalPodAutoscaler,
} from '../../api/vpa.js';
import type { AggregateContainerState } from './model.js';

/** Settings of the estimators (upstream RecommendationConfig; defaults in brackets). */
export interface RecommendationOptions {
  /** [0.15] */
  safetyMarginFraction: number;
  /** Per pod, split over its containers [25]. */
  podMinCPUMillicores: number;
  /** Per pod, split over its containers [250]. */
  podMinMemoryMb: number;
  /** [0.9], [0.5], [0.95] */
  targetCPUPercentile: number;
  lowerBoundCPUPercentile: number;
  upperBoundCPUPercentile: number;
  /** [0.9], [0.5], [0.95] */
  targetMemoryPercentile: number;
  lowerBoundMemoryPercentile: number;
  upperBoundMemoryPercentile: number;
  /** History length that counts as full confidence [24 h]. */
  confidenceIntervalMs: number;
}

/** Upstream's DefaultRecommenderConfig values. */
export const defaultRecommendationOptions: RecommendationOptions = {
  safetyMarginFraction: 0.15,
  podMinCPUMillicores: 25,
  podMinMemoryMb: 250,
  targetCPUPercentile: 0.9,
  lowerBoundCPUPercentile: 0.5,
  upperBoundCPUPercentile: 0.95,
  targetMemoryPercentile: 0.9,
  lowerBoundMemoryPercentile: 0.5,
  upperBoundMemoryPercentile: 0.95,
  confidenceIntervalMs: 24 * 3_600_000,
};

/** Millicores and bytes, as whole numbers (upstream model.ResourceAmount). */
export interface Amounts {
  cpu: number;
  memory: number;
}

/** Target and bounds of one container, in amounts. */
export interface ContainerEstimate {
  target: Amounts;
  lowerBound: Amounts;
  upperBound: Amounts;
}

// Amounts are int64 upstream, truncated and capped at 1e14 (resourceAmountFromFloat).
const maxAmount = 1e14;
function amount(v: number): number {
  if (!(v <= maxAmount)) return maxAmount; // also catches NaN from 0 × Infinity
  return v < 0 ? 0 : Math.trunc(v);
}

/** History length in units of the confidence interval, limited by the number of samples. */
export function confidence(s: AggregateContainerState, intervalMs: number): number {
  const lifespan = (s.lastSampleStart - s.firstSampleStart) / intervalMs;
  const samples = s.totalSamplesCount / (intervalMs / 60_000);
  return Math.min(lifespan, samples);
}

/** Estimates one container's target and bounds (estimateContainerResources). */
export function estimateContainer(
  s: AggregateContainerState,
  opts: { containersInPod: number; options?: RecommendationOptions },
): ContainerEstimate {
  const o = opts.options ?? defaultRecommendationOptions;
  const fraction = 1 / Math.max(1, opts.containersInPod);
  const minCPU = amount(amount(o.podMinCPUMillicores) * fraction);
  const minMemory = amount(amount(o.podMinMemoryMb * 1024 * 1024) * fraction);
  const conf = confidence(s, o.confidenceIntervalMs);
  const withMargin = (base: number) => base + amount(base * o.safetyMarginFraction);
  const cpuAt = (p: number) => withMargin(amount(s.cpu.percentile(p) * 1000));
  const memAt = (p: number) => withMargin(amount(s.memoryPeaks.percentile(p)));
  // Upper bound × (1 + 1/confidence); lower bound × (1 + 0.001/confidence)^-2.
  const upper = (v: number) => amount(v * (1 + 1 / conf));
  const lower = (v: number) => amount(v * (1 + 0.001 / conf) ** -2);
  return {
    target: {
      cpu: Math.max(cpuAt(o.targetCPUPercentile), minCPU),
      memory: Math.max(memAt(o.targetMemoryPercentile), minMemory),
    },
    lowerBound: {
      cpu: Math.max(lower(cpuAt(o.lowerBoundCPUPercentile)), minCPU),
      memory: Math.max(lower(memAt(o.lowerBoundMemoryPercentile)), minMemory),
    },
    upperBound: {
      cpu: Math.max(upper(cpuAt(o.upperBoundCPUPercentile)), minCPU),
      memory: Math.max(upper(memAt(o.upperBoundMemoryPercentile)), minMemory),
    },
  };
}

/** A ResourceList of the controlled resources (cpu as millicores, memory as BinarySI bytes). */
function toList(a: Amounts, controlled: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (controlled.includes('cpu')) out['cpu'] = formatMilli(a.cpu);
  if (controlled.includes('memory')) out['memory'] = formatBytes(a.memory);
  return out;
}

// Caps each resource of a list to the policy's minAllowed, then maxAllowed.
function capToPolicy(
  list: Record<string, string>,
  min: Record<string, string | number> | undefined,
  max: Record<string, string | number> | undefined,
): Record<string, string> {
  const out = { ...list };
  for (const [r, v] of Object.entries(out)) {
    const value = parseQuantity(v);
    const lo = min?.[r];
    const hi = max?.[r];
    if (lo !== undefined && value < parseQuantity(lo)) out[r] = String(lo);
    else if (hi !== undefined && value > parseQuantity(hi)) out[r] = String(hi);
  }
  return out;
}

/**
 * The recommendation a VPA publishes for one container (getCappedRecommendation +
 * ApplyVPAPolicy): undefined when the container's policy mode is Off.
 */
export function containerRecommendation(
  vpa: VerticalPodAutoscaler,
  containerName: string,
  estimate: ContainerEstimate,
): RecommendedContainerResources | undefined {
  const policy = containerPolicyFor(vpa, containerName);
  if (policy?.mode === 'Off') return undefined;
  const controlled = controlledResourcesOf(policy);
  const target = toList(estimate.target, controlled);
  const cap = (l: Record<string, string>) => capToPolicy(l, policy?.minAllowed, policy?.maxAllowed);
  return {
    containerName,
    target: cap(target),
    lowerBound: cap(toList(estimate.lowerBound, controlled)),
    upperBound: cap(toList(estimate.upperBound, controlled)),
    uncappedTarget: target,
  };
}
