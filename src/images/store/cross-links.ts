// Hard links across layers. A layer may hard-link a file that a lower layer holds (a `RUN ln`
// over a base image's file). Each layer is unpacked into its own directory, so the link has no
// target there: the tar guard extracts an empty file in its place and the layer records the link
// in `<layer dir>.links`. Before a pod uses the image, the empty file is filled with a copy of
// the target from the image's lower layers (the nearest one holding it, stopping at a whiteout or
// an opaque directory), as overlayfs would show it; the two names are then two files with the
// same content, as after any copy-up. The record then says resolved, so it is done once per
// layer: a layer shared by images with other lower layers keeps the first image's copy (the same
// diffID over another base is not something real images do).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { CrossLink } from '../unpack/tar-guard.js';

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

interface LinksRecord {
  resolved: boolean;
  links: CrossLink[];
}

const recordOf = (layerDir: string) => `${layerDir}.links`;

// Layer directories known to need nothing (no record, or resolved): resolveCrossLinks runs at
// every pod start and would otherwise try one read per layer each time. A layer directory
// gets a record only through recordCrossLinks or moveCrossLinks, which forget it here.
const settled = new Set<string>();

/** Notes the cross-layer links of a freshly unpacked (temp) layer directory. */
export function recordCrossLinks(layerDir: string, links: CrossLink[]): void {
  settled.delete(layerDir);
  if (links.length === 0) return;
  const record: LinksRecord = { resolved: false, links };
  writeFileSync(recordOf(layerDir), JSON.stringify(record));
}

/** Moves the record along with its layer directory (temp → final name). */
export function moveCrossLinks(from: string, to: string): void {
  settled.delete(to);
  if (existsSync(recordOf(from))) renameSync(recordOf(from), recordOf(to));
}

/** Removes the record of a removed layer directory. */
export function removeCrossLinks(layerDir: string): void {
  settled.delete(layerDir);
  rmSync(recordOf(layerDir), { force: true });
}

function readRecord(layerDir: string): LinksRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordOf(layerDir), 'utf8')) as LinksRecord;
  } catch {
    return undefined;
  }
}

// Reads {layers: [dirs bottom first], links: [{layer, path, target}]}; fills each link's empty
// file from the nearest lower layer. Never follows a symlink out of a layer.
const script = `
import json, os, shutil, stat, sys
job = json.load(sys.stdin)
layers = [os.path.realpath(d) for d in job['layers']]
def inside(root, p):
    return p == root or p.startswith(root + os.sep)
def whiteout(st):
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
def opaque(p):
    try:
        return os.getxattr(p, 'trusted.overlay.opaque', follow_symlinks=False) == b'y'
    except OSError:
        return False
def find(below, target):
    parts = target.split('/')
    for j in range(below - 1, -1, -1):
        root = layers[j]
        stop = False
        for k in range(1, len(parts)):
            p = os.path.join(root, *parts[:k])
            if not os.path.lexists(p):
                break
            st = os.lstat(p)
            if whiteout(st):
                return None
            if stat.S_ISDIR(st.st_mode) and opaque(p):
                stop = True
        p = os.path.join(root, *parts)
        if os.path.lexists(p) and inside(root, os.path.realpath(os.path.dirname(p))):
            st = os.lstat(p)
            if whiteout(st) or stat.S_ISDIR(st.st_mode):
                return None
            return p
        if stop:
            return None
    return None
for link in job['links']:
    i, path, target = link['layer'], link['path'], link['target']
    dest = os.path.join(layers[i], path)
    if not inside(layers[i], os.path.realpath(os.path.dirname(dest))):
        sys.exit('hard link %r resolves outside its layer' % path)
    src = find(i, target)
    if src is None:
        sys.exit('hard link %r to %r: no lower layer holds %r' % (path, target, target))
    st = os.lstat(src)
    if os.path.lexists(dest):
        os.unlink(dest)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dest)
    else:
        shutil.copy2(src, dest, follow_symlinks=False)
    os.chown(dest, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dest, stat.S_IMODE(st.st_mode))
`;

/**
 * Fills the cross-layer links of an image's layers (directories bottom first) from their lower
 * layers; rejects, naming the link, when no lower layer holds a target.
 */
export async function resolveCrossLinks(layers: string[]): Promise<void> {
  const pending = layers
    .map((dir, layer) => ({ dir, layer, record: settled.has(dir) ? undefined : readRecord(dir) }))
    .filter((l) => l.record && !l.record.resolved);
  const markSettled = () => {
    for (const dir of layers) settled.add(dir);
  };
  if (pending.length === 0) return markSettled();
  const links = pending.flatMap(({ layer, record }) =>
    (record?.links ?? []).map((l) => ({ layer, ...l })),
  );
  const child = spawn(python, ['-c', script], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  child.stdin.end(JSON.stringify({ layers, links }));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0)
    throw new Error(`Cannot link files across layers: ${stderr.trim() || `exit ${code}`}`);
  for (const { dir, record } of pending)
    writeFileSync(recordOf(dir), JSON.stringify({ ...record, resolved: true }));
  markSettled();
}
