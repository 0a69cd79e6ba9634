// Server-side apply (application/apply-patch+yaml): create when absent, otherwise merge the applied
// configuration onto the live object and record the manager's Apply entry in managedFields.
// A simplified take on k8s.io/apiserver pkg/endpoints/handlers/fieldmanager (no conflict detection).
import type { KObject } from '../../client/rest.js';
import { badRequest, StatusError } from '../status-error.js';
import { isObject } from '../util.js';
import { checkSchema, type FieldValidation } from './body.js';
import type { ApiContext } from './context.js';
import { applyStrategicMergePatch } from './patch.js';
import type { ResourceRequest } from './rest.js';
import { checkKind } from './rest.js';
import { fieldsOf, metaOf, recordManager } from './store.js';

/** Outcome of an apply. */
export interface ApplyResult {
  obj: KObject;
  created: boolean;
  warnings: string[];
}

/** Applies a configuration for fieldManager. */
export function applyServerSide(
  ctx: ApiContext,
  rr: ResourceRequest,
  body: unknown,
  opts: {
    dryRun: boolean;
    fieldManager?: string;
    force: boolean;
    fieldValidation: FieldValidation;
    subresource?: string;
  },
): ApplyResult {
  const { r } = rr;
  const name = rr.name!;
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
  const store = ctx.store;
  const exists = store.backend.get(store.key(r, rr.namespace, name)) !== undefined;
  if (!exists && opts.subresource === undefined) {
    const obj = structuredClone(applied);
    metaOf(obj).name = name;
    recordManager(obj, manager, 'Apply', store.clock, fields);
    try {
      return {
        obj: store.create(r, rr.namespace, obj, { dryRun: opts.dryRun }),
        created: true,
        warnings,
      };
    } catch (err) {
      // Created concurrently: fall through to the merge path.
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    }
  }
  const obj = store.guaranteedUpdate(
    r,
    rr.namespace,
    name,
    (current) => {
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
      recordManager(merged, manager, 'Apply', store.clock, fields, opts.subresource);
      // Keep the old entry (and its timestamp) when only the timestamp would change, so that a
      // re-apply of the same configuration writes nothing.
      const prev = current.metadata?.managedFields?.find(
        (e) => e.manager === manager && e.operation === 'Apply',
      );
      if (prev && JSON.stringify(prev.fieldsV1) === JSON.stringify(fields)) {
        meta.managedFields = JSON.parse(before);
      }
      return merged;
    },
    { dryRun: opts.dryRun, subresource: opts.subresource },
  );
  return { obj, created: false, warnings };
}
