// The DaemonSet controller: one pod on every node the template's nodeSelector and tolerations
// admit, replaced revision by revision within maxUnavailable (behaviour follows kubernetes
// pkg/controller/daemon/daemon_controller.go syncDaemonSet, manage, podsShouldBeOnNode,
// update.go rollingUpdate, and util/daemonset_util.go AddOrUpdateDaemonPodTolerations).
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { matchesSelector } from '../../api/labels.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { canonicalJSON } from '../runtime/hash.js';
import { claimObjects, getControllerOf, newControllerRef } from '../runtime/owner.js';
import { isPodAvailable, isPodReady } from '../runtime/pods.js';
import { ensureRevision, revisionHashLabel } from '../runtime/revision.js';
import { toleratesTaint } from '../scheduler/predicates.js';
import { type NodeDaemonPods, surgeUpdate, surplusUnderSurge } from './surge.js';

const dsGVK = { apiVersion: 'apps/v1', kind: 'DaemonSet' } as const;
const revisionLabel = 'controller-revision-hash';

// Daemon pods keep running through node trouble (upstream AddOrUpdateDaemonPodTolerations).
const daemonTolerations: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Options of createDaemonSetController. */
export interface DaemonSetControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
  workers?: number;
}

/** The DaemonSet controller; `syncDaemonSet` is exposed for tests. */
export interface DaemonSetController extends Component {
  readonly controller: Controller;
  readonly recorder: EventRecorder;
  syncDaemonSet(key: string): Promise<Result | undefined>;
}

/** True when the daemon's pod may run on the node: nodeSelector matches, taints tolerated. */
export function shouldRunOnNode(ds: DaemonSet, node: Node): boolean {
  const spec = ds.spec?.template?.spec;
  if (spec?.nodeName && spec.nodeName !== node.metadata?.name) return false;
  const sel = spec?.nodeSelector;
  if (sel && !matchesSelector({ matchLabels: sel }, node.metadata?.labels)) return false;
  const tolerations = [...(spec?.tolerations ?? []), ...daemonTolerations];
  return (node.spec?.taints ?? [])
    .filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
    .every((t) => tolerations.some((tol) => toleratesTaint(tol, t)));
}

const intOrPercent = (v: number | string | undefined, total: number, def: number): number => {
  if (v === undefined) return def;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  return m ? Math.ceil((Number(m[1]) * total) / 100) : def;
};

