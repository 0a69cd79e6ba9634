// Server-side apply (application/apply-patch+yaml): create when absent, otherwise merge the applied
// configuration onto the live object and record the manager's Apply entry in managedFields.
// A simplified take on k8s.io/apiserver pkg/endpoints/handlers/fieldmanager (no conflict detection).
import type { KObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import { isObject } from '../../lib/json.js';
import { fieldsOf, metaOf, recordManager } from '../registry/generic/store.js';
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
  const fields = fieldsOf(applied);
  const clock = ctx.store.clock;
  if (target.createIfAbsent) {
    const obj = structuredClone(applied);
    metaOf(obj).name = name;
    recordManager(obj, manager, 'Apply', clock, fields);
    try {
      const created = target.createIfAbsent(obj);
      if (created) return { obj: created, created: true, warnings };
    } catch (err) {
      // Created concurrently: fall through to the merge path.
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    }
  }
  const obj = target.update((current) => {
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
    const before = JSON.stringify(current.metadata?.managedFields ?? []);
    recordManager(merged, manager, 'Apply', clock, fields, opts.subresource);
    // Keep the old entry (and its timestamp) when only the timestamp would change, so that a
    // re-apply of the same configuration writes nothing.
    const prev = current.metadata?.managedFields?.find(
      (e) => e.manager === manager && e.operation === 'Apply',
    );
    if (prev && JSON.stringify(prev.fieldsV1) === JSON.stringify(fields)) {
      meta.managedFields = JSON.parse(before);
    }
    return merged;
  });
  return { obj, created: false, warnings };
}
