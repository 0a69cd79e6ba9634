// Blob upload sessions of the distribution API (POST, PATCH..., PUT ?digest=): bytes go to a temp
// file in the blob directory, hashed as they arrive, and the final PUT renames the file into place
// only when the digest matches, like any other blob of the store.
import { createHash, type Hash, randomUUID } from 'node:crypto';
import { createWriteStream, rmSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../store/blob-store.js';

interface Upload {
  file: string;
  hash: Hash;
  size: number;
  repo: string;
}

/** Thrown when an upload's bytes do not match the digest given to complete it. */
export class DigestInvalidError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestInvalidError';
  }
}

/** The open upload sessions of the local registry. */
export class Uploads {
  readonly #blobs: BlobStore;
  readonly #open = new Map<string, Upload>();
  readonly #maxBytes: () => number;

  constructor(opts: { blobs: BlobStore; maxBytes: () => number }) {
    this.#blobs = opts.blobs;
    this.#maxBytes = opts.maxBytes;
  }

  /** Opens a session for a repository; returns its id. */
  start(repo: string): string {
    const id = randomUUID();
    // `.tmp-` files are swept by the blob store after an hour: abandoned uploads go away.
    const file = path.join(
      path.dirname(this.#blobs.path(`sha256:${'0'.repeat(64)}`)),
      `.tmp-upload-${id}`,
    );
    this.#open.set(id, { file, hash: createHash('sha256'), size: 0, repo });
    return id;
  }

  /** The session, when it exists and belongs to repo. */
  get(id: string, repo: string): { size: number } | undefined {
    const u = this.#open.get(id);
    return u && u.repo === repo ? u : undefined;
  }

  /** Appends a request body; returns the new total size. */
  async append(id: string, body: NodeJS.ReadableStream): Promise<number> {
    const u = this.#open.get(id);
    if (!u) throw new RangeError(`upload ${id} is unknown`);
    const max = this.#maxBytes();
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        u.size += chunk.length;
        if (u.size > max) return cb(new RangeError(`upload exceeds the ${max} bytes free`));
        u.hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(body, count, createWriteStream(u.file, { flags: 'a', mode: 0o644 }));
    return u.size;
  }

  /** Completes a session: the bytes must hash to digest; the blob then joins the store. */
  async finish(id: string, digest: string): Promise<void> {
    const u = this.#open.get(id);
    if (!u) throw new RangeError(`upload ${id} is unknown`);
    this.#open.delete(id);
    const got = `sha256:${u.hash.digest('hex')}`;
    if (got !== digest) {
      rmSync(u.file, { force: true });
      throw new DigestInvalidError(
        `provided digest ${digest} does not match uploaded content ${got}`,
      );
    }
    // An empty blob never got a PATCH: create its (empty) file.
    if (u.size === 0) writeFileSync(u.file, '');
    await rename(u.file, this.#blobs.path(digest));
  }

  /** Abandons a session. */
  cancel(id: string): boolean {
    const u = this.#open.get(id);
    if (!u) return false;
    this.#open.delete(id);
    rmSync(u.file, { force: true });
    return true;
  }

  /** Drops every session (shutdown). */
  clear(): void {
    for (const id of [...this.#open.keys()]) this.cancel(id);
  }
}
