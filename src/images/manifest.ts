// OCI and Docker v2 manifest, index and config shapes, the media types Skiff accepts, platform
// selection in an index (containerd's platforms.Default: linux + the host architecture), and the
// image config turned into what a pod runs.
import { arch } from 'node:os';
import type { ResolvedImage } from './catalog.js';
import type { Descriptor } from './store/image-index.js';

/** Manifest media types, single-platform. */
export const manifestTypes = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
/** Index / manifest list media types. */
export const indexTypes = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
/** The Accept header of a manifest request. */
export const manifestAccept = [...indexTypes, ...manifestTypes].join(', ');

/** An image manifest. */
export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** An image index or Docker manifest list. */
export interface ImageIndexManifest {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/** The image config fields Skiff reads. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
  };
  rootfs?: { type: string; diff_ids: string[] };
}

/** The platform pulled from an index: linux and the host's architecture. */
export function hostPlatform(): { os: string; architecture: string } {
  const goArch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    s390x: 's390x',
    ppc64: 'ppc64le',
  };
  return { os: 'linux', architecture: goArch[arch()] ?? arch() };
}

/** Media type of a manifest document (the field, or what its shape says). */
export function mediaTypeOf(doc: {
  mediaType?: string;
  manifests?: unknown;
  layers?: unknown;
}): string {
  if (doc.mediaType) return doc.mediaType;
  return doc.manifests ? indexTypes[0]! : manifestTypes[0]!;
}

/** True when the media type (or the parsed document) is an index / manifest list. */
export function isIndex(mediaType: string): boolean {
  return indexTypes.includes(mediaType);
}

/** Picks the host platform's manifest from an index; undefined when it has none. */
export function pickPlatform(index: ImageIndexManifest): Descriptor | undefined {
  const want = hostPlatform();
  const candidates = index.manifests.filter(
    (m) =>
      m.platform?.os === want.os &&
      m.platform.architecture === want.architecture &&
      // attestation manifests (buildx) carry platform unknown/unknown; they never match here
      manifestTypes.includes(m.mediaType),
  );
  // amd64 has no variants; arm64 prefers v8 or none, as containerd's matcher does
  return (
    candidates.find((m) => !m.platform?.variant || m.platform.variant === 'v8') ?? candidates[0]
  );
}

/** Checks that a manifest is one Skiff can run; throws TypeError with the reason. */
export function validateManifest(m: Manifest, what: string): void {
  if (m.schemaVersion !== 2 || !m.config?.digest || !Array.isArray(m.layers))
    throw new TypeError(`${what}: not a schema 2 image manifest`);
}

/** The config as a runnable image (Entrypoint/Cmd/Env/WorkingDir/User/ExposedPorts). */
export function toResolvedImage(opts: {
  ref: string;
  imageID: string;
  config: ImageConfig;
  layers: string[];
}): ResolvedImage {
  const c = opts.config.config ?? {};
  return {
    ref: opts.ref,
    imageID: opts.imageID,
    workingDir: c.WorkingDir || '/',
    command: c.Entrypoint ?? [],
    args: c.Cmd ?? [],
    env: (c.Env ?? []).map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0
        ? { name: pair, value: '' }
        : { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
    }),
    ports: Object.keys(c.ExposedPorts ?? {})
      .map((p) => Number.parseInt(p, 10))
      .filter((p) => Number.isInteger(p)),
    layers: opts.layers,
    user: c.User || undefined,
  };
}
