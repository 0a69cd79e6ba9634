// StatusError: the one way a handler reports failure; renders a metav1.Status with upstream reasons
// and message wording (follows k8s.io/apimachinery pkg/api/errors/errors.go).
import type { FieldError } from './registry/types.js';

/** metav1.StatusReason values the server uses. */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Expired'
  | 'Gone'
  | 'Timeout'
  | 'ServiceUnavailable'
  | 'TooManyRequests'
  | 'InternalError';

/** metav1.StatusDetails. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** A group/resource pair as used in messages ("deployments.apps"). */
export interface GroupResource {
  group: string;
  resource: string;
}

/** An API failure carrying a metav1.Status. */
export class StatusError extends Error {
  readonly reason: StatusReason;
  readonly code: number;
  readonly details: StatusDetails | undefined;

  constructor(opts: {
    reason: StatusReason;
    code: number;
    message: string;
    details?: StatusDetails;
  }) {
    super(opts.message);
    this.name = 'StatusError';
    this.reason = opts.reason;
    this.code = opts.code;
    this.details = opts.details;
  }

  /** The metav1.Status JSON body. */
  toStatus(): Record<string, unknown> {
    const s: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
    };
    if (this.details) s['details'] = this.details;
    s['code'] = this.code;
    return s;
  }
}

/** "deployments.apps" or "pods". */
export function qualified(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

const grDetails = (gr: GroupResource, name: string): StatusDetails => ({
  name,
  group: gr.group || undefined,
  kind: gr.resource,
});

/** 404 `pods "x" not found`. */
export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError({
    reason: 'NotFound',
    code: 404,
    message: `${qualified(gr)} "${name}" not found`,
    details: grDetails(gr, name),
  });
}

/** 404 for a path nothing serves. */
export function pathNotFound(): StatusError {
  return new StatusError({
    reason: 'NotFound',
    code: 404,
    message: 'the server could not find the requested resource',
    details: {},
  });
}

/** 409 `deployments.apps "x" already exists`. */
export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError({
    reason: 'AlreadyExists',
    code: 409,
    message: `${qualified(gr)} "${name}" already exists`,
    details: grDetails(gr, name),
  });
}

/** 409 Conflict with upstream's optimistic-concurrency wording. */
export function conflict(gr: GroupResource, name: string, why?: string): StatusError {
  const detail =
    why ??
    'the object has been modified; please apply your changes to the latest version and try again';
  return new StatusError({
    reason: 'Conflict',
    code: 409,
    message: `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${detail}`,
    details: grDetails(gr, name),
  });
}

/** 400 BadRequest with the given message. */
export function badRequest(message: string): StatusError {
  return new StatusError({ reason: 'BadRequest', code: 400, message });
}

/** 403 `pods "x" is forbidden: <why>`. */
export function forbidden(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError({
    reason: 'Forbidden',
    code: 403,
    message: `${qualified(gr)} "${name}" is forbidden: ${why}`,
    details: grDetails(gr, name),
  });
}

/** 401 Unauthorized. */
export function unauthorized(): StatusError {
  return new StatusError({ reason: 'Unauthorized', code: 401, message: 'Unauthorized' });
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): StatusError {
  return new StatusError({
    reason: 'MethodNotAllowed',
    code: 405,
    message: 'the server does not allow this method on the requested resource',
  });
}

/** 410 Expired for a compacted resourceVersion. */
export function expired(requested: number, oldest: number): StatusError {
  return new StatusError({
    reason: 'Expired',
    code: 410,
    message: `too old resource version: ${requested} (${oldest})`,
  });
}

/** 500 InternalError wrapping an unexpected failure. */
export function internalError(err: unknown): StatusError {
  const msg = err instanceof Error ? err.message : String(err);
  return new StatusError({
    reason: 'InternalError',
    code: 500,
    message: `Internal error occurred: ${msg}`,
    details: { causes: [{ message: msg }] },
  });
}

/** 503 ServiceUnavailable. */
export function serviceUnavailable(message: string): StatusError {
  return new StatusError({ reason: 'ServiceUnavailable', code: 503, message });
}

const typeText: Record<FieldError['type'], string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueNotFound: 'Not found',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
};

/** Renders a value the way Go's field.Error does (%q for strings, %v for scalars, %#v for maps). */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.every(([, x]) => typeof x === 'string')) {
      const body = entries.map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`).join(', ');
      return `map[string]string{${body}}`;
    }
  }
  return JSON.stringify(v);
}

/** The part of a field error after "<field>: " (upstream field.Error.ErrorBody). */
export function fieldErrorBody(e: FieldError): string {
  let s = typeText[e.type];
  const omitValue =
    e.type === 'FieldValueRequired' ||
    e.type === 'FieldValueForbidden' ||
    e.type === 'FieldValueTooLong' ||
    e.value === undefined;
  if (!omitValue) s += `: ${goValue(e.value)}`;
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

/** 422 `Deployment.apps "x" is invalid: <errors>` with one cause per field error. */
export function invalid(
  gk: { group: string; kind: string },
  name: string,
  errs: FieldError[],
): StatusError {
  const qualifiedKind = gk.group === '' ? gk.kind : `${gk.kind}.${gk.group}`;
  const rendered = errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  let message = `${qualifiedKind} "${name}" is invalid`;
  if (rendered.length === 1) message += `: ${rendered[0]}`;
  else if (rendered.length > 1) message += `: [${rendered.join(', ')}]`;
  return new StatusError({
    reason: 'Invalid',
    code: 422,
    message,
    details: {
      name,
      group: gk.group || undefined,
      kind: gk.kind,
      causes: errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
    },
  });
}

/** Narrows an unknown error to a StatusError, wrapping others as InternalError. */
export function toStatusError(err: unknown): StatusError {
  return err instanceof StatusError ? err : internalError(err);
}
