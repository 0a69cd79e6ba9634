// Generic REST verbs for every resource in the table: get, list, watch, create, update, patch,
// delete, deletecollection (follows k8s.io/apiserver pkg/endpoints/handlers/{get,create,update,
// patch,delete}.go), and subresource requests dispatched by the resource's subresource table in
// the registry (as installer.go registers each storage's paths).

import type http from 'node:http';
import type { KObject } from '../../api/object.js';
import { queryBool } from '../../api/query.js';
import type { ResourceInfo } from '../../api/resources.js';
import { isObject } from '../../lib/json.js';
import { negotiate, type Rendering, sendObject, successStatus } from '../http.js';
import type { DeleteOptions, GenericStore, ListParams } from '../registry/generic/store.js';
import type { SubresourceRequest } from '../registry/storage.js';
import { parseFieldSelector, parseLabelSelector } from '../selectors.js';
import { badRequest, methodNotAllowed, notFound, StatusError } from '../status-error.js';
import { createOrTakeOver } from './addon-takeover.js';
import {
  checkKind,
  checkSchema,
  parseFieldValidation,
  readObjectBody,
  readOptionalJson,
  warningHeaders,
} from './body.js';
import type { ApiContext, UserInfo } from './context.js';
import { buildTable, type IncludeObject, partialObjectMetadata } from './table.js';
import { serveWatch } from './watch.js';
import { handlePatch, handleUpdate, isDryRun, type WriteTarget } from './write.js';

/** A parsed resource request. */
export interface ResourceRequest {
  r: ResourceInfo;
  /** The authenticated caller. */
  user: UserInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
  isWatchPath: boolean;
}

/**
 * Parses list/watch parameters; bad selectors, field labels the resource does not support and
 * malformed resourceVersions are 400 BadRequest.
 */
export function listParams(store: GenericStore, rr: ResourceRequest): ListParams {
  const q = rr.query;
  let params: ListParams;
  try {
    params = {
      namespace: rr.namespace,
      labelSelector: parseLabelSelector(q.get('labelSelector')),
      fieldSelector: parseFieldSelector(q.get('fieldSelector')),
      resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
    };
  } catch (err) {
    throw badRequest(err instanceof Error ? err.message : String(err));
  }
  const labels = store.fieldLabels(rr.r);
  for (const f of params.fieldSelector ?? []) {
    if (!labels.has(f.field)) throw badRequest(`field label not supported: ${f.field}`);
  }
  params.resourceVersion = parseResourceVersion(q.get('resourceVersion'));
  return params;
}

const maxUint64 = 2n ** 64n - 1n;

/**
 * Validates a resourceVersion parameter as upstream's versioner parses it (a base-10 uint64);
 * undefined when absent.
 */
export function parseResourceVersion(rv: string | null): string | undefined {
  if (rv === null || rv === '') return undefined;
  let problem: string | undefined;
  if (!/^[0-9]+$/.test(rv)) problem = 'invalid syntax';
  else if (BigInt(rv) > maxUint64) problem = 'value out of range';
  if (problem === undefined) return rv;
  const quoted = JSON.stringify(rv);
  throw badRequest(
    `invalid resource version: resourceVersion: Invalid value: ${quoted}: strconv.ParseUint: parsing ${quoted}: ${problem}`,
  );
}

/** The watch parameters shared by collection and single-object watches. */
function watchQuery(q: URLSearchParams): {
  allowWatchBookmarks: boolean;
  timeoutSeconds: number | undefined;
} {
  return {
    allowWatchBookmarks: queryBool(q, 'allowWatchBookmarks'),
    timeoutSeconds: timeoutSecondsOf(q),
  };
}

/** The timeoutSeconds of a watch (an int64 query parameter); 400 when malformed. */
function timeoutSecondsOf(q: URLSearchParams): number | undefined {
  const v = q.get('timeoutSeconds');
  if (v === null || v === '') return undefined;
  if (!/^[+-]?[0-9]+$/.test(v)) {
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
  return Number(v);
}

function includeObjectOf(q: URLSearchParams): IncludeObject | undefined {
  const v = q.get('includeObject');
  if (v === null) return undefined;
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`includeObject parameter unsupported: ${v}`);
}

/** Renders one object as JSON/YAML, a one-row Table, or PartialObjectMetadata. */
function renderObject(
  ctx: ApiContext,
  rr: ResourceRequest,
  rendering: Rendering,
  obj: KObject,
): unknown {
  if (rendering.kind === 'table') {
    return buildTable({
      printer: ctx.store.strategy(rr.r).table,
      objects: [obj],
      now: ctx.store.clock.now(),
      version: rendering.version,
      resourceVersion: obj.metadata?.resourceVersion,
      includeObject: includeObjectOf(rr.query),
    });
  }
  if (rendering.kind === 'partial') return partialObjectMetadata(obj, rendering.version);
  return obj;
}

