// Turns a layer's `.wh.` entries into what overlayfs reads: `.wh.name` becomes a character device
// 0/0 named `name`, `.wh..wh..opq` becomes the `trusted.overlay.opaque=y` xattr on its directory
// (containerd's overlay snapshotter does the same). Node has neither mknod nor setxattr, so one
// python3 run per layer applies them all; it never follows a symlink out of the layer.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { WhiteoutEntry } from './tar-guard.js';

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const script = `
import json, os, shutil, stat, sys
root = os.path.realpath(sys.argv[1])
def inside(p):
    return p == root or p.startswith(root + os.sep)
for item in json.load(sys.stdin):
    rel, kind = item['path'], item['kind']
    parent = os.path.realpath(os.path.join(root, os.path.dirname(rel)))
    if not inside(parent):
        sys.exit('whiteout %r resolves outside the layer' % rel)
    wh = os.path.join(parent, os.path.basename(rel))
    if kind == 'meta':
        # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): dropped, whatever its type
        if os.path.isdir(wh) and not os.path.islink(wh):
            shutil.rmtree(wh)
        elif os.path.lexists(wh):
            os.unlink(wh)
        continue
    if os.path.lexists(wh):
        if not stat.S_ISREG(os.lstat(wh).st_mode):
            sys.exit('whiteout %r is not a regular file' % rel)
        os.unlink(wh)
    if kind == 'opaque':
        os.setxattr(parent, 'trusted.overlay.opaque', b'y', follow_symlinks=False)
    elif kind == 'file':
        target = os.path.join(parent, os.path.basename(rel)[4:])
        if os.path.lexists(target):
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.unlink(target)
        os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(0, 0))
`;

/** Applies the whiteouts of a freshly unpacked layer directory. */
export async function applyWhiteouts(dir: string, whiteouts: WhiteoutEntry[]): Promise<void> {
  if (whiteouts.length === 0) return;
  const child = spawn(python, ['-c', script, dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(JSON.stringify(whiteouts));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0)
    throw new Error(`Cannot apply the layer's whiteouts: ${stderr.trim() || `exit ${code}`}`);
}
