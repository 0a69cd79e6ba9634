// Making a container's image present before it starts (kubelet pkg/kubelet/images/image_manager.go
// EnsureImageExists): imagePullPolicy with upstream defaults, imagePullSecrets, the kubelet's
// events, and Skiff's own sources first: folder images (`skiff image add`) and the bundled
// stand-ins, which also stand in when a pull of their name fails (the seed works offline).
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import { isNotFound, type KubeClient } from '../../client/rest.js';
import {
  ImageNotFoundError,
  type ImageSource,
  parseImageRef,
  type ResolvedImage,
  resolveImage,
} from '../../images/catalog.js';
import {
  type EnsuredImage,
  ErrImageNeverPull,
  type PullOptions,
  type RegistryCredential,
} from '../../images/service.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';

/** What pulls images into the node's store (src/images/service.ts ImageService). */
export interface ImagePuller {
  ensure(ref: string, opts: PullOptions): Promise<EnsuredImage>;
  /** True when the store holds the image already. */
  has(ref: string): boolean;
}

/** The pull policy a container gets when it sets none (upstream defaulting: `:latest` → Always). */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  return parseImageRef(image).tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** A failed ensure: the container waits with this reason (ErrImagePull, ErrImageNeverPull). */
export class ImageError extends Error {
  readonly reason: 'ErrImagePull' | 'ErrImageNeverPull';
  constructor(reason: ImageError['reason'], message: string) {
    super(message);
    this.name = 'ImageError';
    this.reason = reason;
  }
}

/** One event as the kubelet words it. */
export interface ImageEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

// Skiff's own components: always the bundled add-on, never pulled.
const isAddon = (repository: string) =>
  repository.startsWith('skiff/') || repository.startsWith('registry.k8s.io/');

