// Unpacked layers: one directory per layer, keyed by its diffID and shared by every image that
// has it. Names are short (`l/<24 hex>`): an overlay mount lists every layer in one option string
// capped near 4096 bytes. A layer is unpacked into a temp directory and renamed into place only
// when complete and verified, so a directory under its name is always whole.
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { digestHex } from './blob-store.js';
import { moveCrossLinks, removeCrossLinks } from './cross-links.js';

const shortLength = 24;

/** The layers/ directory of the image store. */
export class LayerStore {
  readonly #dir: string;

  constructor(opts: { root: string }) {
    this.#dir = path.join(opts.root, 'l');
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
  }

  /** Directory of the layer with this diffID (whether or not it exists). */
  path(diffID: string): string {
    return path.join(this.#dir, digestHex(diffID).slice(0, shortLength));
  }

  /** True when the layer is unpacked (and its short name is not another layer's). */
  has(diffID: string): boolean {
    const dir = this.path(diffID);
    if (!existsSync(dir)) return false;
    try {
      return readFileSync(`${dir}.id`, 'utf8').trim() === diffID;
    } catch {
      return false;
    }
  }

  /** A fresh empty directory to unpack into, on the same filesystem as the final place. */
  tempDir(): string {
    const dir = path.join(this.#dir, `.tmp-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { mode: 0o755 });
    return dir;
  }

  /**
   * Moves an unpacked temp directory into place. When another process or pull won the race, its
   * copy is kept and ours removed (same diffID, same content).
   */
  commit(tempDir: string, diffID: string): string {
    const dir = this.path(diffID);
    const idFile = `${dir}.id`;
    // The id file goes first: a directory never exists without it, so a short-name collision
    // (another diffID with the same prefix) is caught here rather than mixing two layers.
    const id = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : '';
    if (id && id !== diffID)
      throw new Error(`layer directory ${dir} already holds ${id}, not ${diffID}`);
    if (!id) writeFileSync(idFile, `${diffID}\n`);
    try {
      renameSync(tempDir, dir);
      moveCrossLinks(tempDir, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      this.removeTemp(tempDir);
    }
    return dir;
  }

  /** diffIDs of every unpacked layer. */
  list(): string[] {
    return readdirSync(this.#dir)
      .filter((n) => n.endsWith('.id'))
      .map((n) => readFileSync(path.join(this.#dir, n), 'utf8').trim());
  }

  remove(diffID: string): void {
    const dir = this.path(diffID);
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.id`, { force: true });
    removeCrossLinks(dir);
  }

  /** Removes temp directories older than maxAgeMs (an unpack that crashed; live ones are young). */
  sweepTemp(now: number, maxAgeMs = 3_600_000): void {
    for (const n of readdirSync(this.#dir)) {
      if (!n.startsWith('.tmp-')) continue;
      const p = path.join(this.#dir, n);
      if (now - statSync(p).mtimeMs > maxAgeMs) rmSync(p, { recursive: true, force: true });
    }
  }

  /** Removes a temp directory from tempDir() (a failed unpack). */
  removeTemp(dir: string): void {
    if (path.dirname(dir) === this.#dir && path.basename(dir).startsWith('.tmp-')) {
      rmSync(dir, { recursive: true, force: true });
      removeCrossLinks(dir);
    }
  }
}
