// The HPA's scaling behaviour, pure over an explicit per-HPA history and `now`: follows kubernetes
// pkg/controller/podautoscaler/horizontal.go (normalizeDesiredReplicas[WithBehaviors], stabilizeRecommendation*,
// convertDesiredReplicasWith*, calculateScale{Up,Down}Limit*, storeScaleEvent) and the API defaults of
// pkg/apis/autoscaling/v2/defaults.go (SetDefaults_HorizontalPodAutoscalerBehavior).
import type {
  HorizontalPodAutoscalerBehavior,
  HPAScalingPolicy,
  HPAScalingRules,
} from 'kubernetes-types/autoscaling/v2.js';

/** Scale-up cap of the no-behavior path: max(2 × current, 4) (scaleUpLimitFactor/Minimum). */
export const scaleUpLimitFactor = 2;
/** Minimum scale-up cap of the no-behavior path. */
export const scaleUpLimitMinimum = 4;

/** A recommendation and when it was made (ms). */
export interface TimestampedRecommendation {
  recommendation: number;
  timestamp: number;
}

/** A past rescale: how many replicas changed and when; outdated slots are reused. */
export interface TimestampedScaleEvent {
  replicaChange: number;
  timestamp: number;
  outdated: boolean;
}

/** What the controller remembers per HPA between syncs (upstream keeps these maps by key). */
export interface ScalingHistory {
  recommendations: TimestampedRecommendation[];
  scaleUpEvents: TimestampedScaleEvent[];
  scaleDownEvents: TimestampedScaleEvent[];
}

/** Scaling rules with every field filled in (after defaulting). */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: HPAScalingPolicy[];
}

/** A behaviour with both directions defaulted. */
export interface ResolvedBehavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** The outcome of normalization plus the condition values it implies. */
export interface Normalized {
  desiredReplicas: number;
  /** AbleToScale=True with this reason/message (ReadyForNewScale or Scale{Up,Down}Stabilized). */
  ableToScale: { reason: string; message: string };
  /** ScalingLimited status, reason and message. */
  scalingLimited: { status: 'True' | 'False'; reason: string; message: string };
}