/** Serves one resource request. */
export async function handleResource(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rr: ResourceRequest,
): Promise<void> {
  if (rr.subresource !== undefined) {
    await handleSubresource(ctx, req, res, { ...rr, name: rr.name!, subresource: rr.subresource });
    return;
  }
  const method = req.method ?? 'GET';
  const q = rr.query;
  const store = ctx.store;
  const { r } = rr;
  const virtualCreate = ctx.registry.storageFor(r).create;
  if (virtualCreate) {
    // Computed, never stored (reviews): POST to the collection only.
    if (method !== 'POST' || rr.name !== undefined) throw methodNotAllowed();
    const rendering = negotiate(req.headers.accept, { allowTable: false });
    const body = await readObjectBody(req, ctx.loadProtobuf);
    const obj = checkKind(r, body.value);
    sendObject(res, 201, virtualCreate(ctx, { r, body: obj, user: rr.user }), rendering);
    return;
  }
  if (method === 'GET' && (rr.isWatchPath || queryBool(q, 'watch'))) {
    const params = listParams(store, rr);
    // A watch of one object is the collection's watch narrowed to its name.
    if (rr.name !== undefined) {
      params.fieldSelector = [
        ...(params.fieldSelector ?? []),
        { field: 'metadata.name', op: 'eq', value: rr.name },
      ];
    }
    const rendering = negotiate(req.headers.accept, { allowTable: true });
    const w = { r, params, rendering, ...watchQuery(q), includeObject: includeObjectOf(q) };
    serveWatch(store, req, res, w, ctx.trackWatch);
    return;
  }
  if (rr.name === undefined) {
    if (method === 'GET') {
      const rendering = negotiate(req.headers.accept, { allowTable: true });
      const params = listParams(store, rr);
      const list = store.list(r, params);
      sendObject(
        res,
        200,
        renderList(ctx, rr, rendering, list.items, list.resourceVersion),
        rendering,
      );
      return;
    }
    if (method === 'POST') {
      const rendering = negotiate(req.headers.accept, { allowTable: false });
      const body = await readObjectBody(req, ctx.loadProtobuf);
      const obj = checkKind(r, body.value);
      const warnings = checkSchema(ctx.registry, obj, {
        mode: parseFieldValidation(q.get('fieldValidation')),
        isProtobuf: body.mediaType === 'application/vnd.kubernetes.protobuf',
        isWholeObject: true,
      });
      const created = createOrTakeOver(store, r, rr.namespace, obj, {
        dryRun: isDryRun(q),
        fieldManager: q.get('fieldManager') ?? undefined,
      });
      if (warnings.length) res.setHeader('Warning', warningHeaders(warnings));
      sendObject(res, 201, created, rendering);
      return;
    }
    if (method === 'DELETE') {
      const rendering = negotiate(req.headers.accept, { allowTable: false });
      const opts = await deleteOptions(req, q);
      const params = listParams(store, rr);
      const list = store.list(r, params);
      const items: KObject[] = [];
      for (const obj of list.items) {
        try {
          items.push(store.delete(r, obj.metadata?.namespace, obj.metadata?.name ?? '', opts).obj);
        } catch (err) {
          // Deleted concurrently: deletecollection skips it, as upstream does.
          if (!(err instanceof StatusError && err.code === 404)) throw err;
        }
      }
      const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
      sendObject(res, 200, { kind: `${r.kind}List`, apiVersion, metadata: {}, items }, rendering);
      return;
    }
    throw methodNotAllowed();
  }
  const name = rr.name;
  if (method === 'GET') {
    const rendering = negotiate(req.headers.accept, { allowTable: true });
    // GET honours resourceVersion as a minimum (etcd3 store Get): malformed is 400, future 504.
    store.checkMinimumResourceVersion(parseResourceVersion(q.get('resourceVersion')));
    const obj = store.get(r, rr.namespace, name);
    sendObject(res, 200, renderObject(ctx, rr, rendering, obj), rendering);
    return;
  }
  if (method === 'PUT' || method === 'PATCH') {
    const target: WriteTarget = {
      r,
      name,
      isParentKind: true,
      update: (tryUpdate, opts) => store.guaranteedUpdate(r, rr.namespace, name, tryUpdate, opts),
      createIfAbsent: (obj, opts) =>
        store.backend.get(store.key(r, rr.namespace, name))
          ? undefined
          : store.create(r, rr.namespace, obj, opts),
    };
    if (method === 'PUT') await handleUpdate(ctx, req, res, q, target);
    else await handlePatch(ctx, req, res, q, target);
    return;
  }
  if (method === 'DELETE') {
    const rendering = negotiate(req.headers.accept, { allowTable: false });
    const opts = await deleteOptions(req, q);
    const { obj, deleted } = store.delete(r, rr.namespace, name, opts);
    // Kinds answer a Status once the object is gone, unless their strategy says otherwise (pods).
    if (deleted && !store.strategy(r).returnDeletedObject) {
      sendObject(
        res,
        200,
        successStatus({
          name,
          group: r.group || undefined,
          kind: r.resource,
          uid: obj.metadata?.uid,
        }),
        rendering,
      );
    } else sendObject(res, 200, obj, rendering);
    return;
  }
  throw methodNotAllowed();
}

