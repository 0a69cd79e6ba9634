// The image store in <data-dir>/images: an OCI image layout (blobs, index.json) plus unpacked
// layers (l/), one directory per diffID shared by every image. Pulls, `skiff image load` and
// the local registry all write here; pods read the layer directories.
import { statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  type ImageConfig,
  type ImageIndexManifest,
  isIndex,
  type Manifest,
  mediaTypeOf,
  pickPlatform,
  validateManifest,
} from '../manifest.js';
import { unpackLayer } from '../unpack/unpack-layer.js';
import { BlobStore } from './blob-store.js';
import { recordCrossLinks } from './cross-links.js';
import { type Descriptor, ImageIndex } from './image-index.js';
import { LayerStore } from './layer-store.js';

/** A stored image resolved down to its platform manifest and config. */
export interface StoredImage {
  ref: string;
  /** What the name points at: an index or a manifest (its digest is the imageID's). */
  target: Descriptor;
  manifestDigest: string;
  manifest: Manifest;
  config: ImageConfig;
  /** Bytes of manifest, config and compressed layers. */
  size: number;
}

/** One row of `skiff image list`. */
export interface ImageSummary {
  ref: string;
  digest: string;
  size: number;
  /** True when every layer is unpacked (ready to run). */
  unpacked: boolean;
}

/** Thrown when a stored image lacks a blob it needs (an interrupted load, a foreign platform). */
export class IncompleteImageError extends Error {
  constructor(ref: string, detail: string) {
    super(`image "${ref}" is incomplete in the store: ${detail}`);
    this.name = 'IncompleteImageError';
  }
}

/** The content store, names and unpacked layers of one data dir. */
export class ImageStore {
  readonly root: string;
  readonly blobs: BlobStore;
  readonly index: ImageIndex;
  readonly layers: LayerStore;
  /** Unpacks in flight by diffID: two images (or pulls) sharing a layer unpack it once. */
  readonly #unpacking = new Map<string, Promise<string>>();

  constructor(opts: { root: string }) {
    this.root = opts.root;
    this.blobs = new BlobStore({ root: opts.root });
    this.index = new ImageIndex({ root: opts.root });
    this.layers = new LayerStore({ root: opts.root });
  }

  /** The store directory for `<data-dir>`. */
  static dirFor(dataDir: string): string {
    return path.join(dataDir, 'images');
  }

  /** Bytes a layer may unpack to: the free space of the store's filesystem. */
  freeBytes(): number {
    const s = statfsSync(this.root);
    return s.bavail * s.bsize;
  }

  /** Resolves a name to its platform manifest and config; undefined when it is not stored. */
  async image(ref: string): Promise<StoredImage | undefined> {
    const target = this.index.get(ref);
    if (!target) return undefined;
    return this.resolveTarget(ref, target);
  }

