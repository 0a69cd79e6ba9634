// Pulls an image into the store: resolve the reference (mirrors first), pick the host platform
// from an index, fetch config and layers with digest and size checked, unpack each layer while it
// downloads (the blob is kept for the OCI layout and the local registry), and only then name the
// image. Follows containerd's pull (remotes/docker resolver + fetcher, unpack while fetching).
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage, isAbortError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import {
  type ImageConfig,
  type ImageIndexManifest,
  isIndex,
  type Manifest,
  mediaTypeOf,
  pickPlatform,
  validateManifest,
} from './manifest.js';
import { formatReference, type ImageReference } from './reference.js';
import { findCredential } from './registry/auth.js';
import { RegistryClient, RegistryError } from './registry/client.js';
import type { RegistryHosts } from './registry/hosts.js';
import type { RegistryCredential } from './service.js';
import { sha256Digest } from './store/blob-store.js';
import { recordCrossLinks } from './store/cross-links.js';
import type { Descriptor } from './store/image-index.js';
import type { ImageStore, StoredImage } from './store/image-store.js';
import { unpackLayer } from './unpack/unpack-layer.js';

/** Options of a Puller. */
export interface PullerOptions {
  store: ImageStore;
  hosts: RegistryHosts;
  log?: Logger;
  clock?: Clock;
  /** Layers fetched at once (containerd's default is 3). */
  concurrency?: number;
  headersTimeoutMs?: number;
  /** Only for tests. */
  fetch?: typeof fetch;
}

/** What one pull did. */
export interface PullResult {
  image: StoredImage;
  /** Layer directories, bottom first. */
  layers: string[];
  /** Bytes downloaded (0 when everything was present). */
  downloaded: number;
}

/** Thrown when a pull fails; the message is the reason after `failed to pull and unpack image`. */
export class PullFailure extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'PullFailure';
  }
}

/** Pulls images from registries into an ImageStore. */
export class Puller {
  readonly #opts: PullerOptions;
  readonly #clock: Clock;

