// The local registry (kind's local-registry pattern, served by Skiff itself): the distribution API
// v2 over the image store on 127.0.0.1 (port 5001 by default), so `skopeo copy`, `docker push` or
// `crane push` to 127.0.0.1:5001/NAME:TAG store images that pods then run. Push side: blob uploads
// (POST, PATCH, PUT ?digest=, monolithic POST ?digest=, cross-repo mount), manifest PUT; pull side:
// HEAD/GET of manifests and blobs, tags/list and _catalog. Names are stored as `127.0.0.1:PORT/NAME:TAG`
// and pushed images are pinned against the image GC.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../../lib/errors.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { pinnedAnnotation } from '../load.js';
import { type ImageIndexManifest, indexTypes, type Manifest, mediaTypeOf } from '../manifest.js';
import { sha256Digest } from '../store/blob-store.js';
import type { ImageStore } from '../store/image-store.js';
import { DigestInvalidError, Uploads } from './uploads.js';

/** Options of the local registry. */
export interface LocalRegistryOptions {
  store: ImageStore;
  /** Port on 127.0.0.1 (0 picks a free one). */
  port: number;
  log?: Logger;
}

/** The running local registry. */
export interface LocalRegistry extends Component {
  /** `127.0.0.1:PORT` once started. */
  host(): string;
}

