// The HorizontalPodAutoscaler controller (autoscaling/v2): follows kubernetes
// pkg/controller/podautoscaler/horizontal.go reconcileAutoscaler / computeReplicasForMetrics / setStatus,
// with the replica maths in replica-calculator.ts and the behaviour in behavior.ts.
import type {
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerCondition,
  HorizontalPodAutoscalerStatus,
  MetricStatus,
} from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { findByKind, resourcePath } from '../../api/resources.js';
import { rfc3339 } from '../../api/time.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isNotFound, type KObject, type KubeClient } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { Controller } from '../runtime/controller.js';
import {
  newScalingHistory,
  normalizeDesiredReplicas,
  normalizeDesiredReplicasWithBehaviors,
  recordInitialRecommendation,
  resolveBehavior,
  type ScalingHistory,
  storeScaleEvent,
} from './behavior.js';
import {
  type ComputeDeps,
  type ConditionType,
  computeReplicasForMetrics,
  type Scale,
} from './compute.js';
import type { MetricsClient } from './metrics-client.js';

/** Options of createHPAController; durations in ms, defaults noted against upstream's. */
export interface HPAControllerOptions {
  client: KubeClient;
  metrics: MetricsClient;
  clock?: Clock;
  /** Shared informers (HPAs and pods); a private factory when omitted. */
  informers?: InformerFactory;
  /** How often each HPA is reconciled: 1 s here, upstream --horizontal-pod-autoscaler-sync-period 15 s. */
  syncPeriodMs?: number;
  /** Upstream --horizontal-pod-autoscaler-tolerance 0.1. */
  tolerance?: number;
  /** Upstream --horizontal-pod-autoscaler-cpu-initialization-period 5 min. */
  cpuInitializationPeriodMs?: number;
  /** Upstream --horizontal-pod-autoscaler-initial-readiness-delay 30 s. */
  initialReadinessDelayMs?: number;
  /** Upstream --horizontal-pod-autoscaler-downscale-stabilization 5 min. */
  downscaleStabilizationMs?: number;
  /** Concurrent HPA syncs (upstream 5). */
  workers?: number;
  log?: Logger;
}

/** The HPA controller Component; `reconcile(key)` is exposed for tests. */
export interface HPAController extends Component {
  reconcile(key: string): Promise<void>;
  /** Resolves once recorded events are written (tests). */
  flushEvents(): Promise<void>;
}

