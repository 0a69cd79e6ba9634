// Content-addressed blobs (the OCI image layout's blobs/sha256/<hex>). A blob is written to a temp
// file beside its final place, checked against the expected digest and size, then renamed: a
// partial or tampered download never appears under its name.
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const digestPattern = /^sha256:([a-f0-9]{64})$/;

/** The digest and size of a blob (a descriptor's identity). */
export interface BlobRef {
  digest: string;
  size: number;
}

/** Thrown when a blob's bytes do not match the digest or size they were promised under. */
export class BlobMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlobMismatchError';
  }
}

/** Hex part of a `sha256:` digest; throws TypeError on any other algorithm or form. */
export function digestHex(digest: string): string {
  const m = digestPattern.exec(digest);
  if (!m?.[1]) throw new TypeError(`unsupported digest "${digest}" (only sha256 is supported)`);
  return m[1];
}

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * A writable sink that hashes and counts what passes through, refusing more bytes than expected
 * as soon as they arrive (a registry that streams forever cannot fill the disk).
 */
export class VerifyingWriter {
  readonly #hash = createHash('sha256');
  #size = 0;
  readonly #expected: Partial<BlobRef>;
  readonly #what: string;

  constructor(expected: Partial<BlobRef>, what: string) {
    this.#expected = expected;
    this.#what = what;
  }

  /** Accounts for a chunk; throws once the expected size is exceeded. */
  update(chunk: Uint8Array): void {
    this.#size += chunk.length;
    if (this.#expected.size !== undefined && this.#size > this.#expected.size)
      throw new BlobMismatchError(
        `${this.#what}: more than the ${this.#expected.size} bytes its descriptor declares`,
      );
    this.#hash.update(chunk);
  }

  /** Checks size and digest at the end; returns what was actually seen. */
  finish(): BlobRef {
    const digest = `sha256:${this.#hash.digest('hex')}`;
    if (this.#expected.size !== undefined && this.#size !== this.#expected.size)
      throw new BlobMismatchError(
        `${this.#what}: got ${this.#size} bytes, its descriptor declares ${this.#expected.size}`,
      );
    if (this.#expected.digest !== undefined && digest !== this.#expected.digest)
      throw new BlobMismatchError(
        `${this.#what}: content digest ${digest} does not match ${this.#expected.digest}`,
      );
    return { digest, size: this.#size };
  }
}

/** A blob being written: feed chunks, then commit (verify + rename) or abort. */
export interface BlobUpload {
  /** The temp file's path (readers may tail it while it grows). */
  readonly tempPath: string;
  write(chunk: Uint8Array): Promise<void>;
  /** Verifies and moves the blob into place; returns its identity. */
  commit(): Promise<BlobRef>;
  abort(): Promise<void>;
}

/** The blobs/sha256 directory of an OCI image layout. */
export class BlobStore {
  readonly #dir: string;

  constructor(opts: { root: string }) {
    this.#dir = path.join(opts.root, 'blobs', 'sha256');
    mkdirSync(this.#dir, { recursive: true });
  }

  /** Where a blob lives (whether or not it exists). */
  path(digest: string): string {
    return path.join(this.#dir, digestHex(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  /** Size in bytes, or undefined when absent. */
  size(digest: string): number | undefined {
    try {
      return statSync(this.path(digest)).size;
    } catch {
      return undefined;
    }
  }

  /** Every stored digest. */
  list(): string[] {
    return readdirSync(this.#dir)
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => `sha256:${n}`);
  }

  async readBytes(digest: string): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  async readJSON<T>(digest: string): Promise<T> {
    return JSON.parse((await this.readBytes(digest)).toString('utf8')) as T;
  }

  /** Stores bytes already in memory (manifests, configs); returns their descriptor identity. */
  async putBytes(data: Uint8Array, expected: Partial<BlobRef> = {}): Promise<BlobRef> {
    const up = this.begin(expected, 'blob');
    try {
      await up.write(data);
      return await up.commit();
    } catch (err) {
      await up.abort();
      throw err;
    }
  }

  /** Copies a stream into the store, verified against expected digest/size when given. */
  async putStream(source: NodeJS.ReadableStream, expected: Partial<BlobRef>, what: string) {
    const up = this.begin(expected, what);
    try {
      await pipeline(
        source,
        new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            up.write(chunk).then(() => cb(), cb);
          },
        }),
      );
      return await up.commit();
    } catch (err) {
      await up.abort();
      throw err;
    }
  }

  /** Starts a verified upload into a temp file in the blob directory (same filesystem: rename). */
  begin(expected: Partial<BlobRef>, what: string): BlobUpload {
    const tempPath = path.join(this.#dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const out = createWriteStream(tempPath, { mode: 0o644 });
    const verify = new VerifyingWriter(expected, what);
    let failed: Error | undefined;
    out.on('error', (err) => {
      failed = err;
    });
    const closed = () =>
      new Promise<void>((resolve, reject) => {
        if (out.closed) return resolve();
        out.end(() => (failed ? reject(failed) : resolve()));
      });
    return {
      tempPath,
      write: (chunk) => {
        if (failed) return Promise.reject(failed);
        verify.update(chunk);
        return new Promise<void>((resolve, reject) => {
          if (out.write(chunk)) return resolve();
          const done = (err?: Error) => {
            out.off('drain', done);
            out.off('error', done);
            if (err) reject(err);
            else resolve();
          };
          out.on('drain', done);
          out.on('error', done);
        });
      },
      commit: async () => {
        await closed();
        const ref = verify.finish();
        await rename(tempPath, this.path(ref.digest));
        return ref;
      },
      abort: async () => {
        await closed().catch(() => undefined);
        await rm(tempPath, { force: true });
      },
    };
  }

  /** Opens a stored blob for reading. */
  open(digest: string, opts: { start?: number; end?: number } = {}) {
    return createReadStream(this.path(digest), opts);
  }

  remove(digest: string): void {
    rmSync(this.path(digest), { force: true });
  }

  /** Removes temp files older than maxAgeMs (a crash left them; a live upload keeps writing). */
  sweepTemp(now: number, maxAgeMs = 3_600_000): void {
    for (const n of readdirSync(this.#dir)) {
      if (!n.startsWith('.tmp-')) continue;
      const p = path.join(this.#dir, n);
      if (now - statSync(p).mtimeMs > maxAgeMs) rmSync(p, { force: true });
    }
  }
}
