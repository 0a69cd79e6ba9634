// The REST client every component uses to reach the API server (client-go's rest/dynamic client
// analog): typed verbs over JSON, watch streams, and apierrors-style helpers.
import http from 'node:http';
import https from 'node:https';
import type { KObject, ObjectList, WatchEvent } from '../api/object.js';
import { type ResourceInfo, resourcePath } from '../api/resources.js';

/** Where and how to reach the API server. */
export interface ClientConfig {
  /** e.g. "https://127.0.0.1:6443". */
  server: string;
  token?: string;
  /** PEM of the CA that signed the server certificate. */
  ca?: string;
  insecureSkipTLSVerify?: boolean;
  /** Sent as User-Agent. */
  userAgent?: string;
}

export type { KObject, ObjectList, WatchEvent } from '../api/object.js';

/** A metav1.Status body. */
export interface StatusBody {
  kind?: 'Status';
  apiVersion?: string;
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { type?: string; message?: string; field?: string }[];
  };
}

/** An error answered by the API server, carrying its Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: StatusBody,
  ) {
    super(status.message ?? `HTTP ${code}`);
    this.name = 'ApiError';
  }
  get reason(): string | undefined {
    return this.status.reason;
  }
}

/** True for a 404 NotFound answer. */
export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.code === 404;
/** True for a 409 Conflict (stale resourceVersion) answer. */
export const isConflict = (e: unknown): boolean =>
  e instanceof ApiError && e.code === 409 && e.reason === 'Conflict';
/** True for a 409 AlreadyExists answer. */
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof ApiError && e.reason === 'AlreadyExists';
/** True for a 410 Gone/Expired answer (relist needed). */
export const isGone = (e: unknown): boolean => e instanceof ApiError && e.code === 410;

/** Options of list and watch. */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
}

/** Options of watch. */
export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** Patch content types. */
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';
const patchContentType: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** A raw HTTP answer. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Options of a raw request. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

function buildQuery(q: RequestOptions['query']): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * A Kubernetes API client over HTTP(S) with keep-alive.
 * @example
 * const c = new KubeClient({ config: { server: 'https://127.0.0.1:6443', token, ca } });
 * const pod = await c.get<Pod>(R.pods, 'default', 'web');
 */
export class KubeClient {
  readonly config: ClientConfig;
  #url: URL;
  #agent: http.Agent;
  #mod: typeof http | typeof https;

