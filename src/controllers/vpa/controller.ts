// The Vertical Pod Autoscaler's recommender and updater in one loop (kubernetes/autoscaler
// vertical-pod-autoscaler/pkg/recommender/routines/recommender.go RunOnce and pkg/updater/logic/
// updater.go RunOnce): every interval, samples from metrics.k8s.io feed the histograms, each VPA
// gets status.recommendation and its conditions, and pods of VPAs in InPlaceOrRecreate/InPlace
// are resized through pods/resize (Recreate/Auto: evicted). Initial is applied at pod create by
// the API server's admission step.

import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../../api/quantity.js';
import { rfc3339 } from '../../api/time.js';
import {
  type RecommendedContainerResources,
  type VerticalPodAutoscaler,
  type VPACondition,
  vpaTargetsPod,
  vpaUpdateMode,
} from '../../api/vpa.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey } from '../../client/informer.js';
import { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { ApiError, isAlreadyExists, type KObject, type KubeClient } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import { createLogger, type Logger } from '../../lib/log.js';
import type { PodMetrics } from '../hpa/metrics-client.js';
import {
  AggregateContainerState,
  type AggregationOptions,
  type CheckpointStatus,
  ContainerState,
  defaultAggregationOptions,
} from './model.js';
import {
  containerRecommendation,
  defaultRecommendationOptions,
  estimateContainer,
  type RecommendationOptions,
} from './recommender.js';
import { hpaConflicts, podUpdateFor } from './updater.js';

/** Where usage samples come from (upstream metrics_client.go over metrics.k8s.io). */
export interface PodMetricsSource {
  /** PodMetrics of a namespace's pods; throws when the metrics API cannot answer. */
  podMetrics(namespace: string): Promise<PodMetrics[]>;
}

/** PodMetricsSource reading metrics.k8s.io/v1beta1 through the API server's aggregation. */
export class RestPodMetricsSource implements PodMetricsSource {
  #client: KubeClient;

  constructor(opts: { client: KubeClient }) {
    this.#client = opts.client;
  }

  async podMetrics(namespace: string): Promise<PodMetrics[]> {
    const list = await this.#client.requestJSON<{ items?: PodMetrics[] }>(
      'GET',
      `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods`,
    );
    return list.items ?? [];
  }
}

/** Options of createVPAController (upstream flag names in brackets). */
export interface VPAControllerOptions {
  client: KubeClient;
  metrics: PodMetricsSource;
  informers?: InformerFactory;
  clock?: Clock;
  /** How often samples are taken and recommendations written [--recommender-interval 1m]; 10 s. */
  intervalMs?: number;
  aggregation?: Partial<AggregationOptions>;
  recommendation?: Partial<RecommendationOptions>;
  /** Age after which a 10% difference is worth an update [podLifetimeUpdateThreshold 12h]. */
  podLifetimeUpdateThresholdMs?: number;
  /** Pods a VPA must have running before the updater evicts one [--min-replicas 2]. */
  minReplicas?: number;
  /** How often each container's histograms are saved as a VerticalPodAutoscalerCheckpoint; 1 min. */
  checkpointIntervalMs?: number;
  log?: Logger;
}

/** The VPA controller Component; runOnce is one recommender+updater pass (tests call it). */
export interface VPAController extends Component {
  runOnce(): Promise<void>;
  /** Resolves once recorded events are written (tests). */
  flushEvents(): Promise<void>;
}

type VPA = VerticalPodAutoscaler & KObject;

