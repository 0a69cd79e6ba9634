// Request body decoding (JSON, YAML, protobuf) and server-side field validation
// (follows k8s.io/apiserver pkg/endpoints/handlers/rest.go fieldValidation and the strict decoder).
import type http from 'node:http';
import YAML from 'yaml';
import type { KObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import { isObject } from '../../lib/json.js';
import { parseMediaTypes, readBody } from '../http.js';
import type { Registry } from '../registry/storage.js';
import { badRequest, StatusError } from '../status-error.js';

/** Decodes a Kubernetes protobuf body (k8s\0 + runtime.Unknown) into a JSON-shaped object. */
export type ProtobufDecoder = (body: Buffer) => KObject;

/** A decoded request body with the media type it came in. */
export interface DecodedBody {
  value: unknown;
  mediaType: string;
}

function unsupported(mediaType: string, accepted: string[]): StatusError {
  return new StatusError({
    reason: 'UnsupportedMediaType',
    code: 415,
    message: `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    details: { causes: [{ reason: 'UnexpectedServerResponse', message: mediaType }] },
  });
}

const objectTypes = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

/**
 * How deeply a body may nest. Upstream's decoder stops at 10,000 levels; ours is lower because
 * the handlers (clone, merge, compare, serialize) recurse, and no Kubernetes object comes close.
 */
export const maxNestingDepth = 1000;

/** Throws 400 BadRequest when value nests deeper than limit (an iterative walk: no recursion). */
export function checkNestingDepth(value: unknown, limit = maxNestingDepth): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit)
      throw badRequest("couldn't get version/kind; json parse error: exceeded max depth");
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
}

/** Parses text as JSON or YAML; 400 BadRequest when malformed or nested too deeply. */
export function parseText(text: string, yaml: boolean): unknown {
  let value: unknown;
  try {
    value = yaml ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw badRequest(`couldn't get version/kind; json parse error: ${msg}`);
  }
  checkNestingDepth(value);
  return value;
}

/** Reads and decodes an object body (POST/PUT). */
export async function readObjectBody(
  req: http.IncomingMessage,
  loadProtobuf: (() => Promise<ProtobufDecoder | undefined>) | undefined,
): Promise<DecodedBody> {
  const buf = await readBody(req);
  const mediaType = parseMediaTypes(req.headers['content-type'])[0]?.type ?? 'application/json';
  if (mediaType === 'application/vnd.kubernetes.protobuf') {
    const decodeProtobuf = await loadProtobuf?.();
    if (!decodeProtobuf) throw unsupported(mediaType, ['application/json', 'application/yaml']);
    try {
      return { value: decodeProtobuf(buf), mediaType };
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw badRequest(`unable to decode protobuf body: ${msg}`);
    }
  }
  if (mediaType === 'application/json' || mediaType === 'application/yaml' || mediaType === '*/*') {
    if (buf.length === 0) throw badRequest('the body of the request was empty');
    return { value: parseText(buf.toString('utf8'), mediaType === 'application/yaml'), mediaType };
  }
  throw unsupported(mediaType, objectTypes);
}

/** Fills apiVersion/kind of a body for r and rejects bodies of another kind. */
export function checkKind(r: ResourceInfo, obj: unknown): KObject {
  if (!isObject(obj)) throw badRequest('the body of the request must be a JSON object');
  const o = obj as KObject;
  const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
  if (o.kind !== undefined && o.kind !== r.kind) {
    throw badRequest(
      `the kind in the data (${o.kind}) does not match the expected kind (${r.kind})`,
    );
  }
  if (o.apiVersion !== undefined && o.apiVersion !== apiVersion) {
    throw badRequest(
      `the API version in the data (${o.apiVersion}) does not match the expected API version (${apiVersion})`,
    );
  }
  o.apiVersion = apiVersion;
  o.kind = r.kind;
  return o;
}

/** Reads a PATCH body; the media type picks the patch kind. */
export async function readPatchBody(req: http.IncomingMessage): Promise<DecodedBody> {
  const buf = await readBody(req);
  const mediaType = parseMediaTypes(req.headers['content-type'])[0]?.type ?? '';
  if (!patchTypes.includes(mediaType)) throw unsupported(mediaType, patchTypes);
  return {
    value: parseText(buf.toString('utf8'), mediaType === 'application/apply-patch+yaml'),
    mediaType,
  };
}

/** Reads an optional JSON body (DELETE options); undefined when empty. */
export async function readOptionalJson(req: http.IncomingMessage): Promise<unknown> {
  const buf = await readBody(req);
  if (buf.length === 0) return undefined;
  return parseText(buf.toString('utf8'), false);
}

/** fieldValidation query values. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Parses the fieldValidation parameter (default Warn, as upstream). */
export function parseFieldValidation(v: string | null): FieldValidation {
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(
    `fieldValidation parameter unsupported: ${v}. Valid values are Ignore, Warn, Strict`,
  );
}

/** How a decoded object is checked against its kind's schema. */
export interface SchemaCheck {
  mode: FieldValidation;
  /** Protobuf bodies are typed by construction and carry no unknown fields. */
  isProtobuf?: boolean;
  /** Create and update errors carry upstream's "<Kind> in version ... cannot be handled" prefix. */
  isWholeObject?: boolean;
}

/**
 * Checks obj against its kind's schema as upstream's decoder does: a field of the wrong JSON type
 * is 400 whatever the mode; unknown fields are 400 in Strict, returned as warnings in Warn, and
 * ignored in Ignore.
 */
export function checkSchema(registry: Registry, obj: unknown, check: SchemaCheck): string[] {
  if (check.isProtobuf || !isObject(obj)) return [];
  const o = obj as KObject;
  if (!o.apiVersion || !o.kind) return [];
  const version = o.apiVersion.slice(o.apiVersion.indexOf('/') + 1);
  const prefix = check.isWholeObject
    ? `${o.kind} in version "${version}" cannot be handled as a ${o.kind}: `
    : '';
  const typeErrors = registry.findTypeErrors(o.apiVersion, o.kind, o);
  // Go's decoder reports the first type error only.
  if (typeErrors.length > 0) throw badRequest(`${prefix}${typeErrors[0]}`);
  if (check.mode === 'Ignore') return [];
  const unknown = registry.findUnknownFields(o.apiVersion, o.kind, o);
  if (unknown.length === 0) return [];
  const msgs = unknown.map((f) => `unknown field "${f}"`);
  if (check.mode === 'Strict') {
    throw badRequest(`${prefix}strict decoding error: ${msgs.join(', ')}`);
  }
  return msgs;
}

/**
 * Renders warnings as RFC 7234 Warning header values (299 - "text"). Like upstream, the text is
 * sent as raw UTF-8 (node writes header strings as Latin-1, so the UTF-8 bytes are spelled as
 * Latin-1 characters); quotes, backslashes and control characters are escaped, so this never
 * yields a value node refuses.
 */
export function warningHeaders(msgs: string[]): string[] {
  return msgs.map((m) => {
    const quoted = JSON.stringify(m).replace(/[\u007f]/g, '\\u007f');
    return `299 - ${Buffer.from(quoted, 'utf8').toString('latin1')}`;
  });
}