  /** Reads a target (index or manifest) down to the host platform's manifest and config. */
  async resolveTarget(ref: string, target: Descriptor): Promise<StoredImage> {
    const need = (digest: string, what: string) => {
      if (!this.blobs.has(digest))
        throw new IncompleteImageError(ref, `${what} ${digest} is missing`);
    };
    need(target.digest, 'manifest');
    let manifestDigest = target.digest;
    const doc = await this.blobs.readJSON<Manifest & ImageIndexManifest>(target.digest);
    let manifest: Manifest = doc;
    let size = target.size;
    if (isIndex(mediaTypeOf(doc))) {
      const picked = pickPlatform(doc);
      if (!picked) throw new IncompleteImageError(ref, 'no linux/amd64 manifest in its index');
      need(picked.digest, 'manifest');
      manifestDigest = picked.digest;
      manifest = await this.blobs.readJSON<Manifest>(picked.digest);
      size += picked.size;
    }
    validateManifest(manifest, `image "${ref}"`);
    need(manifest.config.digest, 'config');
    const config = await this.blobs.readJSON<ImageConfig>(manifest.config.digest);
    size += manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0);
    return { ref, target, manifestDigest, manifest, config, size };
  }

  /** diffIDs of an image, checked against its layer count. */
  diffIDs(img: StoredImage): string[] {
    const ids = img.config.rootfs?.diff_ids ?? [];
    if (ids.length !== img.manifest.layers.length)
      throw new IncompleteImageError(
        img.ref,
        `its config lists ${ids.length} diffIDs for ${img.manifest.layers.length} layers`,
      );
    return ids;
  }

  /** True when every layer of the image is unpacked. */
  isUnpacked(img: StoredImage): boolean {
    return this.diffIDs(img).every((id) => this.layers.has(id));
  }

  /** Unpacks every missing layer from the stored blobs; returns the layer dirs, bottom first. */
  async unpackImage(img: StoredImage, signal?: AbortSignal): Promise<string[]> {
    const ids = this.diffIDs(img);
    return Promise.all(
      ids.map((diffID, i) => {
        const layer = img.manifest.layers[i]!;
        if (this.layers.has(diffID)) return this.layers.path(diffID);
        if (!this.blobs.has(layer.digest))
          throw new IncompleteImageError(img.ref, `layer ${layer.digest} is missing`);
        return this.unpackBlob(layer.digest, diffID, signal);
      }),
    );
  }

  /** Unpacks a stored layer blob as diffID (once, shared with concurrent callers). */
  unpackBlob(digest: string, diffID: string, signal?: AbortSignal): Promise<string> {
    return this.unpackOnce(diffID, (dir) =>
      unpackLayer(this.blobs.open(digest), {
        dir,
        expectedDiffID: diffID,
        maxBytes: this.freeBytes(),
        what: `layer ${digest}`,
        signal,
      }).then((r) => recordCrossLinks(dir, r.crossLinks)),
    );
  }

  /**
   * Runs `produce` to fill a fresh temp dir with the layer `diffID`, then commits it; concurrent
   * callers for one diffID share the first call. A failure removes the temp dir.
   */
  unpackOnce(diffID: string, produce: (dir: string) => Promise<void>): Promise<string> {
    if (this.layers.has(diffID)) return Promise.resolve(this.layers.path(diffID));
    const running = this.#unpacking.get(diffID);
    if (running) return running;
    const job = (async () => {
      const tmp = this.layers.tempDir();
      try {
        await produce(tmp);
        return this.layers.commit(tmp, diffID);
      } catch (err) {
        this.layers.removeTemp(tmp);
        throw err;
      } finally {
        this.#unpacking.delete(diffID);
      }
    })();
    this.#unpacking.set(diffID, job);
    return job;
  }

  /** True while some layer is being unpacked by this process. */
  isUnpacking(diffID: string): boolean {
    return this.#unpacking.has(diffID);
  }

  /** Every named image with its digest and size (unreadable ones show size 0). */
  async list(): Promise<ImageSummary[]> {
    const rows: ImageSummary[] = [];
    for (const { ref, target } of this.index.list()) {
      try {
        const img = await this.resolveTarget(ref, target);
        rows.push({ ref, digest: target.digest, size: img.size, unpacked: this.isUnpacked(img) });
      } catch {
        rows.push({ ref, digest: target.digest, size: 0, unpacked: false });
      }
    }
    return rows.sort((a, b) => a.ref.localeCompare(b.ref));
  }

  /**
   * Removes blobs and layer directories no name reaches any more. Content younger than
   * graceMs is kept: a pull or load in another process may not have named it yet.
   */
  async sweep(opts: {
    now: number;
    graceMs?: number;
    /** Short layer names a mount uses (never removed). */
    keepLayers?: Set<string>;
  }): Promise<{ blobs: number; layers: number }> {
    const grace = opts.graceMs ?? 600_000;
    const blobs = new Set<string>();
    const diffIDs = new Set<string>();
    for (const { target } of this.index.list()) {
      blobs.add(target.digest);
      if (!this.blobs.has(target.digest)) continue;
      const doc = await this.blobs.readJSON<Manifest & ImageIndexManifest>(target.digest);
      const manifests = isIndex(mediaTypeOf(doc)) ? doc.manifests : [target];
      for (const m of manifests) {
        blobs.add(m.digest);
        if (!this.blobs.has(m.digest)) continue;
        const man = await this.blobs.readJSON<Manifest>(m.digest);
        if (!man.config?.digest) continue;
        blobs.add(man.config.digest);
        for (const l of man.layers ?? []) blobs.add(l.digest);
        if (!this.blobs.has(man.config.digest)) continue;
        const cfg = await this.blobs.readJSON<ImageConfig>(man.config.digest);
        for (const id of cfg.rootfs?.diff_ids ?? []) diffIDs.add(id);
      }
    }
    const young = (p: string) => {
      try {
        return opts.now - statSync(p).mtimeMs < grace;
      } catch {
        return true;
      }
    };
    let removedBlobs = 0;
    for (const d of this.blobs.list())
      if (!blobs.has(d) && !young(this.blobs.path(d))) {
        this.blobs.remove(d);
        removedBlobs++;
      }
    let removedLayers = 0;
    for (const id of this.layers.list())
      if (
        !diffIDs.has(id) &&
        !this.isUnpacking(id) &&
        !opts.keepLayers?.has(path.basename(this.layers.path(id))) &&
        !young(`${this.layers.path(id)}.id`)
      ) {
        this.layers.remove(id);
        removedLayers++;
      }
    this.blobs.sweepTemp(opts.now);
    this.layers.sweepTemp(opts.now);
    return { blobs: removedBlobs, layers: removedLayers };
  }
}
