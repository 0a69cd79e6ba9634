// Server-side apply (application/apply-patch+yaml): create when absent, otherwise merge the applied
// configuration onto the live object with field ownership (k8s.io/apiserver pkg/endpoints/handlers/
// fieldmanager): changing another manager's field is a 409 unless forced, and a field this manager
// stopped applying is removed unless someone else owns it (registry/generic/field-sets.ts).
import type { KObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import { rfc3339 } from '../../api/time.js';
import { isObject } from '../../lib/json.js';
import {
  type ApplyConflict,
  deleteAt,
  formatPath,
  planApply,
} from '../registry/generic/field-sets.js';
import { metaOf } from '../registry/generic/store.js';
import { badRequest, StatusError } from '../status-error.js';
import { checkKind, checkSchema, type FieldValidation } from './body.js';
import type { ApiContext } from './context.js';
import { applyStrategicMergePatch } from './patch.js';

/** Outcome of an apply. */
export interface ApplyResult {
  obj: KObject;
  created: boolean;
  warnings: string[];
}

/**
 * Where an apply writes: the main resource (which it creates when absent) or a subresource
 * (updated only).
 */
export interface ApplyTarget {
  r: ResourceInfo;
  name: string;
  /** Present for the main resource: creates the object when it does not exist yet. */
  createIfAbsent?(obj: KObject): KObject | undefined;
  update(tryUpdate: (current: KObject) => KObject): KObject;
}

/**
 * The 409 of an apply that would change fields other managers own (upstream fieldmanager
 * NewConflictError): one cause per field, the message grouped by manager.
 */
function applyConflict(conflicts: ApplyConflict[]): StatusError {
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    message = `Apply failed with 1 conflict: conflict with ${c.manager}: ${formatPath(c.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), formatPath(c.path)]);
    }
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${m}:`, ...byManager.get(m)!.map((p) => `- ${p}`));
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError({
    reason: 'Conflict',
    code: 409,
    message,
    details: {
      causes: conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with ${c.manager}`,
        field: formatPath(c.path),
      })),
    },
  });
}

/** Applies a configuration for fieldManager. */
export function applyServerSide(
  ctx: ApiContext,
  target: ApplyTarget,
  body: unknown,
  opts: {
    fieldManager?: string;
    force: boolean;
    fieldValidation: FieldValidation;
    subresource?: string;
  },
): ApplyResult {
  const { r, name } = target;
  if (!opts.fieldManager) {
    throw badRequest(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  }
  const manager = opts.fieldManager;
  // An apply configuration must name its kind and version (upstream decodes it with the
  // universal decoder, then compares the version with the endpoint's).
  const given = isObject(body) ? body : {};
  if (typeof given['kind'] !== 'string' || given['kind'] === '') {
    throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
  }
  const groupVersion = r.group ? `${r.group}/${r.version}` : r.version;
  if (given['apiVersion'] !== groupVersion) {
    throw badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${String(given['apiVersion'] ?? '')}, expected: ${groupVersion}`,
    );
  }
  const applied = checkKind(r, body);
  const appliedName = applied.metadata?.name;
  if (appliedName !== undefined && appliedName !== name) {
    throw badRequest(
      `the name of the object (${appliedName}) does not match the name on the URL (${name})`,
    );
  }
  const warnings = checkSchema(ctx.registry, applied, { mode: opts.fieldValidation });
  const plan = (live: KObject) =>
    planApply(live, applied, {
      manager,
      kind: r.kind,
      time: rfc3339(ctx.store.clock.now()),
      subresource: opts.subresource,
    });
  if (target.createIfAbsent) {
    const obj = structuredClone(applied);
    metaOf(obj).name = name;
    metaOf(obj).managedFields = plan({ metadata: {} } as KObject).entries as never;
    try {
      const created = target.createIfAbsent(obj);
      if (created) return { obj: created, created: true, warnings };
    } catch (err) {
      // Created concurrently: fall through to the merge path.
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    }
  }
  const obj = target.update((current) => {
    const { conflicts, entries, removals } = plan(current);
    if (conflicts.length && !opts.force) throw applyConflict(conflicts);
    const { metadata: appliedMeta, ...appliedRest } = structuredClone(applied);
    const merged = applyStrategicMergePatch(current, appliedRest, r.kind) as KObject;
    const meta = metaOf(merged);
    const am = appliedMeta ?? {};
    if (am.labels) meta.labels = { ...(meta.labels ?? {}), ...am.labels };
    if (am.annotations) meta.annotations = { ...(meta.annotations ?? {}), ...am.annotations };
    if (am.finalizers)
      meta.finalizers = [...new Set([...(meta.finalizers ?? []), ...am.finalizers])];
    if (am.ownerReferences) meta.ownerReferences = am.ownerReferences;
    delete (meta as { resourceVersion?: string }).resourceVersion;
    if (am.resourceVersion)
      (meta as { resourceVersion?: string }).resourceVersion = am.resourceVersion;
    // Fields this manager applied before and no longer does, and nobody else owns, go.
    for (const p of removals) deleteAt(merged, p);
    meta.managedFields = entries as never;
    return merged;
  });
  return { obj, created: false, warnings };
}
