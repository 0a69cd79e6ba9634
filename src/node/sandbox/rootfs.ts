// A container's root filesystem from image layers (containerd's overlayfs snapshotter, or its
// `native` copying one where overlayfs is missing): the node side makes each attempt's fresh
// upper, work and root directories under the pod dir; the shim mounts them (shim.py
// enter_image_root). Layers are shared read-only by every container of the image.
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { SandboxMount } from './sandbox.js';

/** What the shim needs to build a container's root (mirrors shim.py enter_image_root). */
export interface ContainerRootfs {
  /** Unpacked layer directories, bottom-most first. */
  layers: string[];
  /** The overlay's upper and work directories (this attempt's writes). */
  upper: string;
  work: string;
  /** The mount point that becomes the container's `/`. */
  root: string;
  /** Copy the layers into root instead of an overlay. */
  copy: boolean;
  /** The pod's /etc files, service-account token and the container's volumes. */
  mounts: SandboxMount[];
}

/** How container roots are made on this machine. */
export type RootfsMode = 'overlay' | 'copy';

/** overlay when the kernel has overlayfs, else copy. */
export function detectRootfsMode(): RootfsMode {
  try {
    return /\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8')) ? 'overlay' : 'copy';
  } catch {
    return 'copy';
  }
}

/** The directory holding every container root of a pod (removed with the pod dir). */
export const rootfsDir = (podDir: string): string => path.join(podDir, 'rootfs');

/**
 * Fresh directories for one attempt of a container (a restarted container starts from the image
 * again, as upstream's new container does); earlier attempts' directories are removed.
 */
export function prepareRootfs(opts: {
  podDir: string;
  container: string;
  attempt: number;
  layers: string[];
  mode: RootfsMode;
  mounts: SandboxMount[];
}): ContainerRootfs {
  const dir = rootfsDir(opts.podDir);
  mkdirSync(dir, { recursive: true });
  const prefix = `${opts.container}.`;
  for (const d of readdirSync(dir))
    if (d.startsWith(prefix)) rmSync(path.join(dir, d), { recursive: true, force: true });
  const base = path.join(dir, `${prefix}${opts.attempt}`);
  const rootfs = {
    layers: opts.layers.length ? opts.layers : [path.join(base, 'empty')],
    upper: path.join(base, 'upper'),
    work: path.join(base, 'work'),
    root: path.join(base, 'root'),
    copy: opts.mode === 'copy',
    mounts: opts.mounts,
  };
  for (const d of [rootfs.upper, rootfs.work, rootfs.root]) mkdirSync(d, { recursive: true });
  if (!opts.layers.length) mkdirSync(rootfs.layers[0] ?? '', { recursive: true });
  return rootfs;
}

/**
 * The host path of an image path as its merged root shows it: the top-most layer that has it
 * wins, a whiteout hides lower ones; undefined when absent.
 */
export function imagePath(layers: string[], rel: string): string | undefined {
  for (const layer of [...layers].reverse()) {
    const p = path.join(layer, rel);
    try {
      const st = lstatSync(p);
      return st.isCharacterDevice() && st.rdev === 0 ? undefined : p;
    } catch {
      // not in this layer: look below
    }
  }
  return undefined;
}

/** A text file of the image (`/etc/passwd` and `/etc/group` for User); undefined when absent. */
export function readImageFile(layers: string[], rel: string): string | undefined {
  const p = imagePath(layers, rel);
  try {
    return p && lstatSync(p).isFile() ? readFileSync(p, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}
