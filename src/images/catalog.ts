// The image catalog: resolves an image reference to something runnable on this machine (a folder,
// an entrypoint, env and ports). Bundled images cover the seed offline; local images come from
// `skiff image add` (see local.ts). Pulling OCI images from a registry is a later step.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { addonEnv, addonV8Flags } from '../lib/addon-runtime.js';
import { packageRoot } from '../lib/paths.js';

/** Root of the Skiff checkout (holds images/ and bin/). */
export const repoRoot: string = packageRoot(import.meta.url);

/** What a resolved image runs: its files, entrypoint and defaults (the OCI image config analog). */
export interface ResolvedImage {
  /** The reference as given in the pod spec. */
  ref: string;
  /** A stable digest-like id for containerStatuses[].imageID. */
  imageID: string;
  /** Host folder holding the image's files, bind-mounted at workingDir; undefined = no files. */
  rootDir?: string;
  /** Working directory inside the pod (the image's WORKDIR). */
  workingDir: string;
  /** The image ENTRYPOINT (container `command` replaces it). */
  command: string[];
  /** The image CMD (container `args` replaces it). */
  args: string[];
  /** Image ENV, as NAME=value pairs in order. */
  env: Array<{ name: string; value: string }>;
  /** Ports the image exposes (informational). */
  ports: number[];
  /** Unpacked layer directories, bottom-most first: the pod's root is an overlay of these. */
  layers?: string[];
  /** The image config's User ("uid", "uid:gid", "name", "name:group"); resolved in the rootfs. */
  user?: string;
}

/** Thrown when a reference does not resolve: the node agent reports ErrImagePull with its message. */
export class ImageNotFoundError extends Error {
  constructor(ref: string) {
    super(
      `failed to pull and unpack image "${ref}": image not found in Skiff's catalog ` +
        `(bundled images: ${bundledNames().join(', ')}; add a local one with \`skiff image add\`)`,
    );
    this.name = 'ImageNotFoundError';
  }
}

/** The reference split into repository and tag/digest, with docker.io defaults removed. */
export function parseImageRef(ref: string): { repository: string; tag: string } {
  let rest = ref.trim();
  let tag = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    tag = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    // `repo:tag@digest`: the digest wins, the tag is dropped.
    if (at < 0) tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  rest = rest.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
  return { repository: rest, tag };
}

const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

type Bundled = Omit<ResolvedImage, 'ref' | 'imageID'>;

function addon(name: string): Bundled {
  return {
    // The checkout itself is the add-on's image: mounted at its own path, so it stays visible
    // when it lives under /tmp (pods get a private /tmp).
    rootDir: repoRoot,
    workingDir: repoRoot,
    command: [
      process.execPath,
      ...addonV8Flags,
      path.join(repoRoot, 'bin/skiff.js'),
      'addon',
      name,
    ],
    args: [],
    env: [{ name: 'PATH', value: defaultPath }, ...addonEnv],
    ports: [],
  };
}

const shell: Bundled = {
  workingDir: '/',
  command: [],
  args: ['/bin/sh'],
  env: [{ name: 'PATH', value: defaultPath }],
  ports: [],
};

// Keys are repositories (no tag): every tag of a bundled repository resolves to the same files.
const bundled: Record<string, Bundled> = {
  'lyzhang1999/hello-world-flask': {
    rootDir: path.join(repoRoot, 'images/hello-world-flask'),
    workingDir: '/app',
    command: [],
    // The original image runs `python3 app.py`; the process name must stay `python3` (killall).
    args: [python, 'app.py'],
    env: [
      { name: 'PATH', value: defaultPath },
      { name: 'LANG', value: 'C.UTF-8' },
      { name: 'PYTHONUNBUFFERED', value: '1' },
    ],
    ports: [5000],
  },
  'skiff/hello-node': {
    rootDir: path.join(repoRoot, 'images/hello-node'),
    workingDir: '/app',
    command: [],
    args: [process.execPath, 'server.js'],
    env: [{ name: 'PATH', value: defaultPath }],
    ports: [5000],
  },
  'skiff/ingress-controller': addon('ingress-controller'),
  'registry.k8s.io/ingress-nginx/controller': addon('ingress-controller'),
  // The admission Jobs of ingress-nginx's deploy.yaml (ingress/webhook-certgen.ts).
  'registry.k8s.io/ingress-nginx/kube-webhook-certgen': addon('kube-webhook-certgen'),
  'skiff/metrics-server': addon('metrics-server'),
  'registry.k8s.io/metrics-server/metrics-server': addon('metrics-server'),
  'skiff/shell': shell,
  busybox: shell,
  debian: shell,
  ubuntu: shell,
  alpine: shell,
};

/** Names of the bundled repositories (for messages and `skiff image list`). */
export function bundledNames(): string[] {
  return Object.keys(bundled);
}

/** A source of extra images (the local registry). */
export interface ImageSource {
  lookup(repository: string, tag: string): Bundled | undefined;
}

/**
 * Resolves an image reference: local images first (a user may shadow a bundled name), then the
 * bundled catalog. Throws ImageNotFoundError for anything else.
 */
export function resolveImage(ref: string, opts: { local?: ImageSource } = {}): ResolvedImage {
  const { repository, tag } = parseImageRef(ref);
  const found = opts.local?.lookup(repository, tag) ?? bundled[repository];
  if (!found) throw new ImageNotFoundError(ref);
  return { ...found, ref, imageID: imageIdFor(repository, tag) };
}

function imageIdFor(repository: string, tag: string): string {
  // A deterministic pseudo-digest so imageID is stable across restarts.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (const ch of `${repository}:${tag}`) {
    h1 = Math.imul(h1 ^ ch.charCodeAt(0), 16777619) >>> 0;
    h2 = Math.imul(h2 + ch.charCodeAt(0), 2246822519) >>> 0;
  }
  const hex = (h1.toString(16) + h2.toString(16)).padEnd(16, '0');
  return `${repository}@sha256:${hex.repeat(4)}`;
}