/** An empty history. */
export function newScalingHistory(): ScalingHistory {
  return { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
}

/** Seeds the history with the current size the first time an HPA is seen (recordInitialRecommendation). */
export function recordInitialRecommendation(
  history: ScalingHistory,
  currentReplicas: number,
  now: number,
): void {
  if (history.recommendations.length === 0) {
    history.recommendations.push({ recommendation: currentReplicas, timestamp: now });
  }
}

function defaultRules(
  rules: HPAScalingRules | undefined,
  fallback: { window: number; policies: HPAScalingPolicy[] },
): ScalingRules {
  const select = rules?.selectPolicy;
  return {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? fallback.window,
    selectPolicy: select === 'Min' || select === 'Disabled' ? select : 'Max',
    policies: rules?.policies?.length ? rules.policies : fallback.policies,
  };
}

/**
 * Fills in the API defaults of a behaviour (scaleUp: 0 s window, 4 pods or 100% per 15 s, Max;
 * scaleDown: 100% per 15 s, Max) and the controller's default scale-down window when unset.
 */
export function resolveBehavior(
  behavior: HorizontalPodAutoscalerBehavior,
  downscaleStabilizationSeconds: number,
): ResolvedBehavior {
  return {
    scaleUp: defaultRules(behavior.scaleUp, {
      window: 0,
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    }),
    scaleDown: defaultRules(behavior.scaleDown, {
      window: downscaleStabilizationSeconds,
      policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    }),
  };
}

function recordRecommendation(
  history: ScalingHistory,
  index: number | undefined,
  rec: TimestampedRecommendation,
): void {
  // Reuse an outdated slot so the history stays bounded.
  if (index !== undefined) history.recommendations[index] = rec;
  else history.recommendations.push(rec);
}

/** Max of the recommendations within the downscale window, recording this one (stabilizeRecommendation). */
export function stabilizeRecommendation(
  history: ScalingHistory,
  desired: number,
  now: number,
  downscaleStabilizationMs: number,
): number {
  let max = desired;
  let oldIndex: number | undefined;
  const cutoff = now - downscaleStabilizationMs;
  history.recommendations.forEach((rec, i) => {
    if (rec.timestamp < cutoff) oldIndex = i;
    else if (rec.recommendation > max) max = rec.recommendation;
  });
  recordRecommendation(history, oldIndex, { recommendation: desired, timestamp: now });
  return max;
}

const limitMessages = {
  ScaleUpLimit: 'the desired replica count is increasing faster than the maximum scale rate',
  ScaleDownLimit: 'the desired replica count is decreasing faster than the maximum scale rate',
  TooManyReplicas: 'the desired replica count is more than the maximum replica count',
  TooFewReplicas: 'the desired replica count is less than the minimum replica count',
  DesiredWithinRange: 'the desired count is within the acceptable range',
} as const;

type LimitReason = keyof typeof limitMessages;

/** The no-behavior clamp to [min, min(max, max(2×current, 4))] (convertDesiredReplicasWithRules). */
export function convertDesiredReplicasWithRules(
  currentReplicas: number,
  desiredReplicas: number,
  minReplicas: number,
  maxReplicas: number,
): { replicas: number; reason: LimitReason } {
  const scaleUpLimit = Math.max(scaleUpLimitFactor * currentReplicas, scaleUpLimitMinimum);
  const [maximum, maxReason]: [number, LimitReason] =
    maxReplicas > scaleUpLimit ? [scaleUpLimit, 'ScaleUpLimit'] : [maxReplicas, 'TooManyReplicas'];
  if (desiredReplicas < minReplicas) return { replicas: minReplicas, reason: 'TooFewReplicas' };
  if (desiredReplicas > maximum) return { replicas: maximum, reason: maxReason };
  return { replicas: desiredReplicas, reason: 'DesiredWithinRange' };
}

function limited(
  desired: number,
  stabilized: number,
  reason: LimitReason,
): Normalized['scalingLimited'] {
  return {
    status: desired === stabilized ? 'False' : 'True',
    reason,
    message: limitMessages[reason],
  };
}

const readyForNewScale = {
  reason: 'ReadyForNewScale',
  message: 'recommended size matches current size',
};

/** Normalizes a recommendation when the HPA has no `behavior` (upstream normalizeDesiredReplicas). */
export function normalizeDesiredReplicas(args: {
  history: ScalingHistory;
  now: number;
  currentReplicas: number;
  desiredReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  downscaleStabilizationMs: number;
}): Normalized {
  const stabilized = stabilizeRecommendation(
    args.history,
    args.desiredReplicas,
    args.now,
    args.downscaleStabilizationMs,
  );
  const ableToScale =
    stabilized !== args.desiredReplicas
      ? {
          reason: 'ScaleDownStabilized',
          message:
            'recent recommendations were higher than current one, applying the highest recent recommendation',
        }
      : readyForNewScale;
  const { replicas, reason } = convertDesiredReplicasWithRules(
    args.currentReplicas,
    stabilized,
    args.minReplicas,
    args.maxReplicas,
  );
  return {
    desiredReplicas: replicas,
    ableToScale,
    scalingLimited: limited(replicas, stabilized, reason),
  };
}

/** Clamps a recommendation between the min over the up window and the max over the down window. */
export function stabilizeRecommendationWithBehaviors(args: {
  history: ScalingHistory;
  now: number;
  behavior: ResolvedBehavior;
  currentReplicas: number;
  desiredReplicas: number;
}): { replicas: number; reason: string; message: string } {
  const { history, now, desiredReplicas } = args;
  const upCutoff = now - args.behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - args.behavior.scaleDown.stabilizationWindowSeconds * 1000;
  let up = desiredReplicas;
  let down = desiredReplicas;
  let oldIndex: number | undefined;
  history.recommendations.forEach((rec, i) => {
    if (rec.timestamp > upCutoff) up = Math.min(rec.recommendation, up);
    if (rec.timestamp > downCutoff) down = Math.max(rec.recommendation, down);
    if (rec.timestamp < upCutoff && rec.timestamp < downCutoff) oldIndex = i;
  });
  let replicas = args.currentReplicas;
  if (replicas < up) replicas = up;
  if (replicas > down) replicas = down;
  recordRecommendation(history, oldIndex, { recommendation: desiredReplicas, timestamp: now });
  return desiredReplicas >= args.currentReplicas
    ? {
        replicas,
        reason: 'ScaleUpStabilized',
        message:
          'recent recommendations were lower than current one, applying the lowest recent recommendation',
      }
    : {
        replicas,
        reason: 'ScaleDownStabilized',
        message:
          'recent recommendations were higher than current one, applying the highest recent recommendation',
      };
}

/** Net replicas changed by events newer than periodSeconds (getReplicasChangePerPeriod). */
export function getReplicasChangePerPeriod(
  periodSeconds: number,
  events: readonly TimestampedScaleEvent[],
  now: number,
): number {
  const cutoff = now - periodSeconds * 1000;
  let sum = 0;
  for (const e of events) if (e.timestamp > cutoff) sum += e.replicaChange;
  return sum;
}

/** Replicas at the start of the policy's period: current minus the changes made within it. */
function periodStart(
  policy: HPAScalingPolicy,
  current: number,
  h: ScalingHistory,
  now: number,
): number {
  return (
    current -
    getReplicasChangePerPeriod(policy.periodSeconds, h.scaleUpEvents, now) +
    getReplicasChangePerPeriod(policy.periodSeconds, h.scaleDownEvents, now)
  );
}

/** Highest count the scale-up policies allow now (calculateScaleUpLimitWithScalingRules). */
export function calculateScaleUpLimitWithScalingRules(
  currentReplicas: number,
  history: ScalingHistory,
  rules: ScalingRules,
  now: number,
): number {
  return policyLimit({ isUp: true, currentReplicas, history, rules, now });
}

/** Lowest count the scale-down policies allow now (calculateScaleDownLimitWithBehaviors). */
export function calculateScaleDownLimitWithBehaviors(
  currentReplicas: number,
  history: ScalingHistory,
  rules: ScalingRules,
  now: number,
): number {
  return policyLimit({ isUp: false, currentReplicas, history, rules, now });
}

/**
 * The limit of one direction's policies: each proposes a count from its period's start, and
 * selectPolicy picks the one that changes most (Max) or least (Min).
 */
function policyLimit(o: {
  isUp: boolean;
  currentReplicas: number;
  history: ScalingHistory;
  rules: ScalingRules;
  now: number;
}): number {
  const { isUp, rules } = o;
  if (rules.selectPolicy === 'Disabled') return o.currentReplicas;
  // Changing least is the lowest limit up and the highest down.
  const pick = (rules.selectPolicy === 'Min') === isUp ? Math.min : Math.max;
  let result = pick === Math.min ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const policy of rules.policies) {
    const start = periodStart(policy, o.currentReplicas, o.history, o.now);
    let proposed: number;
    if (policy.type === 'Pods') proposed = isUp ? start + policy.value : start - policy.value;
    // Percent up rounds up so that a small deployment can always grow; down it truncates.
    else if (isUp) proposed = Math.ceil(start * (1 + policy.value / 100));
    else proposed = Math.trunc(start * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** What normalizing under a behaviour reads: the recommendation, the bounds, the history. */
export interface BehaviorArgs {
  history: ScalingHistory;
  now: number;
  behavior: ResolvedBehavior;
  currentReplicas: number;
  desiredReplicas: number;
  minReplicas: number;
  maxReplicas: number;
}

/** Applies the rate policies and min/max (convertDesiredReplicasWithBehaviorRate). */
export function convertDesiredReplicasWithBehaviorRate(args: BehaviorArgs): {
  replicas: number;
  reason: LimitReason;
} {
  const { currentReplicas: current, desiredReplicas: desired } = args;
  if (desired > current) {
    // Never below current: a long policy period may still hold earlier scale-ups.
    const limit = Math.max(
      calculateScaleUpLimitWithScalingRules(current, args.history, args.behavior.scaleUp, args.now),
      current,
    );
    const [maximum, reason]: [number, LimitReason] =
      args.maxReplicas > limit ? [limit, 'ScaleUpLimit'] : [args.maxReplicas, 'TooManyReplicas'];
    if (desired > maximum) return { replicas: maximum, reason };
  } else if (desired < current) {
    const limit = Math.min(
      calculateScaleDownLimitWithBehaviors(
        current,
        args.history,
        args.behavior.scaleDown,
        args.now,
      ),
      current,
    );
    const [minimum, reason]: [number, LimitReason] =
      args.minReplicas < limit ? [limit, 'ScaleDownLimit'] : [args.minReplicas, 'TooFewReplicas'];
    if (desired < minimum) return { replicas: minimum, reason };
  }
  return { replicas: desired, reason: 'DesiredWithinRange' };
}

/** Normalizes a recommendation under a (resolved) behaviour (upstream normalizeDesiredReplicasWithBehaviors). */
export function normalizeDesiredReplicasWithBehaviors(args: BehaviorArgs): Normalized {
  const stabilized = stabilizeRecommendationWithBehaviors(args);
  const ableToScale =
    stabilized.replicas !== args.desiredReplicas
      ? { reason: stabilized.reason, message: stabilized.message }
      : readyForNewScale;
  const { replicas, reason } = convertDesiredReplicasWithBehaviorRate({
    ...args,
    desiredReplicas: stabilized.replicas,
  });
  return {
    desiredReplicas: replicas,
    ableToScale,
    scalingLimited: limited(replicas, stabilized.replicas, reason),
  };
}

function longestPolicyPeriod(rules: ScalingRules): number {
  let longest = 0;
  for (const p of rules.policies) if (p.periodSeconds > longest) longest = p.periodSeconds;
  return longest;
}

/** Remembers a rescale for the rate policies (storeScaleEvent); no-op without a behaviour. */
export function storeScaleEvent(args: {
  history: ScalingHistory;
  behavior: ResolvedBehavior | undefined;
  prevReplicas: number;
  newReplicas: number;
  now: number;
}): void {
  if (!args.behavior) return;
  const isUp = args.newReplicas > args.prevReplicas;
  const rules = isUp ? args.behavior.scaleUp : args.behavior.scaleDown;
  const events = isUp ? args.history.scaleUpEvents : args.history.scaleDownEvents;
  const cutoff = args.now - longestPolicyPeriod(rules) * 1000;
  let oldIndex: number | undefined;
  events.forEach((e, i) => {
    if (e.timestamp < cutoff) e.outdated = true;
    if (e.outdated) oldIndex = i;
  });
  const event = {
    replicaChange: Math.abs(args.newReplicas - args.prevReplicas),
    timestamp: args.now,
    outdated: false,
  };
  if (oldIndex !== undefined) events[oldIndex] = event;
  else events.push(event);
}
