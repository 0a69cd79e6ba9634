// The image service the node agent calls at pod start: makes an image present (pull or local
// store) and resolves it to a ResolvedImage. Contract with the node side:
// /work/notes/images-interface.md (pull policy, events and back-off live in src/node).
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage, isAbortError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { parseImageRef, type ResolvedImage, resolveImage } from './catalog.js';
import { LocalImageStore } from './local.js';
import { toResolvedImage } from './manifest.js';
import type { Puller } from './pull.js';
import { formatReference, type ImageReference, parseReference, repoName } from './reference.js';
import { resolveCrossLinks } from './store/cross-links.js';
import { ImageStore, IncompleteImageError, type StoredImage } from './store/image-store.js';

/** Credentials for one registry, as a dockerconfigjson `auths` entry carries them. */
export interface RegistryCredential {
  /** Registry host as written in the secret: `docker.io`, `https://index.docker.io/v1/`, `host:5000`. */
  registry: string;
  username?: string;
  password?: string;
  /** base64("user:password"), used when username/password are absent. */
  auth?: string;
  /** An OAuth2 refresh token (registries that hand one out at login). */
  identitytoken?: string;
}

/** How ensure() may get an image: the container's imagePullPolicy plus its pull secrets. */
export interface PullOptions {
  policy: 'Always' | 'IfNotPresent' | 'Never';
  credentials?: RegistryCredential[];
  signal?: AbortSignal;
}

/** An image made present by ensure(). */
export interface EnsuredImage {
  image: ResolvedImage;
  /** True when this call (or the shared pull it joined) downloaded something. */
  pulled: boolean;
  /** Image size in bytes: the compressed layers plus config, as the kubelet's event reports it. */
  size: number;
  /** Wall time of the pull, ms (0 when not pulled). */
  pullMs: number;
}

/**
 * The image is absent and the policy is Never; the message is the kubelet's
 * (pkg/kubelet/images/image_manager.go), the reason the node reports is ErrImageNeverPull.
 */
export class ErrImageNeverPull extends Error {
  constructor(ref: string) {
    super(`Container image "${ref}" is not present with pull policy of Never`);
    this.name = 'ErrImageNeverPull';
  }
}

/**
 * A pull failed; the message is what the kubelet shows after `Failed to pull image "x": `
 * (containerd's wording: `failed to pull and unpack image "docker.io/library/x:latest": ...`).
 */
export class ImagePullError extends Error {
  constructor(canonicalRef: string, reason: string, opts?: { cause?: unknown }) {
    super(`failed to pull and unpack image "${canonicalRef}": ${reason}`, opts);
    this.name = 'ImagePullError';
  }
}

/** Options of the ImageService. */
export interface ImageServiceOptions {
  dataDir: string;
  /** registry host → mirror URLs (`skiff up --registry-mirror`). */
  mirrors?: Record<string, string[]>;
  /** Hosts reachable over plain http besides loopback (`skiff up --insecure-registry`). */
  insecure?: string[];
  log?: Logger;
  clock?: Clock;
  /** Most ms to wait for a registry's response headers (an offline host fails fast). */
  headersTimeoutMs?: number;
  /** Only for tests. */
  fetch?: typeof fetch;
}

// Images only Skiff has (add-ons, the shell): resolved from the bundled catalog, never pulled.
function isSkiffInternal(repository: string): boolean {
  return (
    repository.startsWith('skiff/') ||
    repository === 'registry.k8s.io/ingress-nginx/controller' ||
    repository === 'registry.k8s.io/metrics-server/metrics-server'
  );
}

/**
 * Makes images present and runnable for the node agent.
 * 1. Folder images (`skiff image add`) win, then Skiff's internal add-on images, then the store.
 * 2. ensure() honours the pull policy: Never never pulls, IfNotPresent pulls only what the store
 *    lacks, Always asks the registry every time (unchanged content is not downloaded again).
 * 3. Concurrent ensure() calls for one reference share one pull.
 * 4. A stored image is unpacked before ensure() resolves: `image.layers` are ready to mount.
 * The bundled stand-ins for public images (busybox, the seed's flask app) are NOT returned here;
 * falling back to them after an ImagePullError is the node's choice (issue 13 contract).
 */
export class ImageService {
  readonly store: ImageStore;
  readonly #local: LocalImageStore;
  readonly #opts: ImageServiceOptions;
  #puller?: Promise<Puller>;
  readonly #clock: Clock;
  readonly #log?: Logger;
  readonly #inflight = new Map<string, Promise<EnsuredImage>>();
  /** Last ensure() per stored name, for the image GC's least-recently-used order. */
  readonly lastUsed = new Map<string, number>();

