// Metric evaluation of the HPA: follows kubernetes pkg/controller/podautoscaler/horizontal.go
// computeReplicasForMetrics / computeReplicasForMetric / computeStatusForResourceMetricGeneric.
import type {
  HorizontalPodAutoscaler,
  MetricSpec,
  MetricStatus,
} from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { formatMilli } from '../../api/exact-quantity.js';
import { parseSelector } from '../../api/labels.js';
import { milliValue } from '../../api/quantity.js';
import { errorMessage } from '../../lib/errors.js';
import type { MetricsClient } from './metrics-client.js';
import {
  getRawResourceReplicas,
  getResourceReplicas,
  type ReplicaCalculatorOptions,
} from './replica-calculator.js';

/** The scale subresource (autoscaling/v1 Scale) as read from the target. */
export interface Scale {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

/** The HPA condition types. */
export type ConditionType = 'AbleToScale' | 'ScalingActive' | 'ScalingLimited';

/** Default metric when spec.metrics is empty (upstream autoscaling.DefaultCPUUtilization). */
export const defaultMetrics: MetricSpec[] = [
  {
    type: 'Resource',
    resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
  },
];

/** An error whose condition reason is known (the metric type's FailedGet…Metric). */
export class MetricError extends Error {
  constructor(
    readonly reason: string,
    readonly inner: string,
    message: string,
  ) {
    super(message);
  }
}

/** What metric evaluation needs from the controller. */
export interface ComputeDeps {
  metrics: MetricsClient;
  calcOpts: ReplicaCalculatorOptions;
  now(): number;
  /** Pods of a namespace matching a label selector (from the informer cache). */
  listPods(namespace: string, selector: string): Pod[];
  event(
    hpa: HorizontalPodAutoscaler,
    type: 'Normal' | 'Warning',
    reason: string,
    msg: string,
  ): void;
  setCondition(
    hpa: HorizontalPodAutoscaler,
    type: ConditionType,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): void;
}

/** One metric → proposal, status and a name for the rescale reason (computeReplicasForMetric). */
async function computeReplicasForMetric(
  deps: ComputeDeps,
  hpa: HorizontalPodAutoscaler,
  spec: MetricSpec,
  specReplicas: number,
  selector: string,
  pods: Pod[],
): Promise<{ replicas: number; metricName: string; status: MetricStatus }> {
  const ns = hpa.metadata?.namespace ?? 'default';
  const isContainer = spec.type === 'ContainerResource';
  const source = isContainer
    ? spec.containerResource
    : spec.type === 'Resource'
      ? spec.resource
      : undefined;
  if (!source) {
    const reason = `FailedGet${spec.type}Metric`;
    const inner = `metric type ${spec.type} is not supported: Skiff serves only resource metrics`;
    throw new MetricError(reason, inner, `failed to get ${spec.type} metric value: ${inner}`);
  }
  const resource = source.name;
  const container = isContainer ? (spec.containerResource?.container ?? '') : '';
  const reason = isContainer ? 'FailedGetContainerResourceMetric' : 'FailedGetResourceMetric';
  const outer = isContainer
    ? `failed to get ${container} container metric value`
    : `failed to get ${resource} resource metric value`;
  const fail = (what: string, err: unknown): never => {
    const inner = `failed to get ${resource} ${what}: ${errorMessage(err)}`;
    throw new MetricError(reason, inner, `${outer}: ${inner}`);
  };
  const target = source.target;
  const what = target.averageValue !== undefined ? 'usage' : 'utilization';
  let fetched: Awaited<ReturnType<MetricsClient['getResourceMetric']>> | undefined;
  try {
    fetched = await deps.metrics.getResourceMetric({
      resource,
      namespace: ns,
      selector,
      container,
    });
  } catch (err) {
    fail(what, `unable to get metrics for resource ${resource}: ${errorMessage(err)}`);
  }
  const args = {
    currentReplicas: specReplicas,
    resource,
    container,
    pods,
    metrics: fetched!.metrics,
    now: deps.now(),
  };
  try {
    if (target.averageValue !== undefined) {
      const res = getRawResourceReplicas(
        { ...args, targetUsage: milliValue(String(target.averageValue)) },
        deps.calcOpts,
      );
      const current = { averageValue: formatMilli(res.usage) };
      return {
        replicas: res.replicaCount,
        metricName: `${resource} resource`,
        status: statusFor(isContainer, resource, container, current),
      };
    }
    if (target.averageUtilization === undefined) {
      throw new Error(
        'invalid resource metric source: neither an average utilization target nor an average value (usage) target was set',
      );
    }
    const res = getResourceReplicas(
      { ...args, targetUtilization: target.averageUtilization },
      deps.calcOpts,
    );
    const current = {
      averageUtilization: res.utilization,
      averageValue: formatMilli(res.rawUtilization),
    };
    return {
      replicas: res.replicaCount,
      metricName: isContainer
        ? `${resource} container resource utilization (percentage of request)`
        : `${resource} resource utilization (percentage of request)`,
      status: statusFor(isContainer, resource, container, current),
    };
  } catch (err) {
    return fail(what, err);
  }
}

/** All metrics → the largest proposal, or -1 when nothing can be computed (computeReplicasForMetrics). */
export async function computeReplicasForMetrics(
  deps: ComputeDeps,
  hpa: HorizontalPodAutoscaler,
  scale: Scale,
): Promise<{ replicas: number; metric: string; statuses: MetricStatus[]; error?: Error }> {
  const selector = scale.status?.selector ?? '';
  if (selector === '') {
    deps.event(hpa, 'Warning', 'SelectorRequired', 'selector is required');
    deps.setCondition(
      hpa,
      'ScalingActive',
      'False',
      'InvalidSelector',
      "the HPA target's scale is missing a selector",
    );
    return { replicas: -1, metric: '', statuses: [], error: new Error('selector is required') };
  }
  try {
    parseSelector(selector);
  } catch (err) {
    const msg = `couldn't convert selector into a corresponding internal selector object: ${errorMessage(err)}`;
    deps.event(hpa, 'Warning', 'InvalidSelector', msg);
    deps.setCondition(hpa, 'ScalingActive', 'False', 'InvalidSelector', msg);
    return { replicas: -1, metric: '', statuses: [], error: new Error(msg) };
  }
  const pods = deps.listPods(hpa.metadata?.namespace ?? 'default', selector);
  const specs = hpa.spec?.metrics?.length ? hpa.spec.metrics : defaultMetrics;
  const specReplicas = scale.spec?.replicas ?? 0;
  const statuses: MetricStatus[] = [];
  let replicas = 0;
  let metric = '';
  let invalid = 0;
  let firstError: MetricError | undefined;
  for (const spec of specs) {
    try {
      const p = await computeReplicasForMetric(deps, hpa, spec, specReplicas, selector, pods);
      statuses.push(p.status);
      if (replicas === 0 || p.replicas > replicas) {
        replicas = p.replicas;
        metric = p.metricName;
      }
    } catch (err) {
      const e =
        err instanceof MetricError
          ? err
          : new MetricError('FailedGetResourceMetric', errorMessage(err), errorMessage(err));
      deps.event(hpa, 'Warning', e.reason, e.inner);
      // Upstream leaves a zero-valued status in place of a failed metric.
      statuses.push({ type: '' });
      if (!firstError) firstError = e;
      invalid++;
    }
  }
  const error = firstError
    ? new Error(
        `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${firstError.message}`,
      )
    : undefined;
  // With some metrics invalid, only scale up: a scale-down could be wrong about the others.
  if (firstError && (invalid >= specs.length || replicas < specReplicas)) {
    deps.setCondition(
      hpa,
      'ScalingActive',
      'False',
      firstError.reason,
      `the HPA was unable to compute the replica count: ${firstError.inner}`,
    );
    return { replicas: -1, metric: '', statuses, error };
  }
  deps.setCondition(
    hpa,
    'ScalingActive',
    'True',
    'ValidMetricFound',
    `the HPA was able to successfully calculate a replica count from ${metric}`,
  );
  return { replicas, metric, statuses, error };
}

/** The status entry of one resource metric. */
function statusFor(
  isContainer: boolean,
  resource: string,
  container: string,
  current: { averageUtilization?: number; averageValue?: string },
): MetricStatus {
  if (isContainer) {
    return { type: 'ContainerResource', containerResource: { name: resource, container, current } };
  }
  return { type: 'Resource', resource: { name: resource, current } };
}
