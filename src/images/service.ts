// The image service the node agent calls at pod start: makes an image present (pull or local
// store) and resolves it to a ResolvedImage. Contract with the node side:
// /work/notes/images-interface.md (pull policy, events and back-off live in src/node).
import type { ResolvedImage } from './catalog.js';

/** Credentials for one registry, as a dockerconfigjson `auths` entry carries them. */
export interface RegistryCredential {
  /** Registry host as written in the secret: `docker.io`, `https://index.docker.io/v1/`, `host:5000`. */
  registry: string;
  username?: string;
  password?: string;
  /** base64("user:password"), used when username/password are absent. */
  auth?: string;
  /** An OAuth2 refresh token (registries that hand one out at login). */
  identitytoken?: string;
}

/** How ensure() may get an image: the container's imagePullPolicy plus its pull secrets. */
export interface PullOptions {
  policy: 'Always' | 'IfNotPresent' | 'Never';
  credentials?: RegistryCredential[];
  signal?: AbortSignal;
}

/** An image made present by ensure(). */
export interface EnsuredImage {
  image: ResolvedImage;
  /** True when this call (or the shared pull it joined) downloaded something. */
  pulled: boolean;
  /** Image size in bytes: the compressed layers plus config, as the kubelet's event reports it. */
  size: number;
  /** Wall time of the pull, ms (0 when not pulled). */
  pullMs: number;
}

/**
 * The image is absent and the policy is Never; the message is the kubelet's
 * (pkg/kubelet/images/image_manager.go), the reason the node reports is ErrImageNeverPull.
 */
export class ErrImageNeverPull extends Error {
  constructor(ref: string) {
    super(`Container image "${ref}" is not present with pull policy of Never`);
    this.name = 'ErrImageNeverPull';
  }
}

/**
 * A pull failed; the message is what the kubelet shows after `Failed to pull image "x": `
 * (containerd's wording: `failed to pull and unpack image "docker.io/library/x:latest": ...`).
 */
export class ImagePullError extends Error {
  constructor(canonicalRef: string, reason: string, opts?: { cause?: unknown }) {
    super(`failed to pull and unpack image "${canonicalRef}": ${reason}`, opts);
    this.name = 'ImagePullError';
  }
}