/** Creates the DaemonSet controller. */
export function createDaemonSetController(opts: DaemonSetControllerOptions): DaemonSetController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const dss = informers.informerFor<DaemonSet>(R.daemonsets);
  const pods = informers.informerFor<Pod>(R.pods);
  const nodes = informers.informerFor<Node>(R.nodes);
  const revisions = informers.informerFor<ControllerRevision>(R.controllerrevisions);
  const recorder = new EventRecorder({
    client,
    component: 'daemonset-controller',
    clock,
    log: opts.log,
  });
  const ref = (ds: DaemonSet) => ({ ...ds, ...dsGVK }) as KObject;

  const syncDaemonSet = async (key: string): Promise<Result | undefined> => {
    const { namespace, name } = splitKey(key);
    const ds = dss.lister.get(namespace, name);
    if (!ds || ds.metadata?.deletionTimestamp) return undefined;
    const owned = await claimObjects(pods.lister.list(namespace), {
      client,
      resource: R.pods,
      owner: ds as KObject,
      ownerGVK: dsGVK,
      selector: ds.spec?.selector,
      canAdopt: async () => {
        const fresh = await client.get<DaemonSet>(R.daemonsets, namespace, name);
        return fresh.metadata?.uid === ds.metadata?.uid && !fresh.metadata?.deletionTimestamp;
      },
    });
    const history = revisions.lister
      .list(namespace)
      .filter((r) => getControllerOf(r)?.uid === ds.metadata?.uid)
      .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
    const rev = await ensureRevision(client, ds, {
      gvk: dsGVK,
      history,
      collisionCount: ds.status?.collisionCount,
    });
    const hash = rev.metadata?.labels?.[revisionHashLabel] ?? '';
    const byNode = new Map<string, Pod[]>();
    for (const p of owned) {
      const n =
        p.spec?.nodeName ??
        p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
          ?.nodeSelectorTerms?.[0]?.matchFields?.[0]?.values?.[0] ??
        '';
      byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const allNodes = nodes.lister.list();
    const now = clock.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const strategy = ds.spec?.updateStrategy;
    const isRolling = strategy?.type !== 'OnDelete';
    const desired = allNodes.filter((n) => shouldRunOnNode(ds, n)).length;
    // maxSurge rounds up as upstream's; with surge, maxUnavailable plays no part.
    const maxSurge = isRolling ? intOrPercent(strategy?.rollingUpdate?.maxSurge, desired, 0) : 0;
    const surgeNodes: NodeDaemonPods[] = [];
    let unavailable = 0;
    const oldAvailable: Pod[] = [];
    for (const node of allNodes) {
      const nodeName = node.metadata?.name ?? '';
      const here = (byNode.get(nodeName) ?? []).filter((p) => !p.metadata?.deletionTimestamp);
      byNode.delete(nodeName);
      if (!shouldRunOnNode(ds, node)) {
        for (const p of here) await deletePod(ds, p);
        continue;
      }
      // Failed daemon pods are replaced; surplus ones (a race) are trimmed to the oldest.
      const failed = here.filter((p) => p.status?.phase === 'Failed');
      for (const p of failed) await deletePod(ds, p);
      const alive = here.filter((p) => p.status?.phase !== 'Failed');
      if (alive.length === 0) {
        await createPod(ds, nodeName, hash);
        unavailable++;
        continue;
      }
      if (maxSurge > 0) {
        // One old and one new pod may share the node while the new one comes up.
        const surplus = surplusUnderSurge(alive, hash);
        for (const p of surplus) await deletePod(ds, p);
        surgeNodes.push({ node: nodeName, pods: alive.filter((p) => !surplus.includes(p)) });
        continue;
      }
      for (const p of alive.slice(1)) await deletePod(ds, p);
      const p = alive[0] as Pod;
      const available = isPodAvailable(p, minReady, now);
      if (!available) unavailable++;
      else if (p.metadata?.labels?.[revisionLabel] !== hash) oldAvailable.push(p);
    }
    // Pods on nodes that are gone.
    for (const rest of byNode.values()) for (const p of rest) await deletePod(ds, p);
    if (isRolling && maxSurge > 0) {
      const plan = surgeUpdate(surgeNodes, { hash, maxSurge, minReadySeconds: minReady, now });
      for (const p of plan.remove) await deletePod(ds, p);
      for (const node of plan.createOn) await createPod(ds, node, hash);
    } else if (isRolling) {
      const maxUnavailable = intOrPercent(
        ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable,
        allNodes.length,
        1,
      );
      // Old pods that are not available go first; available ones only within the budget.
      for (const list of byNodeOld(owned, hash, now, minReady)) await deletePod(ds, list);
      for (const p of oldAvailable.slice(0, Math.max(0, maxUnavailable - unavailable))) {
        await deletePod(ds, p);
      }
    }
    await updateStatus(ds, computeStatus(ds, owned, allNodes, hash, now));
    await truncateHistory(ds, owned, history, rev);
    // A Ready pod becomes available only after minReadySeconds: look again then.
    const isWaiting = owned.some((p) => isPodReady(p) && !isPodAvailable(p, minReady, now));
    return minReady > 0 && isWaiting ? { requeueAfter: minReady * 1000 } : undefined;
  };

  // Old-revision pods that are not available: replacing them costs no availability.
  const byNodeOld = (owned: Pod[], hash: string, now: number, minReady: number) =>
    owned.filter(
      (p) =>
        !p.metadata?.deletionTimestamp &&
        p.metadata?.labels?.[revisionLabel] !== hash &&
        !isPodAvailable(p, minReady, now),
    );

  const createPod = async (ds: DaemonSet, nodeName: string, hash: string) => {
    const tmpl = ds.spec?.template ?? {};
    const spec = structuredClone(tmpl.spec ?? { containers: [] });
    // Pinned by node affinity and placed by the scheduler, as upstream does since 1.12.
    spec.affinity = {
      ...spec.affinity,
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] },
          ],
        },
      },
    };
    const tolerations = [...(spec.tolerations ?? [])];
    for (const t of daemonTolerations) {
      if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push(t);
    }
    spec.tolerations = tolerations;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${ds.metadata?.name}-`,
        namespace: ds.metadata?.namespace,
        labels: {
          ...(tmpl.metadata?.labels ?? {}),
          [revisionLabel]: hash,
          'pod-template-generation': String(ds.metadata?.generation ?? 1),
        },
        annotations: tmpl.metadata?.annotations ? { ...tmpl.metadata.annotations } : undefined,
        ownerReferences: [newControllerRef(ds, dsGVK)],
      },
      spec,
    };
    try {
      const created = await client.create<Pod>(R.pods, pod);
      recorder.event(
        ref(ds),
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${created.metadata?.name}`,
      );
    } catch (err) {
      recorder.event(ref(ds), 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
      throw err;
    }
  };

  const deletePod = async (ds: DaemonSet, pod: Pod) => {
    if (pod.metadata?.deletionTimestamp) return;
    try {
      await client.delete(R.pods, pod.metadata?.namespace, pod.metadata?.name ?? '');
      recorder.event(ref(ds), 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata?.name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const computeStatus = (
    ds: DaemonSet,
    owned: Pod[],
    allNodes: Node[],
    hash: string,
    now: number,
  ): DaemonSetStatus => {
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const st = {
      desiredNumberScheduled: 0,
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      numberReady: 0,
      updatedNumberScheduled: 0,
      numberAvailable: 0,
      numberUnavailable: 0,
      observedGeneration: ds.metadata?.generation,
      collisionCount: ds.status?.collisionCount,
    };
    for (const node of allNodes) {
      const should = shouldRunOnNode(ds, node);
      const p = owned.find(
        (x) => x.spec?.nodeName === node.metadata?.name && !x.metadata?.deletionTimestamp,
      );
      if (should) st.desiredNumberScheduled++;
      if (!p) {
        if (should) st.numberUnavailable++;
        continue;
      }
      if (!should) {
        st.numberMisscheduled++;
        continue;
      }
      st.currentNumberScheduled++;
      if (isPodReady(p)) st.numberReady++;
      if (p.metadata?.labels?.[revisionLabel] === hash) st.updatedNumberScheduled++;
      if (isPodAvailable(p, minReady, now)) st.numberAvailable++;
      else st.numberUnavailable++;
    }
    return st;
  };

  const updateStatus = async (ds: DaemonSet, status: DaemonSetStatus) => {
    if (canonicalJSON(ds.status) === canonicalJSON(status)) return;
    try {
      await client.updateStatus<DaemonSet>(R.daemonsets, { ...ds, ...dsGVK, status });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const truncateHistory = async (
    ds: DaemonSet,
    owned: Pod[],
    history: ControllerRevision[],
    current: ControllerRevision,
  ) => {
    const live = new Set(owned.map((p) => p.metadata?.labels?.[revisionLabel]));
    const old = history.filter(
      (r) => r !== current && !live.has(r.metadata?.labels?.[revisionHashLabel]),
    );
    const excess = old.length - (ds.spec?.revisionHistoryLimit ?? 10);
    for (const r of old.slice(0, Math.max(0, excess))) {
      await client
        .delete(R.controllerrevisions, r.metadata?.namespace, r.metadata?.name ?? '')
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    }
  };

  const controller = new Controller({
    name: 'daemonset-controller',
    informers,
    clock,
    log: opts.log,
    workers: opts.workers,
    reconcile: syncDaemonSet,
  });
  const allKeys = () => dss.lister.list().map(objectKey);
  controller.watch(dss);
  controller.watch(pods, (p) => {
    const owner = getControllerOf(p);
    if (owner?.kind !== 'DaemonSet') return undefined;
    return `${p.metadata?.namespace}/${owner.name}`;
  });
  // Node labels, taints and arrivals change where daemons belong; heartbeats do not.
  controller.watch(nodes, allKeys, {
    onUpdate: (o, n) =>
      canonicalJSON([o.metadata?.labels, o.spec?.taints]) !==
      canonicalJSON([n.metadata?.labels, n.spec?.taints])
        ? allKeys()
        : undefined,
  });
  controller.watch(revisions, (r) => {
    const owner = getControllerOf(r);
    return owner?.kind === 'DaemonSet' ? `${r.metadata?.namespace}/${owner.name}` : undefined;
  });

  return {
    name: controller.name,
    controller,
    recorder,
    syncDaemonSet,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
