// Image references as Docker and containerd read them (distribution/reference normalize.go):
// `nginx` = `docker.io/library/nginx:latest`; a first component with `.` or `:` (or `localhost`)
// names a registry; a digest pins the content and a tag is then informational.

/** A parsed, normalised image reference. */
export interface ImageReference {
  /** Registry host[:port], `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path inside the registry, `library/nginx` for official Hub images. */
  repository: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  /** `sha256:<hex>` when the reference pins a digest. */
  digest?: string;
}

const dockerHub = 'docker.io';
// One path component: lowercase alphanumerics joined by `.`, `_`, `__` or `-` runs.
const component = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^sha256:[a-f0-9]{64}$/;
const hostPattern = /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:.]+\])(?::\d+)?$/;

/** Thrown for text that is not an image reference ("invalid reference format", as Docker says). */
export class InvalidReferenceError extends TypeError {
  constructor(ref: string, detail = 'invalid reference format') {
    super(`couldn't parse image name "${ref}": ${detail}`);
    this.name = 'InvalidReferenceError';
  }
}

/** Parses `[registry/]repo[:tag][@sha256:hex]`, applying Docker Hub's defaults. */
export function parseReference(ref: string): ImageReference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw new InvalidReferenceError(ref);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw new InvalidReferenceError(ref);
  }
  const parts = rest.split('/');
  let registry = dockerHub;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!hostPattern.test(first)) throw new InvalidReferenceError(ref);
    registry = first === 'index.docker.io' ? dockerHub : first;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => !component.test(p))) {
    const upper = parts.some((p) => p !== p.toLowerCase());
    throw new InvalidReferenceError(
      ref,
      upper ? 'repository name must be lowercase' : 'invalid reference format',
    );
  }
  if (registry === dockerHub && parts.length === 1) parts.unshift('library');
  if (!tag && !digest) tag = 'latest';
  return { registry, repository: parts.join('/'), tag, digest };
}

/** `registry/repository` (`docker.io/library/nginx`): the name imageID and RepoDigests use. */
export function repoName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full normalised reference: `docker.io/library/nginx:latest`, `host/x@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  const tag = ref.tag && !ref.digest ? `:${ref.tag}` : '';
  const tagged = ref.tag && ref.digest ? `:${ref.tag}` : tag;
  return `${repoName(ref)}${tagged}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Docker's short form for display: `nginx:latest`, `user/app:1`, `host:5000/x:y`. */
export function familiarName(ref: ImageReference): string {
  const repo =
    ref.registry === dockerHub ? ref.repository.replace(/^library\/(?=[^/]+$)/, '') : repoName(ref);
  return repo;
}

/** True when the reference names a tag that moves (`:latest` or none), as the kubelet checks. */
export function isLatestTag(ref: string): boolean {
  const parsed = parseReference(ref);
  return !parsed.digest && parsed.tag === 'latest';
}