function renderList(
  ctx: ApiContext,
  rr: ResourceRequest,
  rendering: Rendering,
  items: KObject[],
  resourceVersion: string,
): unknown {
  const { r } = rr;
  if (rendering.kind === 'table') {
    return buildTable({
      printer: ctx.store.strategy(r).table,
      objects: items,
      now: ctx.store.clock.now(),
      version: rendering.version,
      resourceVersion,
      includeObject: includeObjectOf(rr.query),
    });
  }
  if (rendering.kind === 'partial') {
    return {
      kind: 'PartialObjectMetadataList',
      apiVersion: `meta.k8s.io/${rendering.version}`,
      metadata: { resourceVersion },
      items: items.map((o) => partialObjectMetadata(o, rendering.version)),
    };
  }
  const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
  return { kind: `${r.kind}List`, apiVersion, metadata: { resourceVersion }, items };
}

/** DeleteOptions from the body and/or the query. */
async function deleteOptions(
  req: http.IncomingMessage,
  q: URLSearchParams,
): Promise<DeleteOptions> {
  const body = await readOptionalJson(req);
  const b = isObject(body) ? body : {};
  const opts: DeleteOptions = {};
  const policy = q.get('propagationPolicy') ?? b['propagationPolicy'];
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
      throw badRequest(`propagationPolicy: Unsupported value: "${String(policy)}"`);
    }
    opts.propagationPolicy = policy;
  }
  const orphan = q.has('orphanDependents')
    ? queryBool(q, 'orphanDependents')
    : b['orphanDependents'] === true;
  if (opts.propagationPolicy === undefined && orphan) {
    opts.propagationPolicy = 'Orphan';
  }
  const grace = q.get('gracePeriodSeconds') ?? b['gracePeriodSeconds'];
  if (grace !== undefined && grace !== null) opts.gracePeriodSeconds = Number(grace);
  if (isObject(b['preconditions']))
    opts.preconditions = b['preconditions'] as DeleteOptions['preconditions'];
  const dry = Array.isArray(b['dryRun']) && b['dryRun'].includes('All');
  opts.dryRun = dry || isDryRun(q);
  return opts;
}

/**
 * Serves a subresource request by the resource's subresource table: 404 for a subresource the
 * resource does not have, 405 for a verb its storage does not implement.
 */
async function handleSubresource(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  sr: SubresourceRequest,
): Promise<void> {
  const { r, name } = sr;
  const storage = ctx.registry.storageFor(r).subresources[sr.subresource];
  if (!storage) throw notFound(r, name);
  const method = req.method ?? 'GET';
  if (storage.connect) {
    await storage.connect(ctx, req, res, sr);
    return;
  }
  const q = sr.query;
  if (method === 'GET' && storage.get) {
    const rendering = negotiate(req.headers.accept, { allowTable: false });
    sendObject(res, 200, storage.get(ctx, sr), rendering);
    return;
  }
  if (method === 'POST' && storage.create) {
    const rendering = negotiate(req.headers.accept, { allowTable: false });
    const body = await readObjectBody(req, ctx.loadProtobuf);
    const created = await storage.create(ctx, sr, body.value, { dryRun: isDryRun(q) });
    sendObject(res, 201, created, rendering);
    return;
  }
  const update = storage.update;
  if ((method === 'PUT' || method === 'PATCH') && update) {
    const target: WriteTarget = {
      r,
      name,
      isParentKind: storage.kind === 'self',
      patchKind: typeof storage.kind === 'object' ? storage.kind.kind : undefined,
      subresource: sr.subresource,
      update: (tryUpdate, opts) => update(ctx, sr, tryUpdate, opts),
    };
    if (method === 'PUT') await handleUpdate(ctx, req, res, q, target);
    else await handlePatch(ctx, req, res, q, target);
    return;
  }
  throw methodNotAllowed();
}