  constructor(opts: ImageServiceOptions) {
    this.store = new ImageStore({ root: ImageStore.dirFor(opts.dataDir) });
    this.#local = new LocalImageStore({ dataDir: opts.dataDir });
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.log;
    this.#opts = opts;
  }

  // The registry client (and fetch's undici) load on the first pull: a node that only runs
  // stored images never pays their memory.
  #getPuller(): Promise<Puller> {
    this.#puller ??= Promise.all([import('./pull.js'), import('./registry/hosts.js')]).then(
      ([{ Puller }, { RegistryHosts }]) =>
        new Puller({
          store: this.store,
          hosts: new RegistryHosts({ mirrors: this.#opts.mirrors, insecure: this.#opts.insecure }),
          log: this.#opts.log,
          clock: this.#clock,
          headersTimeoutMs: this.#opts.headersTimeoutMs,
          fetch: this.#opts.fetch,
        }),
    );
    return this.#puller;
  }

  /** True when ref runs without a pull (a folder image, an internal one, or stored). */
  has(ref: string): boolean {
    const { repository, tag } = parseImageRef(ref);
    if (this.#local.lookup(repository, tag) || isSkiffInternal(repository)) return true;
    try {
      return this.#storedName(parseReference(ref)) !== undefined;
    } catch {
      return false;
    }
  }

  /** Makes ref present per the pull policy and resolves it; see the class contract. */
  async ensure(ref: string, opts: PullOptions): Promise<EnsuredImage> {
    const { repository, tag } = parseImageRef(ref);
    const folder = this.#local.lookup(repository, tag);
    if (folder || isSkiffInternal(repository))
      return {
        image: resolveImage(ref, { local: this.#local }),
        pulled: false,
        size: 0,
        pullMs: 0,
      };
    let parsed: ImageReference;
    try {
      parsed = parseReference(ref);
    } catch (err) {
      throw new ImagePullError(ref, errorMessage(err));
    }
    const name = formatReference(parsed);
    const running = this.#inflight.get(name);
    if (running) return running;
    const job = this.#ensure(ref, parsed, opts).finally(() => this.#inflight.delete(name));
    this.#inflight.set(name, job);
    return job;
  }

  async #ensure(ref: string, parsed: ImageReference, opts: PullOptions): Promise<EnsuredImage> {
    const name = formatReference(parsed);
    const stored = this.#storedName(parsed);
    if (stored && opts.policy !== 'Always') {
      // A name whose content went missing (an interrupted load, a removed blob) is pulled again.
      const img = await this.store.image(stored).catch((err: unknown) => {
        if (err instanceof IncompleteImageError && opts.policy !== 'Never') return undefined;
        throw err;
      });
      if (img) {
        const layers = await this.store.unpackImage(img, opts.signal);
        return {
          image: await this.#resolved(ref, parsed, img, layers),
          pulled: false,
          size: img.size,
          pullMs: 0,
        };
      }
    }
    if (opts.policy === 'Never') throw new ErrImageNeverPull(ref);
    const started = this.#clock.now();
    try {
      const puller = await this.#getPuller();
      const res = await puller.pull(parsed, {
        credentials: opts.credentials,
        signal: opts.signal,
      });
      this.lastUsed.set(name, this.#clock.now());
      return {
        image: await this.#resolved(ref, parsed, res.image, res.layers),
        pulled: true,
        size: res.image.size,
        pullMs: this.#clock.now() - started,
      };
    } catch (err) {
      if (isAbortError(err) || opts.signal?.aborted) throw err;
      this.#log?.warn('Pull failed', { image: name, err: errorMessage(err) });
      throw new ImagePullError(name, errorMessage(err), { cause: err });
    }
  }

  async #resolved(
    ref: string,
    parsed: ImageReference,
    img: StoredImage,
    layers: string[],
  ): Promise<ResolvedImage> {
    await resolveCrossLinks(layers);
    this.lastUsed.set(img.ref, this.#clock.now());
    return toResolvedImage({
      ref,
      imageID: `${repoName(parsed)}@${img.target.digest}`,
      config: img.config,
      layers,
    });
  }

  /** The stored name for a reference: itself, or (by digest) any name of that repo and digest. */
  #storedName(parsed: ImageReference): string | undefined {
    const name = formatReference(parsed);
    const entries = this.store.index.list();
    if (entries.some((e) => e.ref === name)) return name;
    if (!parsed.digest) return undefined;
    const repo = repoName(parsed);
    return entries.find(
      (e) =>
        e.target.digest === parsed.digest &&
        parseReferenceSafe(e.ref)?.repository === parsed.repository &&
        e.ref.startsWith(repo),
    )?.ref;
  }
}

function parseReferenceSafe(ref: string): ImageReference | undefined {
  try {
    return parseReference(ref);
  } catch {
    return undefined;
  }
}