/** Creates the VPA recommender + updater. */
export function createVPAController(opts: VPAControllerOptions): VPAController {
  const clock = opts.clock ?? realClock;
  const intervalMs = opts.intervalMs ?? 10_000;
  const aggregation = { ...defaultAggregationOptions, ...opts.aggregation };
  const recOptions = { ...defaultRecommendationOptions, ...opts.recommendation };
  const lifetimeThresholdMs = opts.podLifetimeUpdateThresholdMs ?? 12 * 3_600_000;
  const log = (opts.log ?? createLogger()).child({ component: 'vpa-controller' });
  const informers = opts.informers ?? new InformerFactory({ client: opts.client, clock, log });
  const vpaInformer = informers.informerFor<VPA>(R.vpas);
  const podInformer = informers.informerFor<Pod & KObject>(R.pods);
  const rsInformer = informers.informerFor<ReplicaSet & KObject>(R.replicasets);
  const hpaInformer = informers.informerFor<HorizontalPodAutoscaler & KObject>(R.hpas);
  const recorder = new EventRecorder({ client: opts.client, component: 'vpa-updater', clock, log });
  // Aggregates per "<vpa key>|<container>", container states per "<vpa key>|<pod uid>|<container>".
  const aggregates = new Map<string, AggregateContainerState>();
  const containers = new Map<string, ContainerState>();
  const warned = new Set<string>();
  // When each aggregate was last checkpointed; the checkpoints of VPAs gone are deleted.
  const checkpointed = new Map<string, number>();
  const checkpointIntervalMs = opts.checkpointIntervalMs ?? 60_000;
  let hasLoadedCheckpoints = false;

  const ownerOf = (ns: string) => (kind: string, name: string) =>
    kind === 'ReplicaSet'
      ? (rsInformer.lister.get(ns, name)?.metadata?.ownerReferences ?? []).filter(
          (o) => o.controller,
        )
      : undefined;

  function podsOf(vpa: VPA): Pod[] {
    const ns = vpa.metadata?.namespace ?? 'default';
    return podInformer.lister
      .list(ns)
      .filter((p) => !p.metadata?.deletionTimestamp && vpaTargetsPod(vpa, p, ownerOf(ns)));
  }

  function addSamples(vpa: VPA, m: PodMetrics, pod: Pod): void {
    const vpaKey = objectKey(vpa);
    const time = Date.parse(m.timestamp);
    for (const c of m.containers) {
      const aggKey = `${vpaKey}|${c.name}`;
      let agg = aggregates.get(aggKey);
      if (!agg) {
        agg = new AggregateContainerState(aggregation);
        aggregates.set(aggKey, agg);
      }
      const stateKey = `${vpaKey}|${pod.metadata?.uid}|${c.name}`;
      let state = containers.get(stateKey);
      if (!state) {
        state = new ContainerState(agg, aggregation);
        containers.set(stateKey, state);
      }
      const cpu = c.usage['cpu'];
      const memory = c.usage['memory'];
      if (cpu !== undefined) state.addCPUSample(parseQuantity(cpu), time);
      if (memory !== undefined) state.addMemorySample(parseQuantity(memory), time);
    }
  }

  async function loadSamples(vpas: VPA[]): Promise<void> {
    const namespaces = new Set(vpas.map((v) => v.metadata?.namespace ?? 'default'));
    for (const ns of namespaces) {
      let items: PodMetrics[];
      try {
        items = await opts.metrics.podMetrics(ns);
      } catch (err) {
        log.warn('cannot read pod metrics', { namespace: ns, err });
        continue;
      }
      for (const m of items) {
        const pod = podInformer.lister.get(ns, m.metadata.name ?? '');
        if (!pod) continue;
        const vpa = vpas.find((v) => vpaTargetsPod(v, pod, ownerOf(ns)));
        if (vpa) addSamples(vpa, m, pod);
      }
    }
  }

  function recommend(vpa: VPA): RecommendedContainerResources[] {
    const prefix = `${objectKey(vpa)}|`;
    const mine = [...aggregates].filter(
      ([k, a]) => k.startsWith(prefix) && a.totalSamplesCount > 0,
    );
    const recs: RecommendedContainerResources[] = [];
    for (const [key, agg] of mine) {
      const name = key.slice(prefix.length);
      const estimate = estimateContainer(agg, {
        containersInPod: mine.length,
        options: recOptions,
      });
      const rec = containerRecommendation(vpa, name, estimate);
      if (rec) recs.push(rec);
    }
    return recs.sort((a, b) => a.containerName.localeCompare(b.containerName));
  }

  function setCondition(
    list: VPACondition[],
    type: string,
    status: 'True' | 'False',
    extra: { reason?: string; message?: string } = {},
  ): VPACondition[] {
    const old = list.find((c) => c.type === type);
    const lastTransitionTime =
      old && old.status === status && old.lastTransitionTime
        ? old.lastTransitionTime
        : rfc3339(clock.now());
    return [...list.filter((c) => c.type !== type), { type, status, lastTransitionTime, ...extra }];
  }

  async function writeStatus(vpa: VPA, recs: RecommendedContainerResources[], hasPods: boolean) {
    let conditions = vpa.status?.conditions ?? [];
    conditions = setCondition(conditions, 'RecommendationProvided', recs.length ? 'True' : 'False');
    if (hasPods) conditions = conditions.filter((c) => c.type !== 'NoPodsMatched');
    else {
      conditions = setCondition(conditions, 'NoPodsMatched', 'True', {
        reason: 'NoPodsMatched',
        message: 'No pods match this VPA object',
      });
    }
    const status = {
      ...(recs.length ? { recommendation: { containerRecommendations: recs } } : {}),
      conditions,
    };
    if (JSON.stringify(status) === JSON.stringify(vpa.status ?? {})) return;
    await opts.client.patch(
      R.vpas,
      vpa.metadata?.namespace,
      vpa.metadata?.name ?? '',
      { status: { recommendation: status.recommendation ?? null, conditions } },
      { type: 'merge', subresource: 'status' },
    );
    vpa.status = status;
  }

  function warnAboutHPA(vpa: VPA): void {
    if (vpaUpdateMode(vpa) === 'Off') return;
    for (const hpa of hpaInformer.lister.list(vpa.metadata?.namespace)) {
      const resources = hpaConflicts(vpa, hpa);
      const key = `${vpa.metadata?.uid}|${hpa.metadata?.uid}|${resources.join(',')}`;
      if (resources.length === 0 || warned.has(key)) continue;
      warned.add(key);
      const ref = vpa.spec?.targetRef;
      const message = `HorizontalPodAutoscaler "${hpa.metadata?.name}" scales ${ref?.kind}/${ref?.name} on ${resources.join(' and ')} too: the VPA should not be used with the HPA on the same resource metric (use custom or external metrics for the HPA)`;
      recorder.event(vpa, 'Warning', 'HPAConflict', message);
      log.warn('VPA and HPA act on the same resource', {
        key: objectKey(vpa),
        hpa: hpa.metadata?.name,
      });
    }
  }

  async function update(vpa: VPA, pods: Pod[]): Promise<void> {
    const mode = vpaUpdateMode(vpa);
    const isInPlace = mode === 'InPlaceOrRecreate' || mode === 'InPlace';
    if (!isInPlace && mode !== 'Recreate' && mode !== 'Auto') return;
    const running = pods.filter((p) => p.status?.phase === 'Running');
    const minReplicas = vpa.spec?.updatePolicy?.minReplicas ?? opts.minReplicas ?? 2;
    for (const pod of running) {
      const started = Date.parse(pod.status?.startTime ?? '') || clock.now();
      const want = podUpdateFor(vpa, pod, {
        podAgeMs: clock.now() - started,
        lifetimeThresholdMs,
      });
      if (!want) continue;
      const infeasible = pod.status?.conditions?.some(
        (c) => c.type === 'PodResizePending' && c.reason === 'Infeasible',
      );
      const ns = pod.metadata?.namespace;
      const name = pod.metadata?.name ?? '';
      if (isInPlace && !infeasible) {
        try {
          await opts.client.patch(
            R.pods,
            ns,
            name,
            { spec: { containers: want.containers } },
            { type: 'strategic', subresource: 'resize' },
          );
          recorder.event(
            pod as KObject,
            'Normal',
            'InPlaceResizedByVPA',
            'Pod was resized in place by VPA Updater.',
          );
          continue;
        } catch (err) {
          // A resize the API refuses (a QoS class change, e.g. a pod with no requests) cannot
          // happen in place: InPlaceOrRecreate falls back to eviction, InPlace leaves the pod.
          if (!(err instanceof ApiError && err.code === 422)) throw err;
          log.info('in-place resize refused', { key: `${ns}/${name}`, err: err.message });
        }
      }
      // Recreate, or an in-place resize the node cannot hold: evict so the new pod gets the
      // recommendation at admission, when enough replicas stay.
      if (mode === 'InPlace' || running.length < minReplicas) continue;
      await opts.client.requestJSON('POST', `/api/v1/namespaces/${ns}/pods/${name}/eviction`, {
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } },
      });
      recorder.event(
        pod as KObject,
        'Normal',
        'EvictedByVPA',
        'Pod was evicted by VPA Updater to apply resource recommendation.',
      );
    }
  }

  type Checkpoint = KObject & {
    spec?: { vpaObjectName?: string; containerName?: string };
    status?: CheckpointStatus;
  };
  const checkpointName = (vpaName: string, container: string) => `${vpaName}-${container}`;

  // The recommender's history survives a restart: each VPA's checkpoints seed its aggregates
  // (upstream ClusterStateFeeder.InitFromCheckpoints); those of VPAs gone are deleted.
  async function loadCheckpoints(vpas: VPA[]): Promise<void> {
    const list = await opts.client.list<Checkpoint>(R.vpaCheckpoints);
    for (const cp of list.items) {
      const ns = cp.metadata?.namespace ?? 'default';
      const vpaName = cp.spec?.vpaObjectName ?? '';
      const container = cp.spec?.containerName ?? '';
      const vpa = vpas.find((v) => v.metadata?.namespace === ns && v.metadata?.name === vpaName);
      if (!vpa) {
        await opts.client
          .delete(R.vpaCheckpoints, ns, cp.metadata?.name ?? '')
          .catch(() => undefined);
        continue;
      }
      const agg = new AggregateContainerState(aggregation);
      try {
        agg.loadFromCheckpoint(cp.status ?? {});
      } catch (err) {
        log.warn('cannot load VPA checkpoint', {
          namespace: ns,
          name: cp.metadata?.name,
          err: errorMessage(err),
        });
        continue;
      }
      const key = `${objectKey(vpa)}|${container}`;
      aggregates.set(key, agg);
      checkpointed.set(key, clock.now());
    }
  }

  async function writeCheckpoints(vpa: VPA): Promise<void> {
    const prefix = `${objectKey(vpa)}|`;
    for (const [key, agg] of aggregates) {
      if (!key.startsWith(prefix) || agg.totalSamplesCount === 0) continue;
      if (clock.now() - (checkpointed.get(key) ?? 0) < checkpointIntervalMs) continue;
      const container = key.slice(prefix.length);
      const ns = vpa.metadata?.namespace ?? 'default';
      const name = checkpointName(vpa.metadata?.name ?? '', container);
      const obj: Checkpoint = {
        apiVersion: 'autoscaling.k8s.io/v1',
        kind: 'VerticalPodAutoscalerCheckpoint',
        metadata: { name, namespace: ns },
        spec: { vpaObjectName: vpa.metadata?.name, containerName: container },
        status: agg.saveToCheckpoint(clock.now()),
      };
      try {
        await opts.client.create(R.vpaCheckpoints, obj);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const current = await opts.client.get<Checkpoint>(R.vpaCheckpoints, ns, name);
        await opts.client.update(R.vpaCheckpoints, {
          ...obj,
          metadata: { ...obj.metadata, resourceVersion: current.metadata?.resourceVersion },
        });
      }
      checkpointed.set(key, clock.now());
    }
  }

  // Forget state of VPAs and pods that are gone, so memory stays bounded.
  async function garbageCollect(vpas: VPA[]): Promise<void> {
    const live = new Set(vpas.map((v) => objectKey(v)));
    const pods = new Set(podInformer.lister.list().map((p) => p.metadata?.uid));
    for (const k of aggregates.keys()) {
      const [vpaKey = '', container = ''] = k.split('|');
      if (live.has(vpaKey)) continue;
      aggregates.delete(k);
      if (checkpointed.delete(k)) {
        const [ns, vpaName = ''] = vpaKey.split('/');
        await opts.client
          .delete(R.vpaCheckpoints, ns, checkpointName(vpaName, container))
          .catch((err: unknown) => log.debug('checkpoint delete', { err: errorMessage(err) }));
      }
    }
    for (const k of containers.keys()) {
      const [v, uid] = k.split('|');
      if (!live.has(v ?? '') || !pods.has(uid)) containers.delete(k);
    }
  }

  async function runOnce(): Promise<void> {
    const vpas = vpaInformer.lister.list().map((v) => structuredClone(v));
    if (!hasLoadedCheckpoints) {
      await loadCheckpoints(vpas);
      hasLoadedCheckpoints = true;
    }
    await loadSamples(vpas);
    for (const vpa of vpas) {
      const key = objectKey(vpa);
      try {
        const pods = podsOf(vpa);
        const recs = recommend(vpa);
        await writeStatus(vpa, recs, pods.length > 0);
        warnAboutHPA(vpa);
        await update(vpa, pods);
        await writeCheckpoints(vpa);
      } catch (err) {
        log.warn('VPA sync failed', { key, err: errorMessage(err) });
      }
    }
    await garbageCollect(vpas);
  }

  return {
    name: 'vpa-controller',
    runOnce,
    flushEvents: () => recorder.flush(),
    async start(signal) {
      informers.start(signal);
      await informers.waitForCacheSync(signal);
      const loop = async () => {
        while (!signal.aborted) {
          await runOnce().catch((err: unknown) => log.warn('VPA pass failed', { err }));
          await clock.sleep(intervalMs, signal).catch(() => undefined);
        }
      };
      void loop();
    },
  };
}