const nameRe =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^sha256:[a-f0-9]{64}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number> = {},
  body?: unknown,
) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'docker-distribution-api-version': 'registry/2.0',
    ...(body === undefined
      ? { 'content-length': 0 }
      : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new HttpError(413, 'SIZE_INVALID', `body larger than ${max} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Creates the local registry component (not listening until start). */
export function createLocalRegistry(opts: LocalRegistryOptions): LocalRegistry {
  const { store } = opts;
  const uploads = new Uploads({ blobs: store.blobs, maxBytes: () => store.freeBytes() });
  let server: Server | undefined;
  let prefix = '';

  const refOf = (name: string, tag: string) => `${prefix}/${name}:${tag}`;
  const tagsOf = (name: string) =>
    store.index
      .list()
      .filter((e) => e.ref.startsWith(`${prefix}/${name}:`))
      .map((e) => e.ref.slice(prefix.length + name.length + 2))
      .filter((t) => !t.includes('@'));

  function manifestTarget(name: string, reference: string) {
    if (digestRe.test(reference)) {
      if (!store.blobs.has(reference)) return undefined;
      return { digest: reference };
    }
    const d = store.index.get(refOf(name, reference));
    return d ? { digest: d.digest } : undefined;
  }

  async function getManifest(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    reference: string,
  ) {
    const t = manifestTarget(name, reference);
    if (!t) throw new HttpError(404, 'MANIFEST_UNKNOWN', 'manifest unknown');
    const body = await store.blobs.readBytes(t.digest);
    const doc = JSON.parse(body.toString('utf8')) as { mediaType?: string };
    const headers = {
      'content-type': mediaTypeOf(doc),
      'content-length': body.length,
      'docker-content-digest': t.digest,
      etag: `"${t.digest}"`,
      'docker-distribution-api-version': 'registry/2.0',
    };
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function putManifest(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    reference: string,
  ) {
    const body = await readBody(req, 4 << 20);
    const digest = sha256Digest(body);
    if (digestRe.test(reference) && reference !== digest)
      throw new HttpError(
        400,
        'DIGEST_INVALID',
        `manifest digest ${digest} does not match ${reference}`,
      );
    if (!digestRe.test(reference) && !tagRe.test(reference))
      throw new HttpError(400, 'TAG_INVALID', `invalid tag "${reference}"`);
    let doc: Manifest & ImageIndexManifest;
    try {
      doc = JSON.parse(body.toString('utf8')) as Manifest & ImageIndexManifest;
    } catch {
      throw new HttpError(400, 'MANIFEST_INVALID', 'manifest invalid: not JSON');
    }
    const mediaType = req.headers['content-type']?.split(';')[0]?.trim() || mediaTypeOf(doc);
    const needed = indexTypes.includes(mediaType)
      ? (doc.manifests ?? []).map((m) => m.digest)
      : [doc.config?.digest, ...(doc.layers ?? []).map((l) => l.digest)];
    if (!indexTypes.includes(mediaType) && !doc.config?.digest)
      throw new HttpError(400, 'MANIFEST_INVALID', 'manifest invalid: no config');
    for (const d of needed)
      if (!d || !store.blobs.has(d))
        throw new HttpError(400, 'MANIFEST_BLOB_UNKNOWN', `blob unknown to registry: ${d}`);
    await store.blobs.putBytes(body, { digest });
    if (!digestRe.test(reference))
      store.index.set(refOf(name, reference), {
        mediaType,
        digest,
        size: body.length,
        annotations: { [pinnedAnnotation]: 'true' },
      });
    opts.log?.info('Image pushed', { image: `${prefix}/${name}`, reference, digest });
    send(res, 201, {
      location: `/v2/${name}/manifests/${digest}`,
      'docker-content-digest': digest,
    });
  }

  async function getBlob(req: IncomingMessage, res: ServerResponse, digest: string) {
    const size = digestRe.test(digest) ? store.blobs.size(digest) : undefined;
    if (size === undefined) throw new HttpError(404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    // `Range: bytes=N-[M]` lets an interrupted download resume (containerd does).
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (range && (start > end || start >= size)) {
      res.writeHead(416, { 'content-range': `bytes */${size}` });
      return void res.end();
    }
    res.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': end - start + 1,
      'docker-content-digest': digest,
      etag: `"${digest}"`,
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD' || size === 0) return void res.end();
    await new Promise<void>((resolve, reject) => {
      store.blobs
        .open(digest, { start, end })
        .on('error', reject)
        .pipe(res)
        .on('finish', resolve)
        .on('error', reject);
    });
  }

  async function handleUpload(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    id: string | undefined,
    url: URL,
  ) {
    const location = (uuid: string) => `/v2/${name}/blobs/uploads/${uuid}`;
    const digest = url.searchParams.get('digest');
    if (!id && req.method === 'POST') {
      const mount = url.searchParams.get('mount');
      if (mount && digestRe.test(mount) && store.blobs.has(mount)) {
        req.resume();
        return send(res, 201, {
          location: `/v2/${name}/blobs/${mount}`,
          'docker-content-digest': mount,
        });
      }
      const uuid = uploads.start(name);
      if (digest) {
        // monolithic upload: the whole blob in the POST
        await uploads.append(uuid, req);
        await uploads.finish(uuid, digest);
        return send(res, 201, {
          location: `/v2/${name}/blobs/${digest}`,
          'docker-content-digest': digest,
        });
      }
      req.resume();
      return send(res, 202, { location: location(uuid), range: '0-0', 'docker-upload-uuid': uuid });
    }
    const session = id ? uploads.get(id, name) : undefined;
    if (!id || !session)
      throw new HttpError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry');
    const range = (n: number) => `0-${Math.max(0, n - 1)}`;
    switch (req.method) {
      case 'GET':
        return send(res, 204, {
          location: location(id),
          range: range(session.size),
          'docker-upload-uuid': id,
        });
      case 'PATCH': {
        const size = await uploads.append(id, req);
        return send(res, 202, {
          location: location(id),
          range: range(size),
          'docker-upload-uuid': id,
        });
      }
      case 'PUT': {
        if (!digest || !digestRe.test(digest))
          throw new HttpError(400, 'DIGEST_INVALID', 'digest missing or invalid');
        await uploads.append(id, req);
        await uploads.finish(id, digest);
        return send(res, 201, {
          location: `/v2/${name}/blobs/${digest}`,
          'docker-content-digest': digest,
        });
      }
      case 'DELETE':
        uploads.cancel(id);
        return send(res, 204);
      default:
        throw new HttpError(405, 'UNSUPPORTED', 'method not allowed');
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://registry');
    const p = url.pathname;
    if (p === '/v2/' || p === '/v2') return send(res, 200, {}, {});
    if (p === '/v2/_catalog') {
      const repos = new Set(
        store.index
          .list()
          .filter((e) => e.ref.startsWith(`${prefix}/`))
          .map((e) => e.ref.slice(prefix.length + 1).replace(/[:@][^/]*$/, '')),
      );
      return send(res, 200, {}, { repositories: [...repos].sort() });
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/.exec(p);
    if (!m) throw new HttpError(404, 'NOT_FOUND', 'not found');
    const [, name = '', kind, rest = ''] = m;
    if (!nameRe.test(name))
      throw new HttpError(400, 'NAME_INVALID', `invalid repository name "${name}"`);
    if (kind === 'tags' && rest === 'list') {
      const tags = tagsOf(name);
      if (tags.length === 0)
        throw new HttpError(404, 'NAME_UNKNOWN', 'repository name not known to registry');
      return send(res, 200, {}, { name, tags: tags.sort() });
    }
    if (kind === 'manifests') {
      if (req.method === 'GET' || req.method === 'HEAD') return getManifest(req, res, name, rest);
      if (req.method === 'PUT') return putManifest(req, res, name, rest);
      if (req.method === 'DELETE') {
        const gone = store.index
          .list()
          .filter(
            (e) =>
              e.ref.startsWith(`${prefix}/${name}:`) &&
              (e.target.digest === rest || e.ref === refOf(name, rest)),
          );
        if (gone.length === 0) throw new HttpError(404, 'MANIFEST_UNKNOWN', 'manifest unknown');
        for (const e of gone) store.index.remove(e.ref);
        return send(res, 202);
      }
    }
    if (kind === 'blobs') {
      if (rest.startsWith('uploads'))
        return handleUpload(req, res, name, rest.slice(8) || undefined, url);
      if (req.method === 'GET' || req.method === 'HEAD') return getBlob(req, res, rest);
    }
    throw new HttpError(405, 'UNSUPPORTED', 'the operation is unsupported');
  }

  return {
    name: 'local-registry',
    host: () => prefix,
    async start() {
      server = createServer((req, res) => {
        handle(req, res).catch((err: unknown) => {
          const e =
            err instanceof HttpError
              ? err
              : err instanceof DigestInvalidError
                ? new HttpError(400, 'DIGEST_INVALID', err.message)
                : err instanceof RangeError
                  ? new HttpError(413, 'SIZE_INVALID', err.message)
                  : new HttpError(500, 'UNKNOWN', errorMessage(err));
          if (e.status === 500)
            opts.log?.warn('Local registry request failed', { url: req.url, err: e.message });
          req.resume();
          if (!res.headersSent)
            send(res, e.status, {}, { errors: [{ code: e.code, message: e.message }] });
          else res.destroy();
        });
      });
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(opts.port, '127.0.0.1', () => resolve());
      });
      prefix = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async stopped() {
      uploads.clear();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections();
    },
  };
}
