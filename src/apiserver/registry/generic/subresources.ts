// The subresource storages most kinds share: status (StatusREST: the object, writing only
// .status) and scale (ScaleREST: an autoscaling/v1 Scale view of spec/status replicas). Follows
// kubernetes pkg/registry/apps/deployment/storage/storage.go StatusREST and ScaleREST.
import type { KObject } from '../../../api/object.js';
import { isObject } from '../../../lib/json.js';
import { conflict, StatusError } from '../../status-error.js';
import type { SubresourceStorage } from '../storage.js';
import type { ScaleAdapter } from '../types.js';
import { metaOf } from './store.js';

/** The status subresource: GET the object, PUT/PATCH its status only. */
export const statusSubresource: SubresourceStorage = {
  kind: 'self',
  verbs: ['get', 'patch', 'update'],
  get: (ctx, sr) => ctx.store.get(sr.r, sr.namespace, sr.name),
  update: (ctx, sr, tryUpdate, opts) =>
    ctx.store.guaranteedUpdate(sr.r, sr.namespace, sr.name, tryUpdate, {
      ...opts,
      subresource: 'status',
    }),
};

/** Scale adapter for kinds whose strategy has none: spec.replicas, status.replicas, spec.selector. */
const defaultScale: ScaleAdapter = {
  specReplicas: (obj) => {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    return typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  },
  status: (obj) => {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    const status = isObject(obj['status']) ? obj['status'] : {};
    const sel = isObject(spec['selector']) ? spec['selector'] : {};
    const ml = isObject(sel['matchLabels'])
      ? sel['matchLabels']
      : isObject(spec['selector']) && !sel['matchLabels'] && !sel['matchExpressions']
        ? sel
        : {};
    const selector = Object.entries(ml)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
    return { replicas: typeof status['replicas'] === 'number' ? status['replicas'] : 0, selector };
  },
  withReplicas: (obj, replicas) => ({
    ...obj,
    spec: { ...(isObject(obj['spec']) ? obj['spec'] : {}), replicas },
  }),
};

function toScale(adapter: ScaleAdapter, obj: KObject): KObject {
  const m = obj.metadata ?? {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: adapter.specReplicas(obj) },
    status: adapter.status(obj),
  };
}

/** Upstream's Invalid for a negative or non-integer Scale spec.replicas. */
function invalidReplicas(name: string, replicas: unknown): StatusError {
  return new StatusError({
    reason: 'Invalid',
    code: 422,
    message: `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${String(replicas)}: must be greater than or equal to 0`,
    details: {
      name,
      group: 'autoscaling',
      kind: 'Scale',
      causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value', field: 'spec.replicas' }],
    },
  });
}

/** The scale subresource, through the strategy's ScaleAdapter (spec.replicas by default). */
export const scaleSubresource: SubresourceStorage = {
  kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  verbs: ['get', 'patch', 'update'],
  get(ctx, sr) {
    const adapter = ctx.store.strategy(sr.r).scale ?? defaultScale;
    return toScale(adapter, ctx.store.get(sr.r, sr.namespace, sr.name));
  },
  update(ctx, sr, tryUpdate, opts) {
    const { r, name } = sr;
    const adapter = ctx.store.strategy(r).scale ?? defaultScale;
    const updated = ctx.store.guaranteedUpdate(
      r,
      sr.namespace,
      name,
      (current) => {
        const scale = tryUpdate(toScale(adapter, current));
        const spec = isObject(scale['spec']) ? scale['spec'] : {};
        const replicas = spec['replicas'];
        if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
          throw invalidReplicas(name, replicas);
        }
        const rv = scale.metadata?.resourceVersion;
        if (rv && rv !== current.metadata?.resourceVersion) throw conflict(r, name);
        const next = adapter.withReplicas(current, replicas);
        delete metaOf(next).resourceVersion;
        return next;
      },
      opts,
    );
    return toScale(adapter, updated);
  },
};
