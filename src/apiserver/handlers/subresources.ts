// Subresources: status, scale (autoscaling/v1 Scale), namespaces/finalize, pods/binding,
// pods/eviction, serviceaccounts/token, and pods/log|exec proxied to the node agent
// (follows kubernetes pkg/registry/*/storage: StatusREST, ScaleREST, BindingREST, TokenREST).
import type http from 'node:http';
import type { KObject } from '../../client/rest.js';
import { negotiate, sendObject } from '../http.js';
import { proxyPodExec, proxyPodLog } from '../node-proxy.js';
import type { ScaleAdapter } from '../registry/types.js';
import {
  badRequest,
  conflict,
  methodNotAllowed,
  notFound,
  StatusError,
  serviceUnavailable,
} from '../status-error.js';
import { isObject, rfc3339 } from '../util.js';
import {
  checkSchema,
  parseFieldValidation,
  readObjectBody,
  readPatchBody,
  warningHeaders,
} from './body.js';
import type { ApiContext } from './context.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { checkKind, handlePatch, type ResourceRequest } from './rest.js';
import { metaOf } from './store.js';

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

/** Serves a subresource request. */
export async function handleSubresource(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rr: ResourceRequest,
): Promise<void> {
  const { r } = rr;
  const sub = rr.subresource!;
  const name = rr.name!;
  const method = req.method ?? 'GET';
  const isCorePods = r.group === '' && r.resource === 'pods';
  if (isCorePods && sub === 'log' && method === 'GET') {
    await proxyPodLog(ctx, req, res, rr);
    return;
  }
  if (isCorePods && sub === 'exec' && (method === 'GET' || method === 'POST')) {
    await proxyPodExec(ctx, req, res, rr);
    return;
  }
  if (
    !r.subresources.includes(sub as never) &&
    !(sub === 'finalize' && r.resource === 'namespaces') &&
    !(sub === 'token' && r.resource === 'serviceaccounts')
  ) {
    throw notFound(r, name);
  }
  const store = ctx.store;
  const rendering = () => negotiate(req.headers.accept, { allowTable: false });
  const dryRun = rr.query.getAll('dryRun').includes('All');
  switch (sub) {
    case 'status':
      if (method === 'GET') {
        sendObject(res, 200, store.get(r, rr.namespace, name), rendering());
        return;
      }
      if (method === 'PUT') {
        const body = await readObjectBody(req, ctx.loadProtobuf);
        const obj = checkKind(r, body.value);
        const warnings = checkSchema(ctx.registry, obj, {
          mode: parseFieldValidation(rr.query.get('fieldValidation')),
          isProtobuf: body.mediaType === 'application/vnd.kubernetes.protobuf',
          isWholeObject: true,
        });
        const updated = store.guaranteedUpdate(r, rr.namespace, name, () => obj, {
          dryRun,
          subresource: 'status',
        });
        if (warnings.length) res.setHeader('Warning', warningHeaders(warnings));
        sendObject(res, 200, updated, rendering());
        return;
      }
      if (method === 'PATCH') {
        await handlePatch(ctx, req, res, rr, 'status');
        return;
      }
      throw methodNotAllowed();
    case 'finalize':
      if (method !== 'PUT') throw methodNotAllowed();
      {
        const body = await readObjectBody(req, ctx.loadProtobuf);
        const obj = checkKind(r, body.value);
        checkSchema(ctx.registry, obj, { mode: 'Ignore', isWholeObject: true });
        const updated = store.guaranteedUpdate(r, rr.namespace, name, () => obj, {
          dryRun,
          subresource: 'finalize',
        });
        sendObject(res, 200, updated, rendering());
      }
      return;
    case 'scale':
      await handleScale(ctx, req, res, rr, store.strategy(r).scale ?? defaultScale, dryRun);
      return;
    case 'binding':
      if (method !== 'POST') throw methodNotAllowed();
      await handleBinding(ctx, req, res, rr, dryRun);
      return;
    case 'eviction':
      if (method !== 'POST') throw methodNotAllowed();
      await readObjectBody(req, ctx.loadProtobuf);
      store.delete(r, rr.namespace, name, { dryRun });
      sendObject(res, 201, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        code: 201,
      });
      return;
    case 'token':
      if (method !== 'POST') throw methodNotAllowed();
      await handleTokenRequest(ctx, req, res, rr);
      return;
    default:
      throw methodNotAllowed();
  }
}

