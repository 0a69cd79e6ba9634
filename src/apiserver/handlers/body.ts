// Request body decoding (JSON, YAML, protobuf) and server-side field validation
// (follows k8s.io/apiserver pkg/endpoints/handlers/rest.go fieldValidation and the strict decoder).
import type http from 'node:http';
import YAML from 'yaml';
import type { KObject } from '../../client/rest.js';
import { parseMediaTypes, readBody } from '../http.js';
import type { ProtobufDecoder, RegistryModule } from '../registry-loader.js';
import { badRequest, StatusError } from '../status-error.js';
import { isObject } from '../util.js';

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

/** Parses text as JSON or YAML; 400 BadRequest when malformed. */
export function parseText(text: string, yaml: boolean): unknown {
  try {
    return yaml ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw badRequest(`couldn't get version/kind; json parse error: ${msg}`);
  }
}

/** Reads and decodes an object body (POST/PUT). */
export async function readObjectBody(
  req: http.IncomingMessage,
  decodeProtobuf: ProtobufDecoder | undefined,
): Promise<DecodedBody> {
  const buf = await readBody(req);
  const mediaType = parseMediaTypes(req.headers['content-type'])[0]?.type ?? 'application/json';
  if (mediaType === 'application/vnd.kubernetes.protobuf') {
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

/**
 * Checks unknown fields of obj with the registry; Strict throws 400, Warn returns warnings for the
 * Warning header, Ignore returns nothing.
 */
export function checkUnknownFields(
  registry: RegistryModule,
  obj: unknown,
  mode: FieldValidation,
  skip = false,
): string[] {
  if (mode === 'Ignore' || skip || !registry.findUnknownFields || !isObject(obj)) return [];
  const o = obj as KObject;
  if (!o.apiVersion || !o.kind) return [];
  const unknown = registry.findUnknownFields(o.apiVersion, o.kind, o);
  if (unknown.length === 0) return [];
  const msgs = unknown.map((f) => `unknown field "${f}"`);
  if (mode === 'Strict') throw badRequest(`strict decoding error: ${msgs.join(', ')}`);
  return msgs;
}

/** Renders warnings as RFC 7234 Warning header values (299 - "text"). */
export function warningHeaders(msgs: string[]): string[] {
  return msgs.map((m) => `299 - ${JSON.stringify(m)}`);
}
