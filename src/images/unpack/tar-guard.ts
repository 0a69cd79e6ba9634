// A pass-through over an uncompressed layer tar on its way to GNU tar: hashes it (the diffID),
// reads every header (ustar, GNU long names, pax records) and refuses or neutralises what a hostile
// layer could use against the host: `..` in a path or hard-link target (refused), absolute paths
// (made relative, as GNU tar does), device nodes (turned into empty files), entries or totals
// larger than the space allowed (refused before anything that big is written). It also collects
// the whiteouts, which are applied after extraction (whiteouts.ts).
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const block = 512;

/** Why a layer was refused. */
export class HostileLayerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostileLayerError';
  }
}

/** A whiteout found in the layer, by the path of its `.wh.` entry. */
export interface WhiteoutEntry {
  /** Path of the `.wh.*` entry relative to the layer root. */
  path: string;
  /** `file` hides one lower path, `opaque` hides a whole lower directory, `meta` is aufs noise. */
  kind: 'file' | 'opaque' | 'meta';
}

/** Limits a layer must stay within. */
export interface TarGuardOptions {
  /** Most uncompressed bytes the layer may hold (the free space of the store, typically). */
  maxBytes: number;
  /** Where the bytes come from, for messages. */
  what: string;
}

/** The guard's findings once the stream ended. */
export interface TarGuardResult {
  diffID: string;
  size: number;
  whiteouts: WhiteoutEntry[];
  /** Device nodes turned into empty files. */
  neutralised: string[];
  /**
   * Hard links to a file this layer does not hold (it is in a lower layer): extracted as empty
   * files, to be filled from the lower layers (store/cross-links.ts).
   */
  crossLinks: CrossLink[];
}

/** A hard link at `path` to `target`, a file of a lower layer. */
export interface CrossLink {
  path: string;
  target: string;
}

/** Normalises an entry name; refuses one that climbs out with `..`. */
export function safeEntryPath(name: string, what: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new HostileLayerError(`${what}: entry "${name}" climbs out of the layer with ".."`);
  return parts.join('/');
}

function cstring(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
}