  constructor(opts: { config: ClientConfig }) {
    this.config = opts.config;
    this.#url = new URL(opts.config.server);
    const isTls = this.#url.protocol === 'https:';
    this.#mod = isTls ? https : http;
    this.#agent = isTls
      ? new https.Agent({
          keepAlive: true,
          maxSockets: 64,
          ca: opts.config.ca,
          rejectUnauthorized: !opts.config.insecureSkipTLSVerify,
        })
      : new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** Opens a request and returns the response stream (for watch, logs -f). */
  open(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const payload = this.#encodeBody(opts);
    const headers: Record<string, string> = {
      Accept: opts.accept ?? 'application/json',
      'User-Agent': this.config.userAgent ?? 'skiff',
    };
    if (this.config.token) headers['Authorization'] = `Bearer ${this.config.token}`;
    if (payload !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = this.#mod.request(
        {
          protocol: this.#url.protocol,
          hostname: this.#url.hostname,
          port: this.#url.port,
          method,
          path: path + buildQuery(opts.query),
          headers,
          agent: this.#agent,
          signal: opts.signal,
        },
        resolve,
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sends a request and buffers the whole answer. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
    const res = await this.open(method, path, opts);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
  }

  /** Sends a request and parses a JSON answer; throws ApiError for a non-2xx answer. */
  async requestJSON<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    if (res.status < 200 || res.status >= 300) throw toApiError(res);
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  get<T = KObject>(r: ResourceInfo, namespace: string | undefined, name: string): Promise<T> {
    return this.requestJSON<T>('GET', resourcePath(r, { namespace, name }));
  }

  list<T = KObject>(r: ResourceInfo, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const { namespace, ...query } = opts;
    return this.requestJSON<ObjectList<T>>('GET', resourcePath(r, { namespace }), { query });
  }

  create<T = KObject>(
    r: ResourceInfo,
    obj: T,
    opts: { namespace?: string; dryRun?: boolean } = {},
  ): Promise<T> {
    const ns = opts.namespace ?? (obj as KObject).metadata?.namespace;
    return this.requestJSON<T>('POST', resourcePath(r, { namespace: ns }), {
      body: obj,
      query: { dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  /** PUT of the whole object (or of a subresource such as 'status'); CAS on metadata.resourceVersion. */
  update<T = KObject>(r: ResourceInfo, obj: T, opts: { subresource?: string } = {}): Promise<T> {
    const meta = (obj as KObject).metadata ?? {};
    return this.requestJSON<T>(
      'PUT',
      resourcePath(r, {
        namespace: meta.namespace,
        name: meta.name ?? '',
        subresource: opts.subresource,
      }),
      {
        body: obj,
      },
    );
  }

  /** PUT of the status subresource. */
  updateStatus<T = KObject>(r: ResourceInfo, obj: T): Promise<T> {
    return this.update(r, obj, { subresource: 'status' });
  }

  patch<T = KObject>(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts: { type?: PatchType; subresource?: string; fieldManager?: string; force?: boolean } = {},
  ): Promise<T> {
    const type = opts.type ?? 'merge';
    return this.requestJSON<T>(
      'PATCH',
      resourcePath(r, { namespace, name, subresource: opts.subresource }),
      {
        body: patch,
        contentType: patchContentType[type],
        query: { fieldManager: opts.fieldManager, force: opts.force },
      },
    );
  }

  delete<T = KObject>(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: {
      propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
      gracePeriodSeconds?: number;
      preconditions?: { uid?: string; resourceVersion?: string };
    } = {},
  ): Promise<T> {
    return this.requestJSON<T>('DELETE', resourcePath(r, { namespace, name }), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', ...opts },
    });
  }

  /**
   * Streams watch events until the server ends the stream or the signal aborts. Resolves when the
   * stream ends; throws ApiError (e.g. 410) when the watch is refused.
   */
  async watch<T = KObject>(
    r: ResourceInfo,
    opts: WatchOptions,
    onEvent: (ev: WatchEvent<T>) => void,
  ): Promise<void> {
    const { namespace, signal, ...rest } = opts;
    const res = await this.open('GET', resourcePath(r, { namespace }), {
      query: { ...rest, watch: true },
      signal,
    });
    if ((res.statusCode ?? 0) >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw toApiError({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks),
      });
    }
    await readJSONStream(res, (v) => onEvent(v as WatchEvent<T>));
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.#agent.destroy();
  }

  #encodeBody(opts: RequestOptions): Buffer | undefined {
    if (opts.body === undefined) return undefined;
    if (Buffer.isBuffer(opts.body)) return opts.body;
    if (typeof opts.body === 'string') return Buffer.from(opts.body);
    return Buffer.from(JSON.stringify(opts.body));
  }
}

/** Builds an ApiError from a non-2xx answer, using its Status body when there is one. */
export function toApiError(res: RawResponse): ApiError {
  let status: StatusBody = {
    message: res.body.toString('utf8') || `HTTP ${res.status}`,
    code: res.status,
  };
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as StatusBody;
    if (parsed && typeof parsed === 'object' && parsed.kind === 'Status') status = parsed;
  } catch {
    // Not JSON: keep the text as the message.
  }
  return new ApiError(res.status, status);
}

/** Splits a stream of concatenated JSON values (newline-separated or not) and calls onValue for each. */
export async function readJSONStream(
  stream: AsyncIterable<unknown>,
  onValue: (v: unknown) => void,
): Promise<void> {
  let buf = '';
  for await (const chunk of stream) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let start = 0;
    let depth = 0;
    let inString = false;
    let escaped = false;
    for (let i = 0; i < buf.length; i++) {
      const ch = buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{') {
        if (depth === 0) start = i;
        depth++;
      } else if (ch === '}') {
        depth--;
        if (depth === 0) {
          onValue(JSON.parse(buf.slice(start, i + 1)));
          buf = buf.slice(i + 1);
          i = -1;
        }
      }
    }
    if (depth === 0) buf = buf.trimStart();
  }
}
