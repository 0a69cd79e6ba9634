// Image garbage collection as the kubelet does it (pkg/kubelet/images/image_gc_manager.go): when
// the image filesystem is above the high threshold (85%), remove least-recently-used images until
// it would be at the low threshold (80%); never an image a pod uses, a pinned one (loaded or
// pushed, as k3s pins imports) or one first seen less than the minimum age (2 min) ago.
import { readdirSync, readFileSync, readlinkSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage, isAbortError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { pinnedAnnotation } from './load.js';
import { parseReference, repoName } from './reference.js';
import type { ImageStore, StoredImage } from './store/image-store.js';

/** Thresholds and timing of the image GC (kubelet defaults). */
export interface ImageGCPolicy {
  highThresholdPercent: number;
  lowThresholdPercent: number;
  minAgeMs: number;
  periodMs: number;
}

/** The kubelet's defaults: 85% / 80%, 2 min minimum age, every 5 min. */
export const defaultImageGCPolicy: ImageGCPolicy = {
  highThresholdPercent: 85,
  lowThresholdPercent: 80,
  minAgeMs: 120_000,
  periodMs: 300_000,
};

/** Capacity and free bytes of a filesystem. */
export interface DiskUsage {
  capacity: number;
  available: number;
}

/** statfs of the store's filesystem. */
export function diskUsage(dir: string): DiskUsage {
  const s = statfsSync(dir);
  return { capacity: s.blocks * s.bsize, available: s.bavail * s.bsize };
}

/** Adds the short layer names an overlay line of a mountinfo text lists as lowerdirs. */
function addLowerDirs(text: string, out: Set<string>): void {
  for (const line of text.split('\n')) {
    const m = / - overlay \S+ (\S+)/.exec(line);
    if (!m?.[1]) continue;
    for (const opt of m[1].split(','))
      if (opt.startsWith('lowerdir='))
        for (const dir of opt.slice(9).split(':')) out.add(path.basename(dir.replace(/\/+$/, '')));
  }
}

/**
 * Short names of layer directories some overlay mount uses right now, so nothing under a running
 * container is removed, whoever mounted it and however it wrote the paths. Containers mount in
 * their own mount namespaces, so every namespace is read (one process's mountinfo each).
 */
export function mountedLayers(mountinfos?: string[]): Set<string> {
  const out = new Set<string>();
  const files = mountinfos ?? mountinfoPerNamespace();
  for (const file of files) {
    try {
      addLowerDirs(readFileSync(file, 'utf8'), out);
    } catch {
      // the process exited meanwhile: its mounts went with it
    }
  }
  return out;
}

function mountinfoPerNamespace(): string[] {
  const seen = new Set<string>();
  const files: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const ns = readlinkSync(`/proc/${pid}/ns/mnt`);
      if (seen.has(ns)) continue;
      seen.add(ns);
      files.push(`/proc/${pid}/mountinfo`);
    } catch {
      // exited, or not ours to read
    }
  }
  return files;
}

/** Options of removeImages. */
export interface RemoveOptions {
  /** References or imageIDs (`repo@sha256:...`) that pods use. */
  inUse?: Iterable<string>;
  /** Keep pinned images (the GC does; an explicit prune does not). */
  keepPinned: boolean;
  /** Stop once this many bytes are freed (default: remove every candidate). */
  bytesToFree?: number;
  /** Last use per name; least recently used go first. */
  lastUsed?: Map<string, number>;
  /** Names seen after this instant are left alone (the minimum age). */
  seenBefore?: { firstSeen: Map<string, number>; cutoff: number };
  now: number;
  /** Unnamed content younger than this is kept (a pull in progress elsewhere); default 60 s. */
  graceMs?: number;
}

/** True when a pod uses the image, by name, by imageID or by a mounted layer. */
function isInUse(store: ImageStore, img: StoredImage, inUse: Set<string>, mounted: Set<string>) {
  if (inUse.has(img.ref)) return true;
  const parsed = (() => {
    try {
      return parseReference(img.ref);
    } catch {
      return undefined;
    }
  })();
  if (parsed && inUse.has(`${repoName(parsed)}@${img.target.digest}`)) return true;
  return (img.config.rootfs?.diff_ids ?? []).some((id) =>
    mounted.has(path.basename(store.layers.path(id))),
  );
}