/** A numeric header field: octal text, or base-256 when the high bit of its first byte is set. */
function numeric(buf: Buffer, start: number, len: number): number {
  if ((buf[start] ?? 0) & 0x80) {
    let v = (buf[start] ?? 0) & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + (buf[i] ?? 0);
    return v;
  }
  const text = cstring(buf, start, len).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function checksumOk(header: Buffer): boolean {
  const want = Number.parseInt(cstring(header, 148, 8).trim(), 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < block; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

function checksum(header: Buffer): void {
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < block; i++) sum += header[i] ?? 0;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

/** pax records `len key=value\n`; returns the keys Skiff cares about. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(data.toString('latin1', pos, space), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

const noData = new Set(['1', '2', '3', '4', '5', '6']);

/** See the file comment; read result() after the stream finished. */
export class TarGuard extends Transform {
  readonly #hash = createHash('sha256');
  readonly #opts: TarGuardOptions;
  #size = 0;
  #header = Buffer.alloc(0);
  /** Bytes of entry data (and padding) still to pass before the next header. */
  #skip = 0;
  /** Metadata entry data being collected (pax `x`, GNU `L`/`K`). */
  #meta?: { type: string; want: number; chunks: Buffer[]; got: number };
  #nextPath?: string;
  #nextLink?: string;
  #nextSize?: number;
  #ended = false;
  #afterEnd = 0;
  readonly #whiteouts: WhiteoutEntry[] = [];
  readonly #neutralised: string[] = [];
  readonly #crossLinks: CrossLink[] = [];
  /** Every path this layer has extracted so far (a hard link's target must be one of them). */
  readonly #seen = new Set<string>();

  constructor(opts: TarGuardOptions) {
    super();
    this.#opts = opts;
  }

  result(): TarGuardResult {
    return {
      diffID: `sha256:${this.#hash.digest('hex')}`,
      size: this.#size,
      whiteouts: this.#whiteouts,
      neutralised: this.#neutralised,
      crossLinks: this.#crossLinks,
    };
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    try {
      if (this.#size > this.#opts.maxBytes)
        throw new HostileLayerError(
          `${this.#opts.what}: unpacks to more than ${this.#opts.maxBytes} bytes (the space allowed)`,
        );
      this.#consume(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  #consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#ended) {
        // GNU tar stops at the end marker; trailing padding is hashed but not fed to it (it may
        // have closed its stdin already). One block more covers the second zero block.
        const n = Math.min(chunk.length - pos, Math.max(0, block - this.#afterEnd));
        if (n > 0) this.push(chunk.subarray(pos, pos + n));
        this.#afterEnd += chunk.length - pos;
        return;
      }
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - pos);
        const data = chunk.subarray(pos, pos + n);
        if (this.#meta && this.#meta.got < this.#meta.want) {
          const take = data.subarray(0, this.#meta.want - this.#meta.got);
          this.#meta.chunks.push(take);
          this.#meta.got += take.length;
        }
        this.push(data);
        this.#skip -= n;
        pos += n;
        if (this.#skip === 0 && this.#meta) this.#metaDone();
        continue;
      }
      const need = block - this.#header.length;
      const take = chunk.subarray(pos, pos + need);
      this.#header = this.#header.length ? Buffer.concat([this.#header, take]) : Buffer.from(take);
      pos += take.length;
      if (this.#header.length === block) {
        const header = this.#header;
        this.#header = Buffer.alloc(0);
        this.#onHeader(header);
        this.push(header);
      }
    }
  }

  #metaDone(): void {
    const meta = this.#meta;
    this.#meta = undefined;
    if (!meta) return;
    const data = Buffer.concat(meta.chunks);
    if (meta.type === 'x') {
      const rec = paxRecords(data);
      if (rec.has('path')) this.#nextPath = rec.get('path');
      if (rec.has('linkpath')) this.#nextLink = rec.get('linkpath');
      if (rec.has('size')) this.#nextSize = Number(rec.get('size'));
      // GNU tar names a pax-sparse file by this key, over `path`.
      if (rec.has('GNU.sparse.name')) this.#nextPath = rec.get('GNU.sparse.name');
    } else if (meta.type === 'L') this.#nextPath = cstring(data, 0, data.length);
    else if (meta.type === 'K') this.#nextLink = cstring(data, 0, data.length);
  }

  #onHeader(header: Buffer): void {
    if (header.every((b) => b === 0)) {
      this.#ended = true;
      return;
    }
    const what = this.#opts.what;
    // GNU tar skips a bad header and hunts for the next one, which could sit inside data this
    // reader skipped: a header it cannot vouch for ends the layer.
    if (!checksumOk(header))
      throw new HostileLayerError(`${what}: a tar header with a bad checksum`);
    const type = String.fromCharCode(header[156] ?? 0x30);
    let size = numeric(header, 124, 12);
    if (['x', 'g', 'L', 'K'].includes(type)) {
      // Metadata for the next entry: its data is small text that Skiff reads.
      if (size > 1 << 20) throw new HostileLayerError(`${what}: a ${size}-byte tar metadata entry`);
      this.#skip = Math.ceil(size / block) * block;
      this.#meta = { type, want: size, chunks: [], got: 0 };
      if (this.#skip === 0) this.#metaDone();
      return;
    }
    if (this.#nextSize !== undefined) size = this.#nextSize;
    const ustar = header.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = ustar ? cstring(header, 345, 155) : '';
    const rawName = this.#nextPath ?? (prefix ? `${prefix}/` : '') + cstring(header, 0, 100);
    const rawLink = this.#nextLink ?? cstring(header, 157, 100);
    this.#nextPath = this.#nextLink = this.#nextSize = undefined;

    if (!Number.isSafeInteger(size) || size < 0 || size > this.#opts.maxBytes)
      throw new HostileLayerError(
        `${what}: entry "${rawName}" declares ${size} bytes, more than the ${this.#opts.maxBytes} allowed`,
      );
    const name = safeEntryPath(rawName, what);
    if (type === '1') {
      const target = safeEntryPath(rawLink, what);
      if (!this.#seen.has(target)) {
        // GNU tar cannot link to a file it never extracted: an empty file stands in for it.
        header[156] = 0x30;
        header.fill(0, 157, 257);
        checksum(header);
        this.#crossLinks.push({ path: name, target });
      }
    }
    this.#seen.add(name);
    if (type === '3' || type === '4') {
      // Device nodes would hand a pod the host's devices: keep an empty regular file instead.
      header[156] = 0x30;
      header.fill(0, 329, 345);
      checksum(header);
      this.#neutralised.push(name);
    }
    const base = name.slice(name.lastIndexOf('/') + 1);
    if (base.startsWith('.wh.')) {
      const kind =
        base === '.wh..wh..opq' ? 'opaque' : base.startsWith('.wh..wh.') ? 'meta' : 'file';
      this.#whiteouts.push({ path: name, kind });
    }
    // GNU tar reads data blocks for every type but these (unknown types extract as files). A
    // link, directory or device that claims data would let this reader and tar disagree on where
    // the next header is, so it is refused, as are old GNU sparse headers (extension blocks).
    if (noData.has(type)) {
      if (size !== 0)
        throw new HostileLayerError(`${what}: entry "${rawName}" of type ${type} claims data`);
      this.#skip = 0;
    } else {
      if (type === 'S')
        throw new HostileLayerError(`${what}: old GNU sparse entries are not supported`);
      this.#skip = Math.ceil(size / block) * block;
    }
  }
}
