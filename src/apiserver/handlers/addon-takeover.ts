// Skiff's built-in add-ons (the ingress controller, metrics-server) are created by `skiff up` under
// the names of their upstream manifests, so the seed's `kubectl create -f deploy.yaml` and
// `kubectl apply -f components.yaml` meet objects that already exist. An object `skiff up` made
// carries the add-on annotation and is a stand-in: a user's create, client-side apply or
// server-side apply of the same name replaces it wholesale (as if it had not existed) instead of
// failing with AlreadyExists or merging two manifests into one invalid object. The result is the
// user's object: no annotation, so later writes follow the ordinary rules.
import type { KObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import { isObject } from '../../lib/json.js';
import type { GenericStore, WriteOptions } from '../registry/generic/store.js';
import { StatusError } from '../status-error.js';

/** Annotation on the objects `skiff up` creates for a built-in add-on (value: the add-on). */
export const addonAnnotation = 'skiff.dev/addon';
/** kubectl's client-side apply annotation. */
export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/** True when obj is a built-in add-on object no user has taken over yet. */
export function isAddonStandIn(obj: KObject): boolean {
  return typeof obj.metadata?.annotations?.[addonAnnotation] === 'string';
}

/**
 * What a take-over keeps of the stand-in: its identity (uid, creation time, resourceVersion as the
 * precondition, generation so a Deployment's observedGeneration moves on) and the values the
 * Service registry allocated (a ClusterIP may not change on update).
 */
export function standInSkeleton(current: KObject): KObject {
  const m = current.metadata ?? {};
  const skeleton: KObject = {
    apiVersion: current.apiVersion,
    kind: current.kind,
    metadata: {
      name: m.name,
      ...(m.namespace ? { namespace: m.namespace } : {}),
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
    },
  };
  const spec = current['spec'];
  if (current.kind === 'Service' && isObject(spec)) {
    const kept: Record<string, unknown> = {};
    for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy'])
      if (spec[k] !== undefined) kept[k] = structuredClone(spec[k]);
    skeleton['spec'] = kept;
  }
  if (current.kind === 'Namespace' && isObject(spec)) skeleton['spec'] = structuredClone(spec);
  return skeleton;
}

/** The stand-in replaced by desired: desired's content with the stand-in's identity. */
export function takeOver(current: KObject, desired: KObject): KObject {
  const base = standInSkeleton(current);
  const out: KObject = { ...structuredClone(desired), metadata: { ...desired.metadata } };
  const meta = out.metadata!;
  for (const [k, v] of Object.entries(base.metadata ?? {})) {
    if (k !== 'name' && k !== 'namespace') (meta as Record<string, unknown>)[k] = v;
  }
  const spec = out['spec'];
  if (isObject(base['spec'])) {
    // The allocated address stays unless the user named one (then validation decides).
    out['spec'] = { ...base['spec'], ...(isObject(spec) ? spec : {}) };
  }
  if (meta.annotations) {
    const { [addonAnnotation]: _dropped, ...rest } = meta.annotations;
    meta.annotations = rest;
  }
  return out;
}

/**
 * The configuration a client-side `kubectl apply` patch means (its last-applied annotation), or
 * undefined when the patch is not one. kubectl computes its patch against the live object; for a
 * stand-in the user means "create this", which is the annotation's content.
 */
export function appliedConfiguration(patch: unknown): KObject | undefined {
  if (!isObject(patch) || !isObject(patch['metadata'])) return undefined;
  const annotations = patch['metadata']['annotations'];
  if (!isObject(annotations)) return undefined;
  const text = annotations[lastAppliedAnnotation];
  if (typeof text !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) return undefined;
    const obj = parsed as KObject;
    obj.metadata = {
      ...obj.metadata,
      annotations: { ...obj.metadata?.annotations, [lastAppliedAnnotation]: text },
    };
    return obj;
  } catch {
    return undefined;
  }
}

/**
 * POST: creates obj; when the name is held by a stand-in, replaces the stand-in instead of the
 * AlreadyExists an upstream API server would answer (a user's object of that name is still 409).
 */
export function createOrTakeOver(
  store: GenericStore,
  r: ResourceInfo,
  namespace: string | undefined,
  obj: KObject,
  opts: WriteOptions,
): KObject {
  try {
    // A clone: the failed create would leave its defaults and allocations (a new ClusterIP) in obj.
    return store.create(r, namespace, structuredClone(obj), opts);
  } catch (err) {
    const name = obj.metadata?.name;
    if (!(err instanceof StatusError && err.reason === 'AlreadyExists') || !name) throw err;
    let current: KObject;
    try {
      current = store.get(r, namespace, name);
    } catch {
      throw err;
    }
    if (!isAddonStandIn(current)) throw err;
    return store.guaranteedUpdate(
      r,
      namespace,
      name,
      (live) => {
        if (!isAddonStandIn(live)) throw err;
        return takeOver(live, obj);
      },
      opts,
    );
  }
}
