// Matching a failed pod against a Job's podFailurePolicy rules
// (kubernetes pkg/controller/job/pod_failure_policy.go matchPodFailurePolicy).
import type {
  PodFailurePolicy,
  PodFailurePolicyOnExitCodesRequirement,
} from 'kubernetes-types/batch/v1.js';
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';

/** The outcome of matching one failed pod. */
export interface PolicyMatch {
  /** Set when a FailJob rule matched: the Job's failure message. */
  failJobMessage?: string;
  /** False when an Ignore rule matched: the failure does not count toward backoffLimit. */
  countFailed: boolean;
  action?: 'FailJob' | 'Ignore' | 'Count' | 'FailIndex';
}

function exitCodeMatches(code: number, req: PodFailurePolicyOnExitCodesRequirement): boolean {
  if (req.operator === 'In') return req.values.includes(code);
  if (req.operator === 'NotIn') return !req.values.includes(code);
  return false;
}

// The first terminated, non-zero container (regular before init) the requirement matches.
function matchOnExitCodes(
  pod: Pod,
  req: PodFailurePolicyOnExitCodesRequirement,
): ContainerStatus | undefined {
  for (const list of [pod.status?.containerStatuses, pod.status?.initContainerStatuses]) {
    for (const s of list ?? []) {
      const code = s.state?.terminated?.exitCode;
      if (code === undefined || code === 0) continue;
      if (req.containerName && req.containerName !== s.name) continue;
      if (exitCodeMatches(code, req)) return s;
    }
  }
  return undefined;
}

/** Applies the first matching rule; no match (or no policy) counts the failure. */
export function matchPodFailurePolicy(policy: PodFailurePolicy | undefined, pod: Pod): PolicyMatch {
  if (!policy) return { countFailed: true };
  const where = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  for (const [index, rule] of policy.rules.entries()) {
    let failJobMessage: string | undefined;
    if (rule.onExitCodes) {
      const s = matchOnExitCodes(pod, rule.onExitCodes);
      if (!s) continue;
      failJobMessage = `Container ${s.name} for pod ${where} failed with exit code ${s.state?.terminated?.exitCode} matching ${rule.action} rule at index ${index}`;
    } else if (rule.onPodConditions) {
      const c = pod.status?.conditions?.find((pc) =>
        rule.onPodConditions?.some((p) => p.type === pc.type && (p.status ?? 'True') === pc.status),
      );
      if (!c) continue;
      failJobMessage = `Pod ${where} has condition ${c.type} matching ${rule.action} rule at index ${index}`;
    } else continue;
    switch (rule.action) {
      case 'Ignore':
        return { countFailed: false, action: 'Ignore' };
      case 'Count':
        return { countFailed: true, action: 'Count' };
      case 'FailIndex':
        // Fails the pod's index at once when the Job has backoffLimitPerIndex (per-index.ts).
        return { countFailed: true, action: 'FailIndex' };
      case 'FailJob':
        return { failJobMessage, countFailed: true, action: 'FailJob' };
      default:
        continue;
    }
  }
  return { countFailed: true };
}
