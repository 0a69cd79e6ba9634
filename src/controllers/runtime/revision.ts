// ControllerRevisions that version a pod template (StatefulSet and DaemonSet history): the data is
// the strategic-merge patch restoring the template, which `kubectl rollout undo` applies
// (kubernetes pkg/controller/history, statefulset getPatch, daemon getPatch).
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { R } from '../../client/resources.js';
import { isAlreadyExists, type KubeClient } from '../../client/rest.js';
import { canonicalJSON, computeHash } from './hash.js';
import { newControllerRef } from './owner.js';

/** Revision label with the template hash (upstream ControllerRevisionHashLabel). */
export const revisionHashLabel = 'controller.kubernetes.io/hash';

/** The template a revision records. */
export function revisionTemplate(rev: ControllerRevision): PodTemplateSpec | undefined {
  const data = rev.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  if (!data?.spec?.template) return undefined;
  const { $patch: _p, ...template } = data.spec.template;
  return template as PodTemplateSpec;
}

/** A revision named "<owner>-<hash>" of the owner's template, labelled like its pods. */
export function newRevision(
  owner: { metadata?: ObjectMeta; spec?: { template?: PodTemplateSpec } },
  opts: { gvk: { apiVersion: string; kind: string }; revision: number; collisionCount?: number },
): ControllerRevision {
  const template = owner.spec?.template ?? {};
  const hash = computeHash(template, opts.collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: `${owner.metadata?.name}-${hash}`,
      namespace: owner.metadata?.namespace,
      labels: { ...(template.metadata?.labels ?? {}), [revisionHashLabel]: hash },
      ownerReferences: [newControllerRef(owner, opts.gvk)],
    },
    data: { spec: { template: { ...structuredClone(template), $patch: 'replace' } } },
    revision: opts.revision,
  };
}

/**
 * The revision of the owner's current template among `history` (sorted oldest first), creating it
 * when missing; an older equal revision is renumbered as the newest, as a rollback does upstream
 * (controller history: FindEqualRevisions + UpdateControllerRevision).
 */
export async function ensureRevision(
  client: KubeClient,
  owner: { metadata?: ObjectMeta; spec?: { template?: PodTemplateSpec } },
  opts: {
    gvk: { apiVersion: string; kind: string };
    history: ControllerRevision[];
    collisionCount?: number;
  },
): Promise<ControllerRevision> {
  const { history } = opts;
  const maxRev = history.reduce((m, r) => Math.max(m, r.revision ?? 0), 0);
  const want = canonicalJSON(owner.spec?.template);
  const equal = history.find((r) => canonicalJSON(revisionTemplate(r)) === want);
  if (equal) {
    if ((equal.revision ?? 0) >= maxRev) return equal;
    return client.patch<ControllerRevision>(
      R.controllerrevisions,
      equal.metadata?.namespace,
      equal.metadata?.name ?? '',
      { revision: maxRev + 1 },
      { type: 'merge' },
    );
  }
  const rev = newRevision(owner, { ...opts, revision: maxRev + 1 });
  let created: ControllerRevision;
  try {
    created = await client.create<ControllerRevision>(R.controllerrevisions, rev);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    created = await client.get<ControllerRevision>(
      R.controllerrevisions,
      rev.metadata?.namespace,
      rev.metadata?.name ?? '',
    );
  }
  history.push(created);
  return created;
}