/** Go's time.Duration text of milliseconds truncated to the millisecond ("1.234s", "87ms"). */
export function goDuration(ms: number): string {
  const t = Math.floor(ms);
  if (t < 1000) return `${t}ms`;
  const m = Math.floor(t / 60_000);
  const s = (t % 60_000) / 1000;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** kubernetes.io/dockerconfigjson (and legacy dockercfg) secrets as registry credentials. */
export function parseDockerConfig(type: string | undefined, data: Record<string, string>) {
  const decode = (k: string) => {
    const v = data[k];
    return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
  };
  let auths: Record<string, Omit<RegistryCredential, 'registry'>> = {};
  try {
    if (type === 'kubernetes.io/dockerconfigjson')
      auths =
        (JSON.parse(decode('.dockerconfigjson') ?? '{}') as { auths?: typeof auths }).auths ?? {};
    else if (type === 'kubernetes.io/dockercfg') auths = JSON.parse(decode('.dockercfg') ?? '{}');
  } catch {
    return [];
  }
  return Object.entries(auths).map(([registry, a]) => ({
    registry,
    username: a.username,
    password: a.password,
    auth: a.auth,
    identitytoken: a.identitytoken,
  }));
}

/** The pod's imagePullSecrets as credentials; a missing secret is skipped, as upstream. */
export async function pullCredentials(client: KubeClient, pod: Pod): Promise<RegistryCredential[]> {
  const ns = pod.metadata?.namespace ?? 'default';
  const out: RegistryCredential[] = [];
  for (const ref of pod.spec?.imagePullSecrets ?? []) {
    try {
      const s = await client.get<{ type?: string; data?: Record<string, string> }>(
        R.secrets,
        ns,
        ref.name ?? '',
      );
      out.push(...parseDockerConfig(s.type, s.data ?? {}));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return out;
}

// A stand-in's name whose pull failed is not tried again for this long: offline, every seed pod
// would otherwise pay the failed attempt.
const failedPullMemoryMs = 5 * 60_000;
// A pull that a stand-in could replace gets this long before the stand-in runs instead.
const standInPullDeadlineMs = 5_000;

/** Resolves container images to something runnable, pulling per policy. */
export class ImageManager {
  #local?: ImageSource;
  #puller?: ImagePuller;
  #clock: Clock;
  #failedAt = new Map<string, number>();

  constructor(opts: { local?: ImageSource; puller?: ImagePuller; clock: Clock }) {
    this.#local = opts.local;
    this.#puller = opts.puller;
    this.#clock = opts.clock;
  }

  /**
   * The image of a container, present on the node; `event` receives the kubelet's events.
   * Throws ImageError (reason and message for the container's waiting state).
   */
  async ensure(opts: {
    container: Container;
    credentials: () => Promise<RegistryCredential[]>;
    event: (e: ImageEvent) => void;
  }): Promise<ResolvedImage> {
    const ref = opts.container.image ?? '';
    const policy = (opts.container.imagePullPolicy ??
      defaultPullPolicy(ref)) as PullOptions['policy'];
    const { repository, tag } = parseImageRef(ref);
    const present = (image: ResolvedImage) => {
      opts.event({
        type: 'Normal',
        reason: 'Pulled',
        message: `Container image "${ref}" already present on machine`,
      });
      return image;
    };
    const local = this.#local?.lookup(repository, tag);
    if (local) return present({ ...resolveImage(ref, { local: this.#local }) });
    const standIn = this.#standIn(ref);
    const puller = this.#puller;
    const failed = (reason: ImageError['reason'], message: string): never => {
      opts.event(
        reason === 'ErrImageNeverPull'
          ? { type: 'Warning', reason, message }
          : {
              type: 'Warning',
              reason: 'Failed',
              message: `Failed to pull image "${ref}": ${message}`,
            },
      );
      throw new ImageError(reason, message);
    };
    if (!puller || (standIn && isAddon(repository))) {
      if (standIn) return present(standIn);
      return failed('ErrImagePull', new ImageNotFoundError(ref).message);
    }
    if (puller.has(ref) && policy !== 'Always')
      return present((await puller.ensure(ref, { policy: 'Never' })).image);
    if (policy === 'Never') {
      if (standIn) return present(standIn);
      return failed('ErrImageNeverPull', new ErrImageNeverPull(ref).message);
    }
    const failedAt = this.#failedAt.get(ref);
    if (standIn && failedAt !== undefined && this.#clock.now() - failedAt < failedPullMemoryMs)
      return this.#useStandIn(ref, standIn, opts.event);
    opts.event({ type: 'Normal', reason: 'Pulling', message: `Pulling image "${ref}"` });
    const t0 = this.#clock.now();
    const deadline = new AbortController();
    const timer = standIn
      ? this.#clock.setTimeout(() => deadline.abort(), standInPullDeadlineMs)
      : undefined;
    try {
      const got = await puller.ensure(ref, {
        policy,
        credentials: await opts.credentials(),
        signal: standIn ? deadline.signal : undefined,
      });
      this.#failedAt.delete(ref);
      const waited = this.#clock.now() - t0;
      opts.event({
        type: 'Normal',
        reason: 'Pulled',
        message: `Successfully pulled image "${ref}" in ${goDuration(got.pullMs || waited)} (${goDuration(waited)} including waiting). Image size: ${got.size} bytes.`,
      });
      return got.image;
    } catch (err) {
      if (!standIn) return failed('ErrImagePull', errorMessage(err));
      opts.event({
        type: 'Warning',
        reason: 'Failed',
        message: `Failed to pull image "${ref}": ${errorMessage(err)}`,
      });
      this.#failedAt.set(ref, this.#clock.now());
      return this.#useStandIn(ref, standIn, opts.event);
    } finally {
      timer?.cancel();
    }
  }

  #standIn(ref: string): ResolvedImage | undefined {
    try {
      return resolveImage(ref);
    } catch {
      return undefined;
    }
  }

  #useStandIn(ref: string, image: ResolvedImage, event: (e: ImageEvent) => void): ResolvedImage {
    event({
      type: 'Normal',
      reason: 'Pulled',
      message: `Container image "${ref}" could not be pulled; running Skiff's bundled stand-in for it`,
    });
    return image;
  }
}