/** Creates the HPA controller. */
export function createHPAController(opts: HPAControllerOptions): HPAController {
  const clock = opts.clock ?? realClock;
  const syncPeriodMs = opts.syncPeriodMs ?? 1000;
  const calcOpts = {
    tolerance: opts.tolerance ?? 0.1,
    cpuInitializationPeriodMs: opts.cpuInitializationPeriodMs ?? 5 * 60_000,
    delayOfInitialReadinessStatusMs: opts.initialReadinessDelayMs ?? 30_000,
  };
  const downscaleStabilizationMs = opts.downscaleStabilizationMs ?? 5 * 60_000;
  const log = (opts.log ?? createLogger()).child({ component: 'horizontal-pod-autoscaler' });
  const informers = opts.informers ?? new InformerFactory({ client: opts.client, clock, log });
  const hpaInformer = informers.informerFor<HorizontalPodAutoscaler & KObject>(R.hpas);
  const podInformer = informers.informerFor<Pod & KObject>(R.pods);
  const recorder = new EventRecorder({
    client: opts.client,
    component: 'horizontal-pod-autoscaler',
    clock,
    log,
  });
  const histories = new Map<string, ScalingHistory>();

  function setCondition(
    hpa: HorizontalPodAutoscaler,
    type: ConditionType,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): void {
    if (!hpa.status) hpa.status = { desiredReplicas: 0 };
    if (!hpa.status.conditions) hpa.status.conditions = [];
    const list: HorizontalPodAutoscalerCondition[] = hpa.status.conditions;
    let cond = list.find((c) => c.type === type);
    if (!cond) {
      cond = { type, status };
      list.push(cond);
      cond.lastTransitionTime = rfc3339(clock.now());
    } else if (cond.status !== status) {
      cond.lastTransitionTime = rfc3339(clock.now());
    }
    cond.status = status;
    cond.reason = reason;
    cond.message = message;
  }

  function event(
    hpa: HorizontalPodAutoscaler,
    type: 'Normal' | 'Warning',
    reason: string,
    msg: string,
  ) {
    recorder.event(hpa as KObject, type, reason, msg);
  }

  async function updateStatusIfNeeded(
    original: HorizontalPodAutoscalerStatus | undefined,
    hpa: HorizontalPodAutoscaler,
  ): Promise<void> {
    if (JSON.stringify(original ?? null) === JSON.stringify(hpa.status ?? null)) return;
    try {
      await opts.client.updateStatus(R.hpas, hpa as KObject);
    } catch (err) {
      event(hpa, 'Warning', 'FailedUpdateStatus', errorMessage(err));
      throw new Error(`failed to update status for ${hpa.metadata?.name}: ${errorMessage(err)}`);
    }
  }

  function setStatus(
    hpa: HorizontalPodAutoscaler,
    currentReplicas: number,
    desiredReplicas: number,
    metricStatuses: MetricStatus[] | undefined,
    isRescale: boolean,
  ): void {
    const old = hpa.status;
    hpa.status = {
      ...(hpa.metadata?.generation !== undefined
        ? { observedGeneration: hpa.metadata.generation }
        : {}),
      ...(old?.lastScaleTime ? { lastScaleTime: old.lastScaleTime } : {}),
      currentReplicas,
      desiredReplicas,
      ...(metricStatuses?.length ? { currentMetrics: metricStatuses } : {}),
      ...(old?.conditions ? { conditions: old.conditions } : {}),
    };
    if (isRescale) hpa.status.lastScaleTime = rfc3339(clock.now());
  }

  const computeDeps: ComputeDeps = {
    metrics: opts.metrics,
    calcOpts,
    now: () => clock.now(),
    listPods: (ns, selector) => podInformer.lister.list(ns, selector) as Pod[],
    event,
    setCondition,
  };

  async function reconcileAutoscaler(shared: HorizontalPodAutoscaler, key: string): Promise<void> {
    const hpa = structuredClone(shared);
    const original = structuredClone(hpa.status);
    const ref = hpa.spec?.scaleTargetRef;
    const ns = hpa.metadata?.namespace ?? 'default';
    const reference = `${ref?.kind}/${ns}/${ref?.name}`;
    const failGetScale = async (msg: string) => {
      event(hpa, 'Warning', 'FailedGetScale', msg);
      setCondition(
        hpa,
        'AbleToScale',
        'False',
        'FailedGetScale',
        `the HPA controller was unable to get the target's current scale: ${msg}`,
      );
      await updateStatusIfNeeded(original, hpa);
      throw new Error(`failed to query scale subresource for ${reference}: ${msg}`);
    };
    const target = ref ? findByKind(ref.apiVersion ?? '', ref.kind) : undefined;
    if (!ref || !target?.subresources.includes('scale')) {
      return failGetScale(
        `no matches for kind "${ref?.kind}" in group "${ref?.apiVersion}" with a scale subresource`,
      );
    }
    const scalePath = resourcePath(target, { namespace: ns, name: ref.name, subresource: 'scale' });
    let scale: Scale;
    try {
      scale = await opts.client.requestJSON<Scale>('GET', scalePath);
    } catch (err) {
      return failGetScale(errorMessage(err));
    }
    setCondition(
      hpa,
      'AbleToScale',
      'True',
      'SucceededGetScale',
      "the HPA controller was able to get the target's current scale",
    );
    const currentReplicas = scale.spec?.replicas ?? 0;
    /** A failed step records the current count, keeps the last desired count and metrics. */
    const keepStatusAfterFailure = async () => {
      const st = hpa.status;
      setStatus(hpa, currentReplicas, st?.desiredReplicas ?? 0, st?.currentMetrics, false);
      await updateStatusIfNeeded(original, hpa);
    };
    const history = histories.get(key) ?? newScalingHistory();
    histories.set(key, history);
    recordInitialRecommendation(history, currentReplicas, clock.now());

    const minReplicas = hpa.spec?.minReplicas ?? 1;
    // minReplicas 0 (HPAScaleToZero): metrics never take the target below one replica; the
    // scale-to-zero controller does, after the idle window, and wakes it on the next request.
    const metricsFloor = Math.max(1, minReplicas);
    const maxReplicas = hpa.spec?.maxReplicas ?? minReplicas;
    let desiredReplicas = 0;
    let rescaleReason = '';
    let isRescale = true;
    let metricStatuses: MetricStatus[] | undefined;
    let retErr: Error | undefined;
    const behavior = hpa.spec?.behavior
      ? resolveBehavior(hpa.spec.behavior, downscaleStabilizationMs / 1000)
      : undefined;

    if (currentReplicas === 0) {
      isRescale = false;
      // Woken later, the target starts afresh at one: recommendations from before it went to zero
      // would otherwise hold it up for the stabilization window.
      if (minReplicas === 0) histories.delete(key);
      setCondition(
        hpa,
        'ScalingActive',
        'False',
        minReplicas === 0 ? 'ScaledToZero' : 'ScalingDisabled',
        minReplicas === 0
          ? 'the target is scaled to zero; the next request through the ingress scales it to one'
          : 'scaling is disabled since the replica count of the target is zero',
      );
    } else if (currentReplicas > maxReplicas) {
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
      desiredReplicas = maxReplicas;
    } else if (currentReplicas < minReplicas) {
      rescaleReason = 'Current number of replicas below Spec.MinReplicas';
      desiredReplicas = minReplicas;
    } else {
      const computed = await computeReplicasForMetrics(computeDeps, hpa, scale);
      if (computed.error && computed.replicas === -1) {
        await keepStatusAfterFailure();
        event(hpa, 'Warning', 'FailedComputeMetricsReplicas', computed.error.message);
        throw new Error(
          `failed to compute desired number of replicas based on listed metrics for ${reference}: ${computed.error.message}`,
        );
      }
      retErr = computed.error;
      metricStatuses = computed.statuses;
      const rescaleMetric = computed.replicas > desiredReplicas ? computed.metric : '';
      desiredReplicas = Math.max(desiredReplicas, computed.replicas);
      if (desiredReplicas > currentReplicas) rescaleReason = `${rescaleMetric} above target`;
      if (desiredReplicas < currentReplicas) rescaleReason = 'All metrics below target';
      const args = {
        history,
        now: clock.now(),
        currentReplicas,
        desiredReplicas,
        minReplicas: metricsFloor,
        maxReplicas,
      };
      const normalized = behavior
        ? normalizeDesiredReplicasWithBehaviors({ ...args, behavior })
        : normalizeDesiredReplicas({ ...args, downscaleStabilizationMs });
      setCondition(
        hpa,
        'AbleToScale',
        'True',
        normalized.ableToScale.reason,
        normalized.ableToScale.message,
      );
      const lim = normalized.scalingLimited;
      setCondition(hpa, 'ScalingLimited', lim.status, lim.reason, lim.message);
      desiredReplicas = normalized.desiredReplicas;
      isRescale = desiredReplicas !== currentReplicas;
    }

    if (isRescale) {
      // Unconditional update of the replicas only: the target's status churns under a rollout.
      const body: Scale = {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name: ref.name, namespace: ns },
        spec: { replicas: desiredReplicas },
      };
      try {
        await opts.client.requestJSON('PUT', scalePath, { body });
      } catch (err) {
        event(
          hpa,
          'Warning',
          'FailedRescale',
          `New size: ${desiredReplicas}; reason: ${rescaleReason}; error: ${errorMessage(err)}`,
        );
        setCondition(
          hpa,
          'AbleToScale',
          'False',
          'FailedUpdateScale',
          `the HPA controller was unable to update the target scale: ${errorMessage(err)}`,
        );
        await keepStatusAfterFailure();
        throw new Error(`failed to rescale ${reference}: ${errorMessage(err)}`);
      }
      setCondition(
        hpa,
        'AbleToScale',
        'True',
        'SucceededRescale',
        `the HPA controller was able to update the target scale to ${desiredReplicas}`,
      );
      event(
        hpa,
        'Normal',
        'SuccessfulRescale',
        `New size: ${desiredReplicas}; reason: ${rescaleReason}`,
      );
      storeScaleEvent({
        history,
        behavior,
        prevReplicas: currentReplicas,
        newReplicas: desiredReplicas,
        now: clock.now(),
      });
      log.info('Successfully rescaled', {
        kind: 'HorizontalPodAutoscaler',
        namespace: ns,
        name: hpa.metadata?.name,
        currentReplicas,
        desiredReplicas,
        reason: rescaleReason,
      });
    } else {
      desiredReplicas = currentReplicas;
    }
    setStatus(hpa, currentReplicas, desiredReplicas, metricStatuses, isRescale);
    await updateStatusIfNeeded(original, hpa);
    if (retErr) throw retErr;
  }

  async function reconcile(key: string): Promise<void> {
    const hpa = hpaInformer.lister.getByKey(key);
    if (!hpa) {
      histories.delete(key);
      return;
    }
    await reconcileAutoscaler(hpa, key);
  }

  const controller = new Controller({
    name: 'horizontal-pod-autoscaler',
    informers,
    clock,
    log,
    workers: opts.workers ?? 5,
    // Every HPA is re-synced each period whatever happened, as upstream's fixed-interval limiter.
    reconcile: async (key) => {
      try {
        await reconcile(key);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        log.warn('HPA sync failed', { key, ...splitKey(key), error: errorMessage(err) });
      }
      return hpaInformer.lister.getByKey(key) ? { requeueAfter: syncPeriodMs } : undefined;
    },
  });
  // Spec changes sync at once; our own status writes must not (the period paces every HPA).
  controller.watch(hpaInformer, objectKey, {
    onUpdate: (o, n) =>
      o.metadata?.generation !== n.metadata?.generation ? objectKey(n) : undefined,
  });

  return {
    name: 'horizontal-pod-autoscaler',
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
    reconcile,
    flushEvents: () => recorder.flush(),
  };
}
