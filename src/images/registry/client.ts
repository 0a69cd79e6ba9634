// A distribution API v2 client over Node's fetch, for pulling: manifests and blobs of one
// repository at one endpoint, with token/basic auth (auth.ts), redirects to blob storage followed
// by hand so credentials never leave the registry's origin, a bounded wait for response headers (an
// offline host fails fast) and an idle bound while a body streams.
import { createHash } from 'node:crypto';
import { type Clock, realClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import { manifestAccept } from '../manifest.js';
import { type BasicCredential, basicAuthorization, parseChallenges } from './auth.js';
import type { RegistryEndpoint } from './hosts.js';

/** A registry answered with an error, or could not be reached. */
export class RegistryError extends Error {
  readonly status?: number;
  constructor(message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'RegistryError';
    this.status = opts.status;
  }
}

/** Options of a RegistryClient. */
export interface RegistryClientOptions {
  endpoint: RegistryEndpoint;
  repository: string;
  credential?: BasicCredential;
  clock?: Clock;
  /** Most ms to wait for response headers (connect included). */
  headersTimeoutMs?: number;
  /** Most ms a body may stall between chunks. */
  idleTimeoutMs?: number;
  /** Only for tests: the fetch to use. */
  fetch?: typeof fetch;
}

// Tokens by realm+scope, shared by every client of the process (many pulls, one login).
const tokens = new Map<string, { token: string; expires: number }>();

/** Explains a fetch failure the way containerd words network errors. */
function networkReason(method: string, url: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; hostname?: string; address?: string } }).cause;
  const host = new URL(url).host;
  let why = errorMessage(cause ?? err);
  if (cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN')
    why = `dial tcp: lookup ${cause.hostname ?? host}: no such host`;
  else if (cause?.code === 'ECONNREFUSED') why = `dial tcp ${host}: connect: connection refused`;
  else if (err instanceof Error && err.name === 'TimeoutError')
    why = `dial tcp ${host}: i/o timeout`;
  return `failed to do request: ${method} "${url}": ${why}`;
}

/** The registry's own words from an error body (`errors[].message`), if any. */
export async function registryMessage(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).slice(0, 2048);
  try {
    const body = JSON.parse(text) as {
      errors?: Array<{ code?: string; message?: string }>;
      details?: string;
      message?: string;
    };
    const errs = body.errors?.map((e) =>
      [e.code?.toLowerCase(), e.message].filter(Boolean).join(': '),
    );
    if (errs?.length) return errs.join('; ');
    return body.details ?? body.message ?? text.trim();
  } catch {
    return text.trim();
  }
}

/** Pull-side API of one repository on one registry endpoint. */
export class RegistryClient {
  readonly #opts: RegistryClientOptions;
  readonly #clock: Clock;
  readonly #origin: string;
  #authorization?: string;

  constructor(opts: RegistryClientOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#origin = new URL(opts.endpoint.url).origin;
  }

  /** GETs a manifest by tag or digest: its bytes, media type and the registry's digest header. */
  async manifest(
    reference: string,
    signal?: AbortSignal,
  ): Promise<{ body: Buffer; mediaType: string; digest?: string }> {
    const res = await this.#request(`manifests/${reference}`, { accept: manifestAccept }, signal);
    const body = await readLimited(res, 4 << 20, `manifest ${reference}`);
    return {
      body,
      mediaType: res.headers.get('content-type')?.split(';')[0]?.trim() ?? '',
      digest: res.headers.get('docker-content-digest') ?? undefined,
    };
  }

  /** GETs a blob; the body streams with an idle bound (callers verify digest and size). */
  async blob(digest: string, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
    const res = await this.#request(`blobs/${digest}`, {}, signal);
    if (!res.body) throw new RegistryError(`blob ${digest}: empty response`);
    return this.#idleBounded(res.body, signal);
  }

