// PUT and PATCH of an object or of a subresource view of it (follows k8s.io/apiserver
// pkg/endpoints/handlers/update.go and patch.go): decode, check, patch or apply, then write
// through the target's update, which is the generic store or the subresource's storage.

import type http from 'node:http';
import type { KObject } from '../../api/object.js';
import { queryBool } from '../../api/query.js';
import type { ResourceInfo } from '../../api/resources.js';
import { negotiate, sendObject } from '../http.js';
import type { WriteOptions } from '../registry/generic/store.js';
import { badRequest, methodNotAllowed } from '../status-error.js';
import {
  appliedConfiguration,
  isAddonStandIn,
  standInSkeleton,
  takeOver,
} from './addon-takeover.js';
import { applyServerSide } from './apply.js';
import {
  checkKind,
  checkNestingDepth,
  checkSchema,
  parseFieldValidation,
  readObjectBody,
  readPatchBody,
  warningHeaders,
} from './body.js';
import type { ApiContext } from './context.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';

/** What a PUT or PATCH writes to. */
export interface WriteTarget {
  r: ResourceInfo;
  name: string;
  /**
   * The body is an object of r's kind (the main resource, status, finalize): it is kind- and
   * schema-checked and may be applied; otherwise it is the subresource's own kind (Scale).
   */
  isParentKind: boolean;
  /** The kind whose patch strategy a strategic merge patch follows; default r.kind. */
  patchKind?: string;
  subresource?: string;
  update(tryUpdate: (current: KObject) => KObject, opts: WriteOptions): KObject;
  /** The main resource only: an apply creates the object when absent (undefined when present). */
  createIfAbsent?(obj: KObject, opts: WriteOptions): KObject | undefined;
}

/** The dryRun parameter: only "All" is valid (400 otherwise). */
export function isDryRun(q: URLSearchParams): boolean {
  const v = q.getAll('dryRun');
  for (const x of v) if (x !== 'All') throw badRequest(`unsupported dry run option: ${x}`);
  return v.length > 0;
}

/** PUT: replaces the object (or the subresource view) with the body. */
export async function handleUpdate(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  q: URLSearchParams,
  target: WriteTarget,
): Promise<void> {
  const rendering = negotiate(req.headers.accept, { allowTable: false });
  const body = await readObjectBody(req, ctx.loadProtobuf);
  let obj = body.value as KObject;
  let warnings: string[] = [];
  if (target.isParentKind) {
    obj = checkKind(target.r, body.value);
    warnings = checkSchema(ctx.registry, obj, {
      mode: parseFieldValidation(q.get('fieldValidation')),
      isProtobuf: body.mediaType === 'application/vnd.kubernetes.protobuf',
      isWholeObject: true,
    });
  }
  const updated = target.update(() => obj, {
    dryRun: isDryRun(q),
    fieldManager: q.get('fieldManager') ?? undefined,
  });
  if (warnings.length) res.setHeader('Warning', warningHeaders(warnings));
  sendObject(res, 200, updated, rendering);
}

/** PATCH: a JSON, merge or strategic merge patch, or a server-side apply. */
export async function handlePatch(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  q: URLSearchParams,
  target: WriteTarget,
): Promise<void> {
  const { r } = target;
  const rendering = negotiate(req.headers.accept, { allowTable: false });
  const body = await readPatchBody(req);
  const dryRun = isDryRun(q);
  const fieldValidation = parseFieldValidation(q.get('fieldValidation'));
  const fieldManager = q.get('fieldManager') ?? undefined;
  if (body.mediaType === 'application/apply-patch+yaml') {
    if (!target.isParentKind) throw methodNotAllowed();
    const create = target.createIfAbsent;
    const result = applyServerSide(
      ctx,
      {
        r,
        name: target.name,
        createIfAbsent: create && ((obj) => create(obj, { dryRun })),
        // A built-in add-on's stand-in is replaced by the applied configuration, not merged.
        update: (tryUpdate) =>
          target.update(
            (cur) =>
              tryUpdate(
                target.isParentKind && !target.subresource && isAddonStandIn(cur)
                  ? standInSkeleton(cur)
                  : cur,
              ),
            { dryRun },
          ),
      },
      body.value,
      {
        fieldManager,
        force: queryBool(q, 'force'),
        fieldValidation,
        subresource: target.subresource,
      },
    );
    if (result.warnings.length) res.setHeader('Warning', warningHeaders(result.warnings));
    sendObject(res, result.created ? 201 : 200, result.obj, rendering);
    return;
  }
  let warnings: string[] = [];
  const updated = target.update(
    (current) => {
      let patched: unknown;
      const applied =
        target.isParentKind && !target.subresource && isAddonStandIn(current)
          ? appliedConfiguration(body.value)
          : undefined;
      if (applied) patched = takeOver(current, applied);
      else
        switch (body.mediaType) {
          case 'application/json-patch+json':
            patched = applyJsonPatch(current, body.value);
            break;
          case 'application/merge-patch+json':
            patched = applyMergePatch(current, body.value);
            break;
          default:
            patched = applyStrategicMergePatch(current, body.value, target.patchKind ?? r.kind);
        }
      if (!target.isParentKind) return patched as KObject;
      // A JSON patch can graft a deep value at a deep path: bound the result as well.
      checkNestingDepth(patched);
      const obj = checkKind(r, patched);
      warnings = checkSchema(ctx.registry, obj, { mode: fieldValidation });
      // A patch that leaves resourceVersion as read is not a precondition (upstream drops it).
      const meta = obj.metadata ?? {};
      if (meta.resourceVersion === current.metadata?.resourceVersion) {
        delete (meta as { resourceVersion?: string }).resourceVersion;
      }
      return obj;
    },
    { dryRun, fieldManager },
  );
  if (warnings.length) res.setHeader('Warning', warningHeaders(warnings));
  sendObject(res, 200, updated, rendering);
}
