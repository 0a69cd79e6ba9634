// Deployment sync steps shared by both strategies: finding/creating the new ReplicaSet, scaling,
// and history cleanup (kubernetes pkg/controller/deployment/sync.go).
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { EventRecorder } from '../../client/events.js';
import type { Lister } from '../../client/informer.js';
import { R } from '../../client/resources.js';
import { isAlreadyExists, isNotFound, type KObject, type KubeClient } from '../../client/rest.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import { computeHash } from '../runtime/hash.js';
import { getControllerOf, newControllerRef } from '../runtime/owner.js';
import { syncDeploymentStatus } from './progress.js';
import {
  byCreationTimestamp,
  defaultDeploymentUniqueLabelKey,
  equalIgnoreHash,
  filterActiveReplicaSets,
  findNewReplicaSet,
  getDeploymentCondition,
  getReplicaCountForReplicaSets,
  hasProgressDeadline,
  isRollingUpdate,
  isSaturated,
  maxReplicasAnnotation,
  maxRevision,
  maxSurge,
  newDeploymentCondition,
  newRSNewReplicas,
  Reasons,
  revisionAnnotation,
  revisionOf,
  setDeploymentCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
} from './util.js';

/** The Deployment GVK, set on objects we send and on event references. */
export const deploymentGVK = { apiVersion: 'apps/v1', kind: 'Deployment' } as const;
const rsGVK = { apiVersion: 'apps/v1', kind: 'ReplicaSet' } as const;

/** What the sync steps need from the controller. */
export interface SyncContext {
  client: KubeClient;
  recorder: EventRecorder;
  clock: Clock;
  rsLister: Lister<ReplicaSet>;
  /** Re-queues the Deployment after ms (progress deadline checks). */
  enqueueAfter(d: Deployment, ms: number): void;
}

/**
 * The sync steps for one syncDeployment call; methods mutate the working copy `d` as upstream.
 * Create one per sync: it remembers the ReplicaSets it wrote so later steps of the same sync use
 * their new resourceVersions instead of the stale cache copies (which would only conflict).
 */
export class DeploymentSync {
  readonly ctx: SyncContext;
  #written = new Map<string, ReplicaSet>();

  constructor(ctx: SyncContext) {
    this.ctx = ctx;
  }

