// A single-profile scheduler: binds each unscheduled pod to a node where it fits, or marks it
// Unschedulable (kubernetes pkg/scheduler/schedule_one.go scheduleOne, handleSchedulingFailure;
// the "assume" cache of pkg/scheduler/internal/cache so a burst of binds cannot overcommit).
import type { Node, PersistentVolumeClaim, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { rfc3339 } from '../../api/time.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isConflict, isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import {
  type FilterFailure,
  filterNode,
  fitErrorMessage,
  podRequests,
  type Resources,
} from './predicates.js';
import { checkPodVolumes } from './volumes.js';

/** The scheduler name pods get by default. */
export const defaultSchedulerName = 'default-scheduler';
// Unschedulable pods are retried at least this often even without cluster events
// (upstream podMaxInUnschedulablePodsDuration).
const unschedulableRetryMs = 5 * 60 * 1000;

/** Options of createScheduler. */
export interface SchedulerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
}

/** The scheduler; `schedulePod` (scheduleOne for a key) is exposed for tests. */
export interface Scheduler extends Component {
  readonly controller: Controller;
  readonly recorder: EventRecorder;
  schedulePod(key: string): Promise<Result | undefined>;
}

const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const needsScheduling = (p: Pod) =>
  !p.spec?.nodeName &&
  !p.metadata?.deletionTimestamp &&
  !isTerminal(p) &&
  (p.spec?.schedulerName ?? defaultSchedulerName) === defaultSchedulerName;