/** Removes unused images (LRU first) and then the content nobody names; returns what went. */
export async function removeImages(store: ImageStore, opts: RemoveOptions) {
  const inUse = new Set<string>();
  for (const r of opts.inUse ?? []) {
    inUse.add(r);
    try {
      const p = parseReference(r);
      inUse.add(`${repoName(p)}${p.digest ? `@${p.digest}` : `:${p.tag}`}`);
    } catch {
      // an imageID or a name that is not a reference: kept as given
    }
  }
  const mounted = mountedLayers();
  const candidates: StoredImage[] = [];
  for (const { ref, target } of store.index.list()) {
    if (opts.keepPinned && target.annotations?.[pinnedAnnotation] === 'true') continue;
    const seen = opts.seenBefore?.firstSeen.get(ref);
    if (opts.seenBefore && (seen === undefined || seen > opts.seenBefore.cutoff)) continue;
    const img = await store.resolveTarget(ref, target).catch(() => undefined);
    if (img && isInUse(store, img, inUse, mounted)) continue;
    candidates.push(img ?? ({ ref, target, size: 0 } as StoredImage));
  }
  const lastUsed = opts.lastUsed ?? new Map<string, number>();
  candidates.sort((a, b) => (lastUsed.get(a.ref) ?? 0) - (lastUsed.get(b.ref) ?? 0));
  const removed: string[] = [];
  let freed = 0;
  for (const img of candidates) {
    if (opts.bytesToFree !== undefined && freed >= opts.bytesToFree) break;
    store.index.remove(img.ref);
    removed.push(img.ref);
    freed += img.size;
  }
  // Young content may belong to a pull another process has not named yet.
  const swept = await store.sweep({
    now: opts.now,
    graceMs: opts.graceMs ?? 60_000,
    keepLayers: mounted,
  });
  return { removed, freed, ...swept };
}

/** The periodic image GC of a running node. */
export class ImageGC {
  readonly #store: ImageStore;
  readonly #inUse: () => Iterable<string>;
  readonly #lastUsed: Map<string, number>;
  readonly #policy: ImageGCPolicy;
  readonly #clock: Clock;
  readonly #log?: Logger;
  readonly #usage: () => DiskUsage;
  readonly #firstSeen = new Map<string, number>();

  constructor(opts: {
    store: ImageStore;
    inUse: () => Iterable<string>;
    lastUsed: Map<string, number>;
    policy?: Partial<ImageGCPolicy>;
    clock?: Clock;
    log?: Logger;
    usage?: () => DiskUsage;
  }) {
    this.#store = opts.store;
    this.#inUse = opts.inUse;
    this.#lastUsed = opts.lastUsed;
    this.#policy = { ...defaultImageGCPolicy, ...opts.policy };
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.log;
    this.#usage = opts.usage ?? (() => diskUsage(opts.store.root));
  }

  /** One GC pass; returns the names removed (empty below the high threshold). */
  async garbageCollect(): Promise<string[]> {
    const now = this.#clock.now();
    for (const { ref } of this.#store.index.list())
      if (!this.#firstSeen.has(ref)) this.#firstSeen.set(ref, now);
    const { capacity, available } = this.#usage();
    if (capacity <= 0) return [];
    const usagePercent = ((capacity - available) * 100) / capacity;
    if (usagePercent < this.#policy.highThresholdPercent) return [];
    const bytesToFree = (capacity * (100 - this.#policy.lowThresholdPercent)) / 100 - available;
    const res = await removeImages(this.#store, {
      inUse: this.#inUse(),
      keepPinned: true,
      bytesToFree,
      lastUsed: this.#lastUsed,
      seenBefore: { firstSeen: this.#firstSeen, cutoff: now - this.#policy.minAgeMs },
      now,
    });
    this.#log?.info('Image garbage collection', {
      usagePercent: Math.round(usagePercent),
      bytesToFree: Math.round(bytesToFree),
      removed: res.removed,
      freed: res.freed,
    });
    if (res.freed < bytesToFree)
      this.#log?.warn('Image garbage collection freed less than wanted', {
        freed: res.freed,
        bytesToFree,
      });
    return res.removed;
  }

  /** Runs garbageCollect every period until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#clock.sleep(this.#policy.periodMs, signal);
        await this.garbageCollect();
      } catch (err) {
        if (isAbortError(err) || signal.aborted) return;
        this.#log?.warn('Image garbage collection failed', { err: errorMessage(err) });
      }
    }
  }
}