  constructor(opts: PullerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** Pulls ref (normalised) and names it in the store under its full reference. */
  async pull(
    ref: ImageReference,
    opts: { credentials?: RegistryCredential[]; signal?: AbortSignal } = {},
  ): Promise<PullResult> {
    const name = formatReference(ref);
    const endpoints = this.#opts.hosts.endpoints(ref.registry);
    let lastError: unknown;
    for (const endpoint of endpoints) {
      const client = new RegistryClient({
        endpoint,
        repository: ref.repository,
        credential:
          findCredential(new URL(endpoint.url).host, opts.credentials) ??
          findCredential(ref.registry, endpoint.isMirror ? [] : opts.credentials),
        clock: this.#clock,
        headersTimeoutMs: this.#opts.headersTimeoutMs,
        fetch: this.#opts.fetch,
      });
      try {
        return await this.#pullFrom(client, ref, name, opts.signal);
      } catch (err) {
        if (isAbortError(err) || opts.signal?.aborted) throw err;
        lastError = err;
        if (!endpoint.isMirror) break;
        this.#opts.log?.warn('Mirror failed, trying the next endpoint', {
          image: name,
          mirror: endpoint.url,
          err: errorMessage(err),
        });
      }
    }
    throw this.#explain(name, lastError);
  }

  #explain(name: string, err: unknown): PullFailure {
    if (err instanceof PullFailure) return err;
    if (err instanceof RegistryError && err.status === 404)
      return new PullFailure(`failed to resolve reference "${name}": ${name}: not found`, {
        cause: err,
      });
    if (err instanceof RegistryError && (err.status === 401 || err.status === 403)) {
      const msg = err.message.startsWith('failed to authorize')
        ? err.message
        : `pull access denied, repository does not exist or may require authorization: server message: ${err.message}`;
      return new PullFailure(`failed to resolve reference "${name}": ${msg}`, { cause: err });
    }
    if (err instanceof RegistryError)
      return new PullFailure(`failed to resolve reference "${name}": ${err.message}`, {
        cause: err,
      });
    return new PullFailure(errorMessage(err), { cause: err });
  }

  async #pullFrom(client: RegistryClient, ref: ImageReference, name: string, signal?: AbortSignal) {
    const store = this.#opts.store;
    const top = await this.#fetchManifest(
      client,
      ref.digest ?? ref.tag ?? 'latest',
      ref.digest,
      signal,
    );
    const target: Descriptor = {
      mediaType: top.mediaType,
      digest: top.digest,
      size: top.body.length,
    };
    const documents = [top];
    let manifest = top.doc as Manifest;
    if (isIndex(top.mediaType)) {
      const picked = pickPlatform(top.doc as ImageIndexManifest);
      if (!picked)
        throw new PullFailure(`no match for platform in manifest ${top.digest}: not found`);
      const child = await this.#fetchManifest(
        client,
        picked.digest,
        picked.digest,
        signal,
        picked.size,
      );
      documents.push(child);
      manifest = child.doc as Manifest;
    }
    validateManifest(manifest, `manifest of ${name}`);
    const configBytes = await this.#smallBlob(client, manifest.config, signal);
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    const diffIDs = config.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== manifest.layers.length)
      throw new PullFailure(
        `config lists ${diffIDs.length} diffIDs for ${manifest.layers.length} layers`,
      );
    const free = store.freeBytes();
    for (const l of manifest.layers)
      if (!Number.isSafeInteger(l.size) || l.size < 0 || l.size > free)
        throw new PullFailure(
          `layer ${l.digest} declares ${l.size} bytes, more than the ${free} bytes free in ${store.root}`,
        );
    let downloaded = 0;
    const layers = await mapLimit(
      manifest.layers,
      this.#opts.concurrency ?? 3,
      async (layer, i) => {
        const diffID = diffIDs[i] ?? '';
        downloaded += await this.#layer(client, layer, diffID, signal);
        return store.layers.path(diffID);
      },
    );
    // Documents last, the name at the very end: a name never points at missing content.
    await store.blobs.putBytes(configBytes, manifest.config);
    for (const d of documents.reverse())
      if (!store.blobs.has(d.digest)) await store.blobs.putBytes(d.body, { digest: d.digest });
    // A re-pull of unchanged content keeps the name's annotations (a pushed image stays pinned).
    const before = store.index.get(name);
    store.index.set(
      name,
      before?.digest === target.digest ? { ...target, annotations: before.annotations } : target,
    );
    const image = await store.resolveTarget(name, target);
    this.#opts.log?.info('Pulled image', { image: name, digest: target.digest, downloaded });
    return { image, layers, downloaded };
  }

  async #fetchManifest(
    client: RegistryClient,
    reference: string,
    expectDigest: string | undefined,
    signal?: AbortSignal,
    expectSize?: number,
  ) {
    const res = await client.manifest(reference, signal);
    const digest = sha256Digest(res.body);
    if (expectDigest && digest !== expectDigest)
      throw new PullFailure(
        `manifest ${reference}: content digest ${digest} does not match ${expectDigest}`,
      );
    if (expectSize !== undefined && res.body.length !== expectSize)
      throw new PullFailure(
        `manifest ${reference}: ${res.body.length} bytes, descriptor declares ${expectSize}`,
      );
    if (res.digest && res.digest !== digest)
      throw new PullFailure(
        `manifest ${reference}: registry says ${res.digest}, content is ${digest}`,
      );
    const doc = JSON.parse(res.body.toString('utf8')) as Manifest | ImageIndexManifest;
    const mediaType =
      res.mediaType && res.mediaType !== 'application/json' ? res.mediaType : mediaTypeOf(doc);
    return { body: res.body, digest, mediaType, doc };
  }

  async #smallBlob(
    client: RegistryClient,
    desc: Descriptor,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const store = this.#opts.store;
    if (store.blobs.has(desc.digest)) return store.blobs.readBytes(desc.digest);
    if (desc.size > 16 << 20)
      throw new PullFailure(`config ${desc.digest} declares ${desc.size} bytes`);
    const chunks: Buffer[] = [];
    for await (const c of await client.blob(desc.digest, signal)) chunks.push(c);
    const data = Buffer.concat(chunks);
    if (data.length !== desc.size || sha256Digest(data) !== desc.digest)
      throw new PullFailure(`config ${desc.digest}: content does not match its descriptor`);
    return data;
  }

  /** Makes one layer present (blob + unpacked dir); returns the bytes downloaded. */
  async #layer(client: RegistryClient, layer: Descriptor, diffID: string, signal?: AbortSignal) {
    const store = this.#opts.store;
    const what = `layer ${layer.digest}`;
    const haveBlob = store.blobs.has(layer.digest);
    if (haveBlob) {
      await store.unpackBlob(layer.digest, diffID, signal);
      return 0;
    }
    const upload = store.blobs.begin(layer, what);
    try {
      const body = await client.blob(layer.digest, signal);
      const tee = async function* () {
        for await (const chunk of body) {
          await upload.write(chunk);
          yield chunk;
        }
      };
      if (store.layers.has(diffID) || store.isUnpacking(diffID)) {
        for await (const _ of tee());
        await upload.commit();
        // Joins the unpack in flight; should that one have failed, unpack the blob just stored.
        await store.unpackBlob(layer.digest, diffID, signal);
      } else {
        // Unpack while downloading; the layer is committed only once the blob verified too.
        await store.unpackOnce(diffID, async (dir) => {
          const unpacked = await unpackLayer(tee(), {
            dir,
            expectedDiffID: diffID,
            maxBytes: store.freeBytes(),
            what,
            signal,
          });
          recordCrossLinks(dir, unpacked.crossLinks);
          await upload.commit();
        });
      }
      return layer.size;
    } catch (err) {
      await upload.abort();
      throw err;
    }
  }
}

/** Runs fn over items with at most `limit` at once, keeping order. */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}