  #remember(rs: ReplicaSet): ReplicaSet {
    this.#written.set(rs.metadata?.uid ?? '', rs);
    return rs;
  }

  /** Writes d.status and keeps d's resourceVersion current so later writes do not conflict. */
  async updateStatus(d: Deployment): Promise<void> {
    const out = await this.ctx.client.updateStatus<Deployment>(R.deployments, {
      ...d,
      ...deploymentGVK,
    });
    d.metadata = { ...d.metadata, resourceVersion: out.metadata?.resourceVersion };
  }

  /** Mirrors the new RS revision onto the Deployment annotation (upstream SetDeploymentRevision). */
  async setDeploymentRevision(d: Deployment, revision: string): Promise<void> {
    if (!revision || d.metadata?.annotations?.[revisionAnnotation] === revision) return;
    const out = await this.ctx.client.patch<Deployment>(
      R.deployments,
      d.metadata?.namespace,
      d.metadata?.name ?? '',
      { metadata: { annotations: { [revisionAnnotation]: revision } } },
      { type: 'merge' },
    );
    d.metadata = {
      ...d.metadata,
      annotations: out.metadata?.annotations,
      resourceVersion: out.metadata?.resourceVersion,
    };
  }

  /** The new RS (created when asked and missing) and all old RSs (upstream getAllReplicaSetsAndSyncRevision). */
  async getAllReplicaSetsAndSyncRevision(
    d: Deployment,
    rsList: readonly ReplicaSet[],
    createIfNotExisted: boolean,
  ): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const current = rsList.map((rs) => this.#written.get(rs.metadata?.uid ?? '') ?? rs);
    const found = findNewReplicaSet(d, current);
    const oldRSs = current.filter((rs) => rs !== found);
    const newRS = await this.getNewReplicaSet(d, current, oldRSs, createIfNotExisted);
    return { newRS, oldRSs };
  }

  /** Finds (updating its revision) or creates the RS for the current template (upstream getNewReplicaSet). */
  async getNewReplicaSet(
    d: Deployment,
    rsList: readonly ReplicaSet[],
    oldRSs: readonly ReplicaSet[],
    createIfNotExisted: boolean,
  ): Promise<ReplicaSet | undefined> {
    const { client, recorder, clock } = this.ctx;
    const existing = findNewReplicaSet(d, rsList);
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const rsCopy = structuredClone(existing);
      const annotationsUpdated = setNewReplicaSetAnnotations(d, rsCopy, newRevision, true);
      const minReadyChanged =
        (rsCopy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      if (annotationsUpdated || minReadyChanged) {
        rsCopy.spec = { ...rsCopy.spec!, minReadySeconds: d.spec?.minReadySeconds ?? 0 };
        return this.#remember(
          await client.update<ReplicaSet>(R.replicasets, { ...rsCopy, ...rsGVK }),
        );
      }
      await this.setDeploymentRevision(d, rsCopy.metadata?.annotations?.[revisionAnnotation] ?? '');
      if (hasProgressDeadline(d) && !getDeploymentCondition(d.status, 'Progressing')) {
        const msg = `Found new replica set "${rsCopy.metadata?.name}"`;
        await this.#markProgressing(d, Reasons.FoundNewRS, msg);
      }
      return rsCopy;
    }
    if (!createIfNotExisted) return undefined;

    const template = structuredClone(d.spec?.template ?? {});
    const hash = computeHash(d.spec?.template, d.status?.collisionCount);
    template.metadata = {
      ...template.metadata,
      labels: { ...(template.metadata?.labels ?? {}), [defaultDeploymentUniqueLabelKey]: hash },
    };
    const selector = structuredClone(d.spec?.selector ?? {});
    selector.matchLabels = {
      ...(selector.matchLabels ?? {}),
      [defaultDeploymentUniqueLabelKey]: hash,
    };
    const name = `${d.metadata?.name}-${hash}`;
    const newRS: ReplicaSet = {
      ...rsGVK,
      metadata: {
        name,
        namespace: d.metadata?.namespace,
        ownerReferences: [newControllerRef(d, deploymentGVK)],
        labels: template.metadata.labels,
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    const newReplicasCount = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    newRS.spec!.replicas = newReplicasCount;
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);
    let created: ReplicaSet;
    let alreadyExists = false;
    try {
      created = await client.create<ReplicaSet>(R.replicasets, newRS, {
        namespace: d.metadata?.namespace,
      });
    } catch (err) {
      if (isAlreadyExists(err)) {
        const rs = this.ctx.rsLister.get(d.metadata?.namespace, name);
        if (
          rs &&
          getControllerOf(rs)?.uid === d.metadata?.uid &&
          equalIgnoreHash(d.spec?.template, rs.spec?.template)
        ) {
          created = rs;
          alreadyExists = true;
        } else {
          // A hash collision with someone else's RS: bump collisionCount so the next hash differs.
          d.status = { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
          await this.updateStatus(d);
          throw err;
        }
      } else {
        const msg = `Failed to create new replica set "${name}": ${errorMessage(err)}`;
        if (hasProgressDeadline(d)) {
          d.status ??= {};
          setDeploymentCondition(
            d.status,
            newDeploymentCondition(
              'Progressing',
              'False',
              Reasons.FailedRSCreate,
              msg,
              clock.now(),
            ),
          );
          await this.updateStatus(d).catch(() => undefined);
        }
        recorder.event(
          { ...d, ...deploymentGVK } as KObject,
          'Warning',
          Reasons.FailedRSCreate,
          msg,
        );
        throw err;
      }
    }
    if (!alreadyExists && newReplicasCount > 0) {
      recorder.event(
        { ...d, ...deploymentGVK } as KObject,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${name} from 0 to ${newReplicasCount}`,
      );
    }
    await this.setDeploymentRevision(d, String(newRevision));
    if (!alreadyExists && hasProgressDeadline(d)) {
      await this.#markProgressing(d, Reasons.NewReplicaSet, `Created new replica set "${name}"`);
    }
    return created;
  }

  // Progressing=True for the new ReplicaSet, written at once (upstream getNewReplicaSet).
  async #markProgressing(d: Deployment, reason: string, message: string): Promise<void> {
    d.status ??= {};
    setDeploymentCondition(
      d.status,
      newDeploymentCondition('Progressing', 'True', reason, message, this.ctx.clock.now()),
    );
    await this.updateStatus(d);
  }

  /** Sets an RS's replicas (and replica annotations); records ScalingReplicaSet (upstream scaleReplicaSet). */
  async scaleReplicaSet(
    rs: ReplicaSet,
    newScale: number,
    d: Deployment,
  ): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const oldScale = rs.spec?.replicas ?? 0;
    const sizeNeedsUpdate = oldScale !== newScale;
    const copy = structuredClone(rs);
    const annotationsChanged = setReplicasAnnotations(
      copy,
      specReplicas(d),
      specReplicas(d) + maxSurge(d),
    );
    if (!sizeNeedsUpdate && !annotationsChanged) return { scaled: false, rs };
    copy.spec = { ...copy.spec!, replicas: newScale };
    const out = this.#remember(
      await this.ctx.client.update<ReplicaSet>(R.replicasets, { ...copy, ...rsGVK }),
    );
    if (sizeNeedsUpdate) {
      const op = oldScale < newScale ? 'up' : 'down';
      this.ctx.recorder.event(
        { ...d, ...deploymentGVK } as KObject,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${op} replica set ${rs.metadata?.name} from ${oldScale} to ${newScale}`,
      );
    }
    return { scaled: sizeNeedsUpdate, rs: out };
  }

  /** scaleReplicaSet, skipped when the size is already right (upstream scaleReplicaSetAndRecordEvent). */
  async scaleReplicaSetAndRecordEvent(
    rs: ReplicaSet,
    newScale: number,
    d: Deployment,
  ): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    if ((rs.spec?.replicas ?? 0) === newScale) return { scaled: false, rs };
    return this.scaleReplicaSet(rs, newScale, d);
  }

  /** Scales RSs to a changed spec.replicas, proportionally during a rollout (upstream scale). */
  async scale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const replicas = specReplicas(d);
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if ((activeOrLatest.spec?.replicas ?? 0) === replicas) return;
      await this.scaleReplicaSetAndRecordEvent(activeOrLatest, replicas, d);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of filterActiveReplicaSets(oldRSs))
        await this.scaleReplicaSetAndRecordEvent(old, 0, d);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const allRSs = filterActiveReplicaSets([...oldRSs, newRS]);
    const allowedSize = replicas > 0 ? replicas + maxSurge(d) : 0;
    const toAdd = allowedSize - getReplicaCountForReplicaSets(allRSs);
    const size = (rs: ReplicaSet) => rs.spec?.replicas ?? 0;
    if (toAdd > 0) {
      // Larger first, newer first among equals (upstream ReplicaSetsBySizeNewer).
      allRSs.sort((a, b) => size(b) - size(a) || -byCreationTimestamp(a, b));
    } else if (toAdd < 0) {
      allRSs.sort((a, b) => size(b) - size(a) || byCreationTimestamp(a, b));
    }
    let added = 0;
    const nameToSize = new Map<string, number>();
    for (const rs of allRSs) {
      const proportion = toAdd !== 0 ? getProportion(rs, d, toAdd, added) : 0;
      nameToSize.set(rs.metadata?.name ?? '', size(rs) + proportion);
      added += proportion;
    }
    for (const [i, rs] of allRSs.entries()) {
      const name = rs.metadata?.name ?? '';
      // Leftovers from rounding go to the largest RS.
      if (i === 0 && toAdd !== 0)
        nameToSize.set(name, Math.max(0, (nameToSize.get(name) ?? 0) + toAdd - added));
      await this.scaleReplicaSet(rs, nameToSize.get(name) ?? 0, d);
    }
  }

  /** Deletes the oldest fully scaled-down RSs beyond revisionHistoryLimit (upstream cleanupDeployment). */
  async cleanupDeployment(oldRSs: readonly ReplicaSet[], d: Deployment): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreationTimestamp(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      // Never delete an RS that still has (or may still get) pods.
      if ((rs.status?.replicas ?? 0) !== 0 || (rs.spec?.replicas ?? 0) !== 0) continue;
      if ((rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.ctx.client.delete(
          R.replicasets,
          rs.metadata?.namespace,
          rs.metadata?.name ?? '',
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** True when spec.replicas changed since the active RSs were last scaled (upstream isScalingEvent). */
  async isScalingEvent(d: Deployment, rsList: readonly ReplicaSet[]): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    for (const rs of filterActiveReplicaSets([...oldRSs, newRS])) {
      const desired = rs.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'];
      if (desired === undefined) continue;
      if (Number(desired) !== specReplicas(d)) return true;
    }
    return false;
  }

  /** Scaling and status only, no rollout: paused Deployments and scaling events (upstream sync). */
  async sync(d: Deployment, rsList: readonly ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    await this.scale(d, newRS, oldRSs);
    if (d.spec?.paused) await this.cleanupDeployment(oldRSs, d);
    await syncDeploymentStatus(this, [...oldRSs, newRS], newRS, d);
  }
}

/** The only active RS, or the newest one when none is active (upstream FindActiveOrLatest). */
export function findActiveOrLatest(
  newRS: ReplicaSet | undefined,
  oldRSs: ReplicaSet[],
): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const sortedOld = [...oldRSs].sort((a, b) => -byCreationTimestamp(a, b));
  const active = filterActiveReplicaSets([...sortedOld, newRS]);
  if (active.length === 0) return newRS ?? sortedOld[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** How many replicas this RS gains or loses in a proportional scale (upstream GetProportion). */
export function getProportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  const size = rs.spec?.replicas ?? 0;
  if (size === 0 || toAdd === 0 || toAdd === added) return 0;
  let fraction: number;
  if (specReplicas(d) === 0) fraction = -size;
  else {
    const deploymentReplicas = specReplicas(d) + maxSurge(d);
    const annotated = Number(rs.metadata?.annotations?.[maxReplicasAnnotation] ?? Number.NaN);
    const base =
      Number.isInteger(annotated) && annotated > 0 ? annotated : (d.status?.replicas ?? 0);
    fraction = base > 0 ? Math.round((size * deploymentReplicas) / base) - size : 0;
  }
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}
