// Unpacks one layer into its own empty directory: bytes → decompress → TarGuard (diffID, hostile
// entries) → GNU tar. GNU tar keeps owners, modes (setuid included), hard links, symlinks and
// xattrs, and measured fastest here (IMAGES.md); each layer gets its own directory because GNU tar
// follows a symlink left by an earlier layer when layers share one.
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressStage } from './decompress.js';
import { TarGuard, type TarGuardResult } from './tar-guard.js';
import { applyWhiteouts } from './whiteouts.js';

/** What unpackLayer found and checked. */
export type UnpackedLayer = TarGuardResult;

/** Options of unpackLayer. */
export interface UnpackOptions {
  /** An empty directory to unpack into. */
  dir: string;
  /** The diffID the image config promises; a different one fails the unpack. */
  expectedDiffID?: string;
  /** Most uncompressed bytes allowed. */
  maxBytes: number;
  /** For messages, e.g. `layer sha256:...`. */
  what: string;
  signal?: AbortSignal;
}

const isRoot = process.getuid?.() === 0;

function tarArgs(dir: string): string[] {
  return [
    '-x',
    '-f',
    '-',
    '-C',
    dir,
    '--numeric-owner',
    // As root keep the image's owners and full modes (setuid, sticky); a user cannot chown.
    isRoot ? '--same-owner' : '--no-same-owner',
    '--same-permissions',
    '--xattrs',
    '--xattrs-include=*',
    // Overlay's own xattrs (opaque, redirect, origin) come only from Skiff's whiteout step.
    '--xattrs-exclude=trusted.overlay.*',
    '--no-overwrite-dir',
  ];
}

/** Unpacks a layer stream (compressed or not) into opts.dir and applies its whiteouts. */
export async function unpackLayer(
  source: AsyncIterable<Buffer>,
  opts: UnpackOptions,
): Promise<UnpackedLayer> {
  const tar = spawn('tar', tarArgs(opts.dir), { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', resolve);
  });
  const guard = new TarGuard({ maxBytes: opts.maxBytes, what: opts.what });
  // tar may exit (end marker seen) before the padding after it arrives: swallow EPIPE there.
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (tar.exitCode !== null && tar.exitCode !== 0)
        return cb(
          new Error(`${opts.what}: tar failed: ${stderr.trim() || `exit ${tar.exitCode}`}`),
        );
      if (tar.stdin.destroyed || tar.exitCode !== null) return cb();
      if (tar.stdin.write(chunk)) return cb();
      // tar may exit instead of draining: either way the next write decides.
      const go = () => {
        tar.stdin.off('drain', go);
        tar.stdin.off('close', go);
        cb();
      };
      tar.stdin.on('drain', go);
      tar.stdin.on('close', go);
    },
    final(cb) {
      tar.stdin.end(() => cb());
    },
  });
  tar.stdin.on('error', () => undefined);
  try {
    await pipeline(source, decompressStage(), guard, sink, { signal: opts.signal });
  } catch (err) {
    tar.kill();
    await exited.catch(() => undefined);
    throw err;
  }
  const code = await exited;
  if (code !== 0) throw new Error(`${opts.what}: tar failed: ${stderr.trim() || `exit ${code}`}`);
  const result = guard.result();
  if (opts.expectedDiffID && result.diffID !== opts.expectedDiffID)
    throw new Error(
      `${opts.what}: uncompressed digest ${result.diffID} does not match diffID ${opts.expectedDiffID}`,
    );
  await applyWhiteouts(opts.dir, result.whiteouts);
  return result;
}
