// HTTP plumbing of the API server: body limits, media-type negotiation and response writing
// (follows k8s.io/apiserver pkg/endpoints/handlers/negotiation and responsewriters).
import type http from 'node:http';
import YAML from 'yaml';
import { StatusError } from './status-error.js';

/** Upstream's request body limit (3 MiB). */
export const maxRequestBodyBytes = 3 * 1024 * 1024;

/** Reads the whole request body; throws 413 RequestEntityTooLarge above the limit. */
export function readBody(req: http.IncomingMessage, limit = maxRequestBodyBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function tooLarge(limit: number): StatusError {
  return new StatusError({
    reason: 'RequestEntityTooLarge',
    code: 413,
    message: `Request entity too large: limit is ${limit}`,
  });
}

/** One entry of an Accept header. */
export interface MediaType {
  type: string;
  params: Record<string, string>;
}

/** Parses an Accept or Content-Type header into media types with parameters. */
export function parseMediaTypes(header: string | undefined): MediaType[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim());
      const p: Record<string, string> = {};
      for (const kv of params) {
        const i = kv.indexOf('=');
        if (i > 0)
          p[kv.slice(0, i).trim()] = kv
            .slice(i + 1)
            .trim()
            .replace(/^"|"$/g, '');
      }
      return { type: type.toLowerCase(), params: p };
    })
    .filter((m) => m.type !== '');
}

/** The representation a response is rendered as. */
export type Rendering =
  | { kind: 'json'; contentType: string }
  | { kind: 'yaml'; contentType: string }
  | { kind: 'table'; version: 'v1' | 'v1beta1'; contentType: string }
  | { kind: 'partial'; version: 'v1' | 'v1beta1'; contentType: string };

/** Picks a response rendering from Accept; throws 406 when nothing offered can be produced. */
export function negotiate(accept: string | undefined, opts: { allowTable: boolean }): Rendering {
  const types = parseMediaTypes(accept);
  if (types.length === 0) return { kind: 'json', contentType: 'application/json' };
  for (const t of types) {
    const as = t.params['as'];
    if (as) {
      if (t.type !== 'application/json' || t.params['g'] !== 'meta.k8s.io') continue;
      const v = t.params['v'];
      if (v !== 'v1' && v !== 'v1beta1') continue;
      if (as === 'Table' && opts.allowTable) {
        return {
          kind: 'table',
          version: v,
          contentType: `application/json;as=Table;v=${v};g=meta.k8s.io`,
        };
      }
      if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') {
        return {
          kind: 'partial',
          version: v,
          contentType: `application/json;as=${as};v=${v};g=meta.k8s.io`,
        };
      }
      continue;
    }
    if (t.type === 'application/json' || t.type === '*/*' || t.type === 'application/*') {
      return { kind: 'json', contentType: 'application/json' };
    }
    if (t.type === 'application/yaml') return { kind: 'yaml', contentType: 'application/yaml' };
  }
  throw new StatusError({
    reason: 'NotAcceptable',
    code: 406,
    message:
      'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  });
}

/** Writes a JSON (or YAML) body with the given status code. */
export function sendObject(
  res: http.ServerResponse,
  code: number,
  body: unknown,
  rendering: Rendering = { kind: 'json', contentType: 'application/json' },
): void {
  const text = rendering.kind === 'yaml' ? YAML.stringify(body) : JSON.stringify(body);
  const buf = Buffer.from(text);
  res.writeHead(code, { 'Content-Type': rendering.contentType, 'Content-Length': buf.length });
  res.end(buf);
}

/** Writes a Status error. */
export function sendError(res: http.ServerResponse, err: StatusError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendObject(res, err.code, err.toStatus());
}

/** Writes a metav1.Status Success body (delete of an object that is gone). */
export function successStatus(details: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}
