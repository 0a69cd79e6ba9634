// `skiff image load`: imports images from a `docker save` tarball, an OCI archive (skopeo
// `oci-archive:`, `docker save` of Docker 25+, k3s air-gap tarballs; gzip or zstd compressed too)
// or an OCI layout directory, verifying every blob, then unpacks them so pods start without a pull.
// Names come from manifest.json RepoTags, `io.containerd.image.name` or the OCI ref.name.
import { execFile } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  type ImageIndexManifest,
  isIndex,
  type Manifest,
  mediaTypeOf,
  pickPlatform,
} from './manifest.js';
import { formatReference, parseReference } from './reference.js';
import { digestHex } from './store/blob-store.js';
import type { Descriptor } from './store/image-index.js';
import type { ImageStore } from './store/image-store.js';
import { sniffCompression } from './unpack/decompress.js';

const run = promisify(execFile);

/** Annotation marking images the GC must keep (loaded or pushed ones, as k3s pins imports). */
export const pinnedAnnotation = 'io.skiff.image.pinned';
const containerdName = 'io.containerd.image.name';
const refName = 'org.opencontainers.image.ref.name';

/** Imports every image of a file or OCI layout directory; returns the names it stored. */
export async function loadImages(store: ImageStore, source: string): Promise<string[]> {
  if (!existsSync(source)) throw new TypeError(`"${source}" does not exist`);
  if (statSync(source).isDirectory()) return importLayout(store, source);
  // GNU tar detects gzip/zstd by itself; the temp dir sits in the store (same filesystem).
  const tmp = mkdtempSync(path.join(store.root, '.load-'));
  try {
    await run('tar', ['-x', '-f', path.resolve(source), '-C', tmp, '--no-same-owner']).catch(
      (err: { stderr?: string }) => {
        throw new TypeError(`"${source}" is not an image archive: ${err.stderr?.trim() ?? ''}`);
      },
    );
    if (existsSync(path.join(tmp, 'index.json')) && existsSync(path.join(tmp, 'oci-layout')))
      return await importLayout(store, tmp, dockerTags(tmp));
    if (existsSync(path.join(tmp, 'manifest.json'))) return await importDockerSave(store, tmp);
    throw new TypeError(`"${source}" holds neither manifest.json (docker save) nor an OCI layout`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface DockerSaveItem {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function dockerTags(dir: string): Map<string, string[]> {
  // Docker 25+ writes both formats; manifest.json's RepoTags name images by config path
  const file = path.join(dir, 'manifest.json');
  const out = new Map<string, string[]>();
  if (!existsSync(file)) return out;
  for (const item of JSON.parse(readFileSync(file, 'utf8')) as DockerSaveItem[])
    out.set(path.basename(item.Config).replace(/\.json$/, ''), item.RepoTags ?? []);
  return out;
}

async function putFile(
  store: ImageStore,
  file: string,
  expected: Partial<Descriptor>,
  what: string,
) {
  if (expected.digest && store.blobs.has(expected.digest))
    return { digest: expected.digest, size: statSync(file).size };
  return store.blobs.putStream(createReadStream(file), expected, what);
}

function names(refs: string[]): string[] {
  return refs.map((r) => formatReference(parseReference(r)));
}

async function importDockerSave(store: ImageStore, dir: string): Promise<string[]> {
  const items = JSON.parse(
    readFileSync(path.join(dir, 'manifest.json'), 'utf8'),
  ) as DockerSaveItem[];
  const loaded: string[] = [];
  for (const item of items) {
    // Legacy archives link shared layers (`b/layer.tar -> ../a/layer.tar`): follow, but never out.
    const inside = (p: string) => {
      const abs = realpathSync(path.resolve(dir, p));
      if (!abs.startsWith(`${realpathSync(dir)}/`))
        throw new TypeError(`manifest.json path "${p}" leaves the archive`);
      return abs;
    };
    const configBytes = readFileSync(inside(item.Config));
    const configRef = await store.blobs.putBytes(configBytes);
    const layers: Descriptor[] = [];
    for (const layer of item.Layers) {
      const file = inside(layer);
      const head = Buffer.alloc(4);
      const fd = openSync(file, 'r');
      readSync(fd, head, 0, 4, 0);
      closeSync(fd);
      const kind = sniffCompression(head);
      const ref = await putFile(store, file, {}, `layer ${layer}`);
      const mediaType = `application/vnd.oci.image.layer.v1.tar${kind === 'none' ? '' : `+${kind}`}`;
      layers.push({ mediaType, ...ref });
    }
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configRef },
      layers,
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const target = { mediaType: manifest.mediaType ?? '', ...(await store.blobs.putBytes(body)) };
    const tags = names(item.RepoTags ?? []);
    if (tags.length === 0)
      tags.push(`skiff.local/untagged/${digestHex(configRef.digest).slice(0, 12)}:latest`);
    await nameAndUnpack(store, tags, target);
    loaded.push(...tags);
  }
  return loaded;
}

async function importLayout(store: ImageStore, dir: string, tags = new Map<string, string[]>()) {
  const blob = (d: string) => path.join(dir, 'blobs', 'sha256', digestHex(d));
  const index = JSON.parse(
    readFileSync(path.join(dir, 'index.json'), 'utf8'),
  ) as ImageIndexManifest;
  const loaded: string[] = [];
  for (const target of index.manifests) {
    await putFile(store, blob(target.digest), target, `manifest ${target.digest}`);
    const doc = await store.blobs.readJSON<Manifest & ImageIndexManifest>(target.digest);
    let manifestDesc: Descriptor = target;
    if (isIndex(target.mediaType ?? mediaTypeOf(doc))) {
      const picked = pickPlatform(doc);
      if (!picked) throw new TypeError(`image ${target.digest} has no linux/amd64 manifest`);
      await putFile(store, blob(picked.digest), picked, `manifest ${picked.digest}`);
      manifestDesc = picked;
    }
    const manifest = await store.blobs.readJSON<Manifest>(manifestDesc.digest);
    for (const d of [manifest.config, ...manifest.layers])
      await putFile(store, blob(d.digest), d, `blob ${d.digest}`);
    const a = target.annotations ?? {};
    const fromDocker = tags.get(digestHex(manifest.config.digest)) ?? [];
    const refs = a[containerdName]
      ? [a[containerdName]]
      : fromDocker.length
        ? fromDocker
        : a[refName]
          ? [a[refName]]
          : [];
    if (refs.length === 0)
      throw new TypeError(`image ${target.digest} has no name (no ${refName} annotation)`);
    const { annotations: _drop, ...bare } = target;
    const full = names(refs);
    await nameAndUnpack(store, full, bare);
    loaded.push(...full);
  }
  return loaded;
}

async function nameAndUnpack(store: ImageStore, refs: string[], target: Descriptor) {
  for (const ref of refs)
    store.index.set(ref, { ...target, annotations: { [pinnedAnnotation]: 'true' } });
  const first = refs[0];
  if (!first) return;
  const img = await store.image(first);
  // Unpacking needs root (owners, whiteout devices); otherwise the first pod start does it.
  if (img && process.getuid?.() === 0) await store.unpackImage(img);
}
