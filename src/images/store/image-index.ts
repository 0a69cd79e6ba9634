// index.json of the OCI image layout: one descriptor per image name, named by the standard
// `org.opencontainers.image.ref.name` annotation (the full reference, `docker.io/library/x:1`), so
// `skopeo copy oci:<dir>:<ref> ...` and umoci read it. A lock file serialises writers across
// processes (`skiff image load` next to a running `skiff up`); writes are write-then-rename.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { BlobRef } from './blob-store.js';

/** The annotation that names an image in an OCI layout. */
export const refNameAnnotation = 'org.opencontainers.image.ref.name';

/** An OCI content descriptor. */
export interface Descriptor extends BlobRef {
  mediaType: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

/** One named image: its reference and the descriptor of its manifest or index. */
export interface IndexEntry {
  ref: string;
  target: Descriptor;
}

interface IndexFile {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

const lockStaleMs = 30_000;

/** The named images of an OCI layout directory. */
export class ImageIndex {
  readonly #file: string;
  readonly #lock: string;

  constructor(opts: { root: string }) {
    this.#file = path.join(opts.root, 'index.json');
    this.#lock = path.join(opts.root, 'index.json.lock');
    const layout = path.join(opts.root, 'oci-layout');
    if (!existsSync(layout))
      writeFileSync(layout, `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
    if (!existsSync(this.#file)) this.#write({ schemaVersion: 2, manifests: [] });
  }

  /** Every named image, in file order. */
  list(): IndexEntry[] {
    return this.#read().manifests.flatMap((d) => {
      const ref = d.annotations?.[refNameAnnotation];
      return ref ? [{ ref, target: d }] : [];
    });
  }

  /** The descriptor a reference names, if any. */
  get(ref: string): Descriptor | undefined {
    return this.list().find((e) => e.ref === ref)?.target;
  }

  /** Names (or renames) an image: the reference now points at target. */
  set(ref: string, target: Descriptor): void {
    this.#update((manifests) => [
      ...manifests.filter((d) => d.annotations?.[refNameAnnotation] !== ref),
      { ...target, annotations: { ...target.annotations, [refNameAnnotation]: ref } },
    ]);
  }

  /** Drops a name; true when it existed. */
  remove(ref: string): boolean {
    let found = false;
    this.#update((manifests) =>
      manifests.filter((d) => {
        const hit = d.annotations?.[refNameAnnotation] === ref;
        found ||= hit;
        return !hit;
      }),
    );
    return found;
  }

  #read(): IndexFile {
    return JSON.parse(readFileSync(this.#file, 'utf8')) as IndexFile;
  }

  #write(index: IndexFile): void {
    const tmp = `${this.#file}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ ...index, mediaType: ociIndexType }, null, 2)}\n`);
    renameSync(tmp, this.#file);
  }

  #update(change: (manifests: Descriptor[]) => Descriptor[]): void {
    this.#withLock(() => {
      const index = this.#read();
      this.#write({ ...index, manifests: change(index.manifests) });
    });
  }

  #withLock(fn: () => void): void {
    const deadline = Date.now() + lockStaleMs;
    for (;;) {
      try {
        closeSync(openSync(this.#lock, 'wx'));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A writer that died holding the lock: its file ages past the stale bound.
        const age = Date.now() - (statSafe(this.#lock) ?? Date.now());
        if (age > lockStaleMs || Date.now() > deadline) rmSync(this.#lock, { force: true });
        else Atomics.wait(sleeper, 0, 0, 5);
      }
    }
    try {
      fn();
    } finally {
      rmSync(this.#lock, { force: true });
    }
  }
}

/** The OCI image index media type. */
export const ociIndexType = 'application/vnd.oci.image.index.v1+json';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function statSafe(p: string): number | undefined {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return undefined;
  }
}
