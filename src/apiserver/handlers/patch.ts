// Patch application: JSON patch (RFC 6902, fast-json-patch), JSON merge patch (RFC 7386) and
// strategic merge patch with the built-in types' merge keys (follows k8s.io/apimachinery
// pkg/util/strategicpatch/patch.go and the patchMergeKey tags of k8s.io/api).
import fastJsonPatch from 'fast-json-patch';
import { isObject } from '../../lib/json.js';
import { StatusError } from '../status-error.js';

/** Applies an RFC 6902 JSON patch to a copy of doc. */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch))
    throw patchInvalid('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    return fastJsonPatch.applyPatch(
      structuredClone(doc),
      patch as fastJsonPatch.Operation[],
      true,
      false,
    ).newDocument;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    throw patchInvalid(msg);
  }
}

function patchInvalid(message: string): StatusError {
  return new StatusError({ reason: 'Invalid', code: 422, message, details: {} });
}

/** Applies an RFC 7386 JSON merge patch: null deletes, objects merge, everything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/**
 * The merge key of a list field, by field name and (where names are ambiguous) the path above it;
 * undefined for lists that are replaced atomically. Primitive lists merged as sets return '$set'.
 */
export function mergeKeyFor(path: readonly string[], kind: string | undefined): string | undefined {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
    case 'resourceClaims':
    case 'schedulingGates':
      return 'name';
    case 'ports':
      // Service ports merge by port; container ports by containerPort.
      if (kind === 'Service' && parent === 'spec' && path.length === 2) return 'port';
      return path.some((p) => p === 'containers' || p === 'initContainers')
        ? 'containerPort'
        : undefined;
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'finalizers':
      return parent === 'metadata' ? '$set' : undefined;
    default:
      return undefined;
  }
}

const directivePrefixes = ['$setElementOrder/', '$deleteFromPrimitiveList/', '$retainKeys'];

/** Applies a strategic merge patch to original (the object's kind picks ambiguous merge keys). */
export function applyStrategicMergePatch(
  original: unknown,
  patch: unknown,
  kind?: string,
): unknown {
  if (!isObject(patch))
    throw new StatusError({ reason: 'BadRequest', code: 400, message: 'invalid JSON document' });
  return mergeMap(isObject(original) ? original : {}, patch, [], kind);
}

function mergeMap(
  original: Record<string, unknown>,
  patch: Record<string, unknown>,
  path: string[],
  kind: string | undefined,
): Record<string, unknown> {
  const directive = patch['$patch'];
  if (
    directive !== undefined &&
    directive !== 'replace' &&
    directive !== 'merge' &&
    directive !== 'delete'
  ) {
    // mergepatch.ErrBadPatchType
    throw new StatusError({
      reason: 'BadRequest',
      code: 400,
      message: `unknown patch type: ${String(directive)} in map: ${JSON.stringify(patch)}`,
    });
  }
  if (directive === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest) as Record<string, unknown>;
  }
  let out: Record<string, unknown> = { ...original };
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    const keep = new Set(retain.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) {
        out[field] = cur.filter((x) => !v.some((d) => d === x));
      }
      continue;
    }
    const childPath = [...path, k];
    if (v === null) {
      delete out[k];
    } else if (isObject(v)) {
      if (v['$patch'] === 'delete') delete out[k];
      else
        out[k] = mergeMap(
          isObject(out[k]) ? (out[k] as Record<string, unknown>) : {},
          v,
          childPath,
          kind,
        );
    } else if (Array.isArray(v)) {
      out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as unknown[]) : [], v, childPath, kind);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function mergeList(
  original: unknown[],
  patch: unknown[],
  path: string[],
  kind: string | undefined,
): unknown[] {
  const key = mergeKeyFor(path, kind);
  // A {"$patch":"replace"} element replaces the whole list with the other elements.
  if (patch.some((e) => isObject(e) && e['$patch'] === 'replace')) {
    return patch.filter((e) => !(isObject(e) && e['$patch'] === 'replace')).map(stripDirectives);
  }
  if (key === undefined) return patch.map(stripDirectives);
  if (key === '$set') {
    const out = [...original];
    for (const e of patch) if (!out.some((x) => x === e)) out.push(e);
    return out;
  }
  const out = [...original];
  for (const e of patch) {
    if (!isObject(e)) {
      out.push(e);
      continue;
    }
    const idx = out.findIndex((x) => isObject(x) && x[key] === e[key]);
    if (e['$patch'] === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = mergeMap(out[idx] as Record<string, unknown>, e, path, kind);
    else out.push(stripDirectives(e));
  }
  return out;
}

/** Removes patch directives from a value that is inserted as-is. */
function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$patch' || directivePrefixes.some((p) => k.startsWith(p))) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}