async function handleScale(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rr: ResourceRequest,
  adapter: ScaleAdapter,
  dryRun: boolean,
): Promise<void> {
  const { r } = rr;
  const name = rr.name!;
  const store = ctx.store;
  const method = req.method ?? 'GET';
  const rendering = negotiate(req.headers.accept, { allowTable: false });
  if (method === 'GET') {
    sendObject(res, 200, toScale(adapter, store.get(r, rr.namespace, name)), rendering);
    return;
  }
  let computeScale: (current: KObject) => KObject;
  if (method === 'PUT') {
    const body = await readObjectBody(req, ctx.loadProtobuf);
    const scale = body.value as KObject;
    computeScale = () => scale;
  } else if (method === 'PATCH') {
    const body = await readPatchBody(req);
    computeScale = (currentScale) => {
      switch (body.mediaType) {
        case 'application/json-patch+json':
          return applyJsonPatch(currentScale, body.value) as KObject;
        case 'application/merge-patch+json':
          return applyMergePatch(currentScale, body.value) as KObject;
        case 'application/strategic-merge-patch+json':
          return applyStrategicMergePatch(currentScale, body.value, 'Scale') as KObject;
        default:
          throw methodNotAllowed();
      }
    };
  } else throw methodNotAllowed();
  const updated = store.guaranteedUpdate(
    r,
    rr.namespace,
    name,
    (current) => {
      const currentScale = toScale(adapter, current);
      const scale = computeScale(currentScale);
      const spec = isObject(scale['spec']) ? scale['spec'] : {};
      const replicas = spec['replicas'];
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        throw new StatusError({
          reason: 'Invalid',
          code: 422,
          message: `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${String(replicas)}: must be greater than or equal to 0`,
          details: {
            name,
            group: 'autoscaling',
            kind: 'Scale',
            causes: [
              { reason: 'FieldValueInvalid', message: 'Invalid value', field: 'spec.replicas' },
            ],
          },
        });
      }
      const rv = scale.metadata?.resourceVersion;
      if (rv && rv !== current.metadata?.resourceVersion) throw conflict(r, name);
      const next = adapter.withReplicas(current, replicas);
      delete metaOf(next).resourceVersion;
      return next;
    },
    { dryRun, fieldManager: rr.query.get('fieldManager') ?? undefined },
  );
  sendObject(res, 200, toScale(adapter, updated), rendering);
}

async function handleBinding(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rr: ResourceRequest,
  dryRun: boolean,
): Promise<void> {
  const body = await readObjectBody(req, ctx.loadProtobuf);
  const binding = isObject(body.value) ? body.value : {};
  const target = isObject(binding['target']) ? binding['target'] : {};
  const nodeName = target['name'];
  if (typeof nodeName !== 'string' || nodeName === '') {
    throw new StatusError({
      reason: 'Invalid',
      code: 422,
      message: `Binding "${rr.name}" is invalid: target.name: Required value`,
      details: {
        name: rr.name,
        kind: 'Binding',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }],
      },
    });
  }
  const name = rr.name!;
  ctx.store.guaranteedUpdate(
    rr.r,
    rr.namespace,
    name,
    (pod) => {
      if (pod.metadata?.deletionTimestamp) {
        throw conflict(rr.r, name, 'pod is being deleted, cannot be assigned to a host');
      }
      const spec = isObject(pod['spec']) ? pod['spec'] : {};
      if (spec['nodeName']) {
        throw conflict(
          rr.r,
          name,
          `pod ${name} is already assigned to node "${String(spec['nodeName'])}"`,
        );
      }
      spec['nodeName'] = nodeName;
      pod['spec'] = spec;
      const status = isObject(pod['status']) ? pod['status'] : {};
      const conditions = Array.isArray(status['conditions'])
        ? status['conditions'].filter((c) => !(isObject(c) && c['type'] === 'PodScheduled'))
        : [];
      conditions.push({
        type: 'PodScheduled',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: rfc3339(ctx.store.clock),
      });
      status['conditions'] = conditions;
      pod['status'] = status;
      return pod;
    },
    { dryRun, subresource: 'binding' },
  );
  sendObject(res, 201, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    code: 201,
  });
}

async function handleTokenRequest(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rr: ResourceRequest,
): Promise<void> {
  const body = await readObjectBody(req, ctx.loadProtobuf);
  const tr = isObject(body.value) ? body.value : {};
  const spec = isObject(tr['spec']) ? tr['spec'] : {};
  const sa = ctx.store.get(rr.r, rr.namespace, rr.name!);
  if (!ctx.serviceAccountIssuer) {
    throw serviceUnavailable('the service account token issuer is not configured');
  }
  const expirationSeconds =
    typeof spec['expirationSeconds'] === 'number' ? spec['expirationSeconds'] : 3600;
  if (expirationSeconds < 600) {
    throw badRequest(
      'spec.expirationSeconds: Invalid value: ' +
        expirationSeconds +
        ': may not specify a duration less than 10 minutes',
    );
  }
  const issued = await ctx.serviceAccountIssuer({
    namespace: rr.namespace ?? '',
    name: rr.name!,
    uid: sa.metadata?.uid ?? '',
    audiences: Array.isArray(spec['audiences']) ? (spec['audiences'] as string[]) : undefined,
    expirationSeconds,
    boundObjectRef: isObject(spec['boundObjectRef'])
      ? (spec['boundObjectRef'] as never)
      : undefined,
  });
  sendObject(res, 201, {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: rr.name, namespace: rr.namespace, creationTimestamp: null },
    spec: { ...spec, expirationSeconds },
    status: issued,
  });
}