  async *#idleBounded(body: ReadableStream<Uint8Array>, signal?: AbortSignal) {
    const reader = body.getReader();
    const idle = this.#opts.idleTimeoutMs ?? 60_000;
    try {
      for (;;) {
        let timer: { cancel(): void } | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = this.#clock.setTimeout(
            () => reject(new RegistryError(`blob download stalled for ${idle / 1000}s`)),
            idle,
          );
        });
        try {
          if (signal?.aborted) throw signal.reason;
          const next = await Promise.race([reader.read(), stalled]);
          if (next.done) return;
          yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        } finally {
          timer?.cancel();
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  /** One API call with auth retry and hand-followed redirects; throws on non-2xx. */
  async #request(
    path: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    const url = `${this.#opts.endpoint.url}/v2/${this.#opts.repository}/${path}`;
    let res = await this.#send(url, headers, signal);
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.body?.cancel().catch(() => undefined);
      await this.#authorize(challenge, signal);
      res = await this.#send(url, headers, signal);
    }
    if (!res.ok) {
      const message = await registryMessage(res);
      throw new RegistryError(message || `${res.status} ${res.statusText}`, { status: res.status });
    }
    return res;
  }

  async #send(
    url: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    let target = url;
    for (let hop = 0; hop < 6; hop++) {
      const sameOrigin = new URL(target).origin === this.#origin;
      const h: Record<string, string> = { ...headers, 'user-agent': 'skiff' };
      // Blob storage behind a redirect (S3, a CDN) must never see the registry's credentials.
      if (sameOrigin && this.#authorization) h['authorization'] = this.#authorization;
      const res = await this.#fetchHeaders(target, { headers: h, redirect: 'manual' }, signal);
      if (res.status < 300 || res.status >= 400 || !res.headers.get('location')) return res;
      await res.body?.cancel().catch(() => undefined);
      target = new URL(res.headers.get('location') ?? '', target).toString();
    }
    throw new RegistryError(`too many redirects fetching ${url}`);
  }

  /** fetch that gives up when the headers take longer than headersTimeoutMs. */
  async #fetchHeaders(url: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const limit = this.#opts.headersTimeoutMs ?? 10_000;
    const timer = this.#clock.setTimeout(
      () => ac.abort(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
      limit,
    );
    try {
      return await (this.#opts.fetch ?? fetch)(url, { ...init, signal: ac.signal });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new RegistryError(
        networkReason('GET', url, ac.signal.aborted ? ac.signal.reason : err),
        {
          cause: err,
        },
      );
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Answers a 401 challenge: a bearer token from the realm, or basic credentials. */
  async #authorize(header: string, signal?: AbortSignal): Promise<void> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const cred = this.#opts.credential;
    if (bearer?.params['realm']) {
      this.#authorization = `Bearer ${await this.#token(bearer.params, signal)}`;
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic') && cred) {
      this.#authorization = basicAuthorization(cred);
      return;
    }
    throw new RegistryError(
      'pull access denied, repository does not exist or may require authorization',
      { status: 401 },
    );
  }

  async #token(params: Record<string, string>, signal?: AbortSignal): Promise<string> {
    const realm = params['realm'] ?? '';
    const scope = `repository:${this.#opts.repository}:pull`;
    const cred = this.#opts.credential;
    // The key covers the secret too: a wrong password must not reuse a token a right one got.
    const who = cred
      ? createHash('sha256')
          .update(`${basicAuthorization(cred)}|${cred.identitytoken ?? ''}`)
          .digest('hex')
      : '';
    const key = `${realm}|${params['service'] ?? ''}|${scope}|${who}`;
    const cached = tokens.get(key);
    if (cached && cached.expires > this.#clock.now()) return cached.token;
    const url = new URL(realm);
    if (params['service']) url.searchParams.set('service', params['service']);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'user-agent': 'skiff' };
    let init: RequestInit = { headers };
    if (cred?.identitytoken) {
      // OAuth2 refresh-token grant, as `docker login` identity tokens need.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.identitytoken,
        service: params['service'] ?? '',
        scope,
        client_id: 'skiff',
      });
      init = {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      };
    } else if (cred) headers['authorization'] = basicAuthorization(cred);
    const res = await this.#fetchHeaders(url.toString(), init, signal);
    if (!res.ok) {
      const what = cred ? 'oauth' : 'anonymous';
      const message = await registryMessage(res);
      throw new RegistryError(
        `failed to authorize: failed to fetch ${what} token: unexpected status from ` +
          `${init.method ?? 'GET'} request to ${url}: ${res.status} ${res.statusText}` +
          (message ? `: ${message}` : ''),
        { status: res.status },
      );
    }
    const body = JSON.parse((await readLimited(res, 1 << 20, 'token')).toString()) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`failed to authorize: no token from ${realm}`);
    // Tokens default to 60 s (the spec's minimum); renew a little early.
    tokens.set(key, { token, expires: this.#clock.now() + ((body.expires_in ?? 60) - 10) * 1000 });
    return token;
  }
}

/** Reads a small body, refusing more than max bytes (a manifest is never megabytes). */
export async function readLimited(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max)
    throw new RegistryError(`${what}: ${declared} bytes, more than ${max} allowed`);
  const chunks: Buffer[] = [];
  let size = 0;
  if (!res.body) return Buffer.alloc(0);
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += c.length;
    if (size > max) throw new RegistryError(`${what}: more than ${max} bytes`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}
