// Test helpers: tar archives and OCI images written by the tests themselves (hostile ones
// included), so image tests need no network and no image tools.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { gzipSync } from 'node:zlib';
import { sha256Digest } from './store/blob-store.js';

/** A temp directory for this test file, removed after its tests. */
export function testWorkDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One tar entry for tarball(). */
export interface TarEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Declared size, when it should lie about the data. */
  declaredSize?: number;
  /** Extended xattrs as pax SCHILY.xattr records. */
  xattrs?: Record<string, string>;
}

const typeFlags = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

function header(fields: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  type: string;
  linkname?: string;
}): Buffer {
  const h = Buffer.alloc(512);
  h.write(fields.name.slice(0, 100), 0, 'utf8');
  h.write(`${fields.mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write(`${fields.uid.toString(8).padStart(7, '0')}\0`, 108, 'latin1');
  h.write(`${fields.gid.toString(8).padStart(7, '0')}\0`, 116, 'latin1');
  if (fields.size > 0o77777777777) {
    // base-256, as GNU tar writes sizes above 8 GiB
    h[124] = 0x80;
    let v = BigInt(fields.size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else h.write(`${fields.size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write(fields.type, 156, 'latin1');
  h.write((fields.linkname ?? '').slice(0, 100), 157, 'utf8');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function pad(data: Buffer): Buffer[] {
  const rest = data.length % 512;
  return rest ? [data, Buffer.alloc(512 - rest)] : [data];
}

function paxEntry(records: Record<string, string>): Buffer[] {
  const body = Object.entries(records)
    .map(([k, v]) => {
      const base = ` ${k}=${v}\n`;
      let len = Buffer.byteLength(base) + 1;
      while (String(len).length + Buffer.byteLength(base) !== len) len++;
      return `${len}${base}`;
    })
    .join('');
  const data = Buffer.from(body);
  return [
    header({ name: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: data.length, type: 'x' }),
    ...pad(data),
  ];
}

/** A tar archive of the entries, in order (pax records for long names, links and xattrs). */
export function tarball(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = Buffer.from(e.data ?? '');
    const pax: Record<string, string> = {};
    if (Buffer.byteLength(e.name) > 100) pax['path'] = e.name;
    if (e.linkname && Buffer.byteLength(e.linkname) > 100) pax['linkpath'] = e.linkname;
    for (const [k, v] of Object.entries(e.xattrs ?? {})) pax[`SCHILY.xattr.${k}`] = v;
    if (Object.keys(pax).length) parts.push(...paxEntry(pax));
    const size = type === 'file' ? data.length : 0;
    parts.push(
      header({
        name: e.name,
        mode: e.mode ?? (type === 'dir' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        size: e.declaredSize ?? size,
        type: typeFlags[type],
        linkname: e.linkname,
      }),
    );
    if (size) parts.push(...pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Compresses a tar with the given format (zstd through the zstd binary). */
export function compress(tar: Buffer, kind: 'gzip' | 'zstd' | 'none'): Buffer {
  if (kind === 'gzip') return gzipSync(tar);
  if (kind === 'zstd') return execFileSync('zstd', ['-q', '-c'], { input: tar });
  return tar;
}

const layerTypes = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

/** A built test image: its blobs by digest and the descriptors tying them together. */
export interface TestImage {
  blobs: Map<string, Buffer>;
  manifest: { digest: string; size: number; mediaType: string };
  config: { digest: string; size: number };
  diffIDs: string[];
}

/** Builds an OCI image in memory from layer tars (bottom first) and config fields. */
export function buildImage(opts: {
  layers: Buffer[];
  compression?: 'gzip' | 'zstd' | 'none';
  config?: Record<string, unknown>;
  architecture?: string;
}): TestImage {
  const kind = opts.compression ?? 'gzip';
  const blobs = new Map<string, Buffer>();
  const add = (b: Buffer) => {
    const digest = sha256Digest(b);
    blobs.set(digest, b);
    return { digest, size: b.length };
  };
  const diffIDs = opts.layers.map((l) => sha256Digest(l));
  const layers = opts.layers.map((l) => ({
    mediaType: layerTypes[kind],
    ...add(compress(l, kind)),
  }));
  const config = add(
    Buffer.from(
      JSON.stringify({
        architecture: opts.architecture ?? 'amd64',
        os: 'linux',
        config: opts.config ?? {},
        rootfs: { type: 'layers', diff_ids: diffIDs },
      }),
    ),
  );
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = add(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers,
      }),
    ),
  );
  return { blobs, manifest: { ...manifest, mediaType }, config, diffIDs };
}

/** Writes images into an OCI layout directory under the given ref names (skopeo/umoci read it). */
export function writeLayout(dir: string, images: Array<{ ref: string; image: TestImage }>): void {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const { image } of images)
    for (const [digest, data] of image.blobs)
      writeFileSync(path.join(dir, 'blobs', 'sha256', digest.slice(7)), data);
  const manifests = images.map(({ ref, image }) => ({
    ...image.manifest,
    annotations: { 'org.opencontainers.image.ref.name': ref },
  }));
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}

/** An index (manifest list) over per-platform images, as `docker buildx` pushes them. */
export function buildIndex(entries: Array<{ image: TestImage; architecture: string }>): TestImage {
  const blobs = new Map<string, Buffer>();
  for (const { image } of entries) for (const [d, b] of image.blobs) blobs.set(d, b);
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: entries.map(({ image, architecture }) => ({
        ...image.manifest,
        platform: { architecture, os: 'linux' },
      })),
    }),
  );
  const digest = sha256Digest(body);
  blobs.set(digest, body);
  const first = entries[0]?.image;
  if (!first) throw new TypeError('an index needs at least one image');
  return {
    blobs,
    manifest: { digest, size: body.length, mediaType },
    config: first.config,
    diffIDs: [],
  };
}
