// autoscaling.k8s.io/v1 VerticalPodAutoscaler types (kubernetes/autoscaler vertical-pod-autoscaler/
// pkg/apis/autoscaling.k8s.io/v1/types.go) and the pure rules both the recommender and the pod
// admission step use: which policy covers a container, which pods a VPA targets, and how a
// recommendation becomes a container's requests and limits (pkg/utils/vpa, admission-controller
// resource/pod/recommendation GetContainersResources + GetProportionalLimit).
import type { Container, Pod, ResourceRequirements } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { formatBytes, formatMilli } from './exact-quantity.js';
import { parseQuantity } from './quantity.js';

/** A map of resource name to quantity. */
export type ResourceList = Record<string, string | number>;

/** spec.resourcePolicy.containerPolicies[]. */
export interface ContainerResourcePolicy {
  containerName?: string;
  mode?: 'Auto' | 'Off';
  minAllowed?: ResourceList;
  maxAllowed?: ResourceList;
  controlledResources?: string[];
  controlledValues?: 'RequestsAndLimits' | 'RequestsOnly';
}

/** status.recommendation.containerRecommendations[]. */
export interface RecommendedContainerResources {
  containerName: string;
  target: Record<string, string>;
  lowerBound?: Record<string, string>;
  upperBound?: Record<string, string>;
  uncappedTarget?: Record<string, string>;
}

/** A VPA condition. */
export interface VPACondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** The VerticalPodAutoscaler object, as far as Skiff reads it. */
export interface VerticalPodAutoscaler {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    targetRef?: { apiVersion?: string; kind?: string; name?: string };
    updatePolicy?: { updateMode?: string; minReplicas?: number };
    resourcePolicy?: { containerPolicies?: ContainerResourcePolicy[] };
    recommenders?: { name: string }[];
  };
  status?: {
    recommendation?: { containerRecommendations?: RecommendedContainerResources[] };
    conditions?: VPACondition[];
  };
}

/** The default updateMode (upstream: Recreate; Skiff resizes in place, see vpaUpdateMode). */
const defaultUpdateMode = 'Recreate';

/** The VPA's update mode; Auto is a deprecated alias of Recreate upstream. */
export function vpaUpdateMode(vpa: VerticalPodAutoscaler): string {
  return vpa.spec?.updatePolicy?.updateMode ?? defaultUpdateMode;
}

/** The policy for a container: its own, else the '*' default one (GetContainerResourcePolicy). */
export function containerPolicyFor(
  vpa: VerticalPodAutoscaler,
  containerName: string,
): ContainerResourcePolicy | undefined {
  const policies = vpa.spec?.resourcePolicy?.containerPolicies ?? [];
  return (
    policies.find((p) => p.containerName === containerName) ??
    policies.find((p) => p.containerName === '*')
  );
}

/** Resources a policy controls; cpu and memory by default. */
export function controlledResourcesOf(policy: ContainerResourcePolicy | undefined): string[] {
  return policy?.controlledResources ?? ['cpu', 'memory'];
}

/**
 * Whether the VPA's targetRef names the pod's controller, following owner references (a
 * Deployment owns the ReplicaSet that owns the pod). `owner(kind, name)` returns the owner
 * references of a namespace's object, or undefined when it is unknown.
 */
export function vpaTargetsPod(
  vpa: VerticalPodAutoscaler,
  pod: Pod,
  owner: (kind: string, name: string) => { kind: string; name: string }[] | undefined,
): boolean {
  const ref = vpa.spec?.targetRef;
  if (!ref?.kind || !ref.name) return false;
  if (vpa.metadata?.namespace !== pod.metadata?.namespace) return false;
  let refs: { kind: string; name: string }[] =
    pod.metadata?.ownerReferences?.filter((o) => o.controller) ?? [];
  for (let depth = 0; depth < 3; depth++) {
    const c = refs[0];
    if (!c) return false;
    if (c.kind === ref.kind && c.name === ref.name) return true;
    refs = owner(c.kind, c.name) ?? [];
  }
  return false;
}

// Quantities as whole milli-cores (cpu) or bytes (memory), the units upstream's arithmetic uses.
function units(resource: string, q: string | number): bigint {
  const v = parseQuantity(q);
  return BigInt(Math.round(resource === 'cpu' ? v * 1000 : v));
}

function format(resource: string, n: bigint): string {
  return resource === 'cpu' ? formatMilli(Number(n)) : formatBytes(Number(n));
}

/**
 * A container's resources with the recommendation applied: requests become the target for the
 * controlled resources; with RequestsAndLimits a limit keeps its ratio to the request, with
 * RequestsOnly the target is capped at the limit. Undefined when nothing would change.
 */
export function recommendedResources(
  container: Container,
  rec: RecommendedContainerResources,
  policy: ContainerResourcePolicy | undefined,
): ResourceRequirements | undefined {
  if (policy?.mode === 'Off') return undefined;
  const requests: Record<string, string> = { ...(container.resources?.requests ?? {}) };
  const limits: Record<string, string> = { ...(container.resources?.limits ?? {}) };
  const onlyRequests = policy?.controlledValues === 'RequestsOnly';
  let changed = false;
  for (const r of controlledResourcesOf(policy)) {
    const t = rec.target[r];
    if (t === undefined) continue;
    let want = units(r, t);
    const oldReq = requests[r] ?? limits[r];
    const oldLim = limits[r];
    if (onlyRequests && oldLim !== undefined && units(r, oldLim) < want) want = units(r, oldLim);
    if (oldReq !== undefined && units(r, oldReq) === want) continue;
    requests[r] = format(r, want);
    changed = true;
    // GetProportionalLimit: limit × new request / old request, in whole units, rounded down.
    if (!onlyRequests && oldLim !== undefined && oldReq !== undefined && units(r, oldReq) > 0n) {
      limits[r] = format(r, (units(r, oldLim) * want) / units(r, oldReq));
    }
  }
  if (!changed) return undefined;
  return {
    ...container.resources,
    requests,
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}