/** Creates the scheduler. */
export function createScheduler(opts: SchedulerOptions): Scheduler {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const pods = informers.informerFor<Pod>(R.pods);
  const nodes = informers.informerFor<Node>(R.nodes);
  const claims = informers.informerFor<PersistentVolumeClaim>(R.persistentvolumeclaims);
  const classes = informers.informerFor<StorageClass>(R.storageclasses);
  const recorder = new EventRecorder({
    client,
    component: defaultSchedulerName,
    clock,
    log: opts.log,
  });
  // Pods we bound whose binding the informer has not shown yet: key → node and requests.
  const assumed = new Map<string, { node: string; req: Resources }>();
  // Pods that failed to schedule, retried on any change that may free room.
  const unschedulable = new Set<string>();

  // Cache entries are immutable, so a pod object's requests can be parsed once.
  const requestsCache = new WeakMap<Pod, Resources>();
  const cachedRequests = (p: Pod): Resources => {
    let r = requestsCache.get(p);
    if (!r) {
      r = podRequests(p);
      requestsCache.set(p, r);
    }
    return r;
  };

  const requestedOn = (nodeName: string): Resources => {
    const sum: Resources = { milliCPU: 0, memory: 0, pods: 0 };
    const add = (r: Resources) => {
      sum.milliCPU += r.milliCPU;
      sum.memory += r.memory;
      sum.pods += r.pods;
    };
    for (const p of pods.lister.list()) {
      if (p.spec?.nodeName !== nodeName || isTerminal(p)) continue;
      add(cachedRequests(p));
    }
    for (const [key, a] of assumed) {
      if (a.node === nodeName && !pods.lister.getByKey(key)?.spec?.nodeName) add(a.req);
    }
    return sum;
  };

  // Filters nodes for one pod and either assumes+binds it or records why it cannot run
  // (upstream scheduleOne). Resolves once the decision is made; `binding` ends with the bind.
  const scheduleOne = async (
    key: string,
  ): Promise<{ result?: Result; binding?: Promise<void> }> => {
    const cached = pods.lister.getByKey(key);
    if (!cached || !needsScheduling(cached) || assumed.has(key)) {
      unschedulable.delete(key);
      return {};
    }
    const pod = { ...cached, apiVersion: 'v1', kind: 'Pod' } as Pod;
    const allNodes = nodes.lister
      .list()
      .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
    const failures: FilterFailure[] = [];
    let chosen: string | undefined;
    for (const node of allNodes) {
      const name = node.metadata?.name ?? '';
      const failure = filterNode(pod, node, requestedOn(name));
      if (!failure) {
        chosen = name;
        break;
      }
      failures.push(failure);
    }
    if (chosen === undefined) {
      const message = fitErrorMessage(allNodes.length, failures);
      unschedulable.add(key);
      recorder.event(pod as KObject, 'Warning', 'FailedScheduling', message);
      await setUnschedulable(pod, message);
      return { result: { requeueAfter: unschedulableRetryMs } };
    }
    // Volume binding (upstream VolumeBinding plugin): claims must exist; WaitForFirstConsumer
    // claims learn the chosen node and the pod waits until they are bound.
    const vol = checkPodVolumes(pod, { claims: claims.lister, classes: classes.lister });
    if (vol.failure) {
      const message = `0/${allNodes.length} nodes are available: ${vol.failure}.`;
      unschedulable.add(key);
      recorder.event(pod as KObject, 'Warning', 'FailedScheduling', message);
      await setUnschedulable(pod, message);
      return { result: { requeueAfter: unschedulableRetryMs } };
    }
    if (vol.unbound.length) {
      for (const c of vol.unbound) await selectNode(c, chosen);
      unschedulable.add(key); // retried when a claim changes
      return { result: { requeueAfter: unschedulableRetryMs } };
    }
    // Assume first so the next pod sees these requests even before the watch shows the bind;
    // then bind asynchronously (upstream's binding cycle) so binds of a burst overlap.
    assumed.set(key, { node: chosen, req: podRequests(pod) });
    return { binding: bind(pod, chosen) };
  };

  // Never rejects: failures are logged and the pod is requeued with backoff.
  const bind = async (pod: Pod, node: string): Promise<void> => {
    const key = objectKey(pod);
    const { namespace, name } = splitKey(key);
    try {
      await client.requestJSON('POST', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, {
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace, uid: pod.metadata?.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: node },
        },
      });
    } catch (err) {
      assumed.delete(key);
      // Deleted or already bound meanwhile: nothing to do; otherwise retry with backoff.
      if (isNotFound(err) || isConflict(err)) return;
      controller.log.warn('Binding failed', { key, node, error: errorMessage(err) });
      controller.queue.addRateLimited(key);
      return;
    }
    unschedulable.delete(key);
    recorder.event(
      pod as KObject,
      'Normal',
      'Scheduled',
      `Successfully assigned ${namespace}/${name} to ${node}`,
    );
  };

  // Records the scheduler's pick on a WaitForFirstConsumer claim (upstream AnnSelectedNode).
  const selectNode = async (c: PersistentVolumeClaim, node: string): Promise<void> => {
    const ann = 'volume.kubernetes.io/selected-node';
    if (c.metadata?.annotations?.[ann] === node) return;
    await client.patch(
      R.persistentvolumeclaims,
      c.metadata?.namespace,
      c.metadata?.name ?? '',
      { metadata: { annotations: { [ann]: node } } },
      { type: 'merge' },
    );
  };

  const schedulePod = async (key: string): Promise<Result | undefined> => {
    const { result, binding } = await scheduleOne(key);
    await binding;
    return result;
  };

  // Records PodScheduled=False/Unschedulable unless it already says so (avoids a write loop).
  const setUnschedulable = async (pod: Pod, message: string): Promise<void> => {
    const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (
      current?.status === 'False' &&
      current.reason === 'Unschedulable' &&
      current.message === message
    )
      return;
    const cond: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null as unknown as string,
      lastTransitionTime:
        current?.status === 'False' ? current.lastTransitionTime : rfc3339(clock.now()),
    };
    const conditions = [
      ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
      cond,
    ];
    try {
      await client.patch(
        R.pods,
        pod.metadata?.namespace,
        pod.metadata?.name ?? '',
        { status: { conditions } },
        {
          type: 'merge',
          subresource: 'status',
        },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const controller = new Controller({
    name: 'scheduler',
    informers,
    clock,
    log: opts.log,
    // One at a time, as upstream's scheduleOne: the fit check must see every earlier decision.
    workers: 1,
    reconcile: async (key) => (await scheduleOne(key)).result,
  });
  const retryUnschedulable = () => controller.enqueue([...unschedulable]);

  controller.watchWith(pods, {
    onAdd: (p) => {
      if (needsScheduling(p)) controller.enqueue(objectKey(p));
    },
    onUpdate: (oldPod, p) => {
      const key = objectKey(p);
      if (p.spec?.nodeName) {
        assumed.delete(key);
        unschedulable.delete(key);
        // A bound pod finishing frees room on its node.
        if (!isTerminal(oldPod) && isTerminal(p)) retryUnschedulable();
        return;
      }
      // Only spec/label changes can change the outcome; our own status writes must not loop.
      if (needsScheduling(p) && JSON.stringify(oldPod.spec) !== JSON.stringify(p.spec))
        controller.enqueue(key);
    },
    onDelete: (p) => {
      const key = objectKey(p);
      assumed.delete(key);
      unschedulable.delete(key);
      if (p.spec?.nodeName) retryUnschedulable();
    },
  });
  // A claim created or bound may unblock pods waiting on it.
  controller.watchWith(claims, { onAdd: retryUnschedulable, onUpdate: retryUnschedulable });
  controller.watchWith(classes, { onAdd: retryUnschedulable });
  controller.watchWith(nodes, {
    onAdd: retryUnschedulable,
    onUpdate: (o, n) => {
      // Heartbeats change only conditions and timestamps; skip them.
      if (
        JSON.stringify(o.spec) !== JSON.stringify(n.spec) ||
        JSON.stringify(o.status?.allocatable) !== JSON.stringify(n.status?.allocatable) ||
        JSON.stringify(o.metadata?.labels) !== JSON.stringify(n.metadata?.labels)
      ) {
        retryUnschedulable();
      }
    },
  });

  return {
    name: controller.name,
    controller,
    recorder,
    schedulePod,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
