// Atomic updates of a projected volume's files (kubernetes pkg/volume/util/atomic_writer.go's
// layout): each payload lives in a `..<timestamp>` directory, `..data` links to the current one,
// and every visible top-level path is a link into `..data`. An update writes a new timestamp
// directory, renames a fresh `..data_tmp` link over `..data` (one atomic step: a reader sees the
// old files or the new ones, never a mix), links new paths, unlinks removed ones, then deletes the
// old directory. A subPath bind mount holds the file it resolved at mount time, so it never updates.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/** One file of a payload: its content and permission bits. */
export interface FileProjection {
  data: string | Buffer;
  mode: number;
}

const dataDirName = '..data';
const newDataDirName = '..data_tmp';

// A payload path is relative, has no `..` element and does not start with `..` (that prefix is
// the writer's own).
function checkPath(p: string): void {
  const parts = p.split('/');
  if (p === '' || path.isAbsolute(p) || p.startsWith('..') || parts.includes('..')) {
    throw new RangeError(`invalid path ${JSON.stringify(p)}: must be relative, without '..'`);
  }
}

// The timestamp directory name (upstream's Go layout "..2006_01_02_15_04_05.").
function tsPrefix(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const d = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}`;
  const t = `${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${d}_${t}.`;
}

// Every file under dir, relative paths (the current payload's contents).
function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, p));
    else out.push(p);
  }
  return out;
}

// True when the current timestamp directory holds exactly this payload (content and mode).
function isUnchanged(tsDir: string, payload: Record<string, FileProjection>): boolean {
  const files = listFiles(tsDir);
  if (files.length !== Object.keys(payload).length) return false;
  for (const f of files) {
    const want = payload[f];
    if (!want) return false;
    const p = path.join(tsDir, f);
    if ((statSync(p).mode & 0o7777) !== want.mode) return false;
    if (!readFileSync(p).equals(Buffer.from(want.data))) return false;
  }
  return true;
}

function currentTsDir(dir: string): string | undefined {
  try {
    return path.join(dir, readlinkSync(path.join(dir, dataDirName)));
  } catch {
    return undefined;
  }
}

/** Top-level names of a payload (a nested path "a/b" shows as the link "a"). */
const topLevel = (paths: string[]) => new Set(paths.map((p) => p.split('/')[0] ?? p));

/**
 * Writes the payload into dir with the atomic layout; false when dir already held exactly it.
 * Throws RangeError for a payload path that could leave dir.
 */
export function writeAtomic(
  dir: string,
  payload: Record<string, FileProjection>,
  now: Date = new Date(),
): boolean {
  for (const p of Object.keys(payload)) checkPath(p);
  mkdirSync(dir, { recursive: true });
  const oldTs = currentTsDir(dir);
  const oldPaths = oldTs ? listFiles(oldTs) : [];
  if (oldTs && isUnchanged(oldTs, payload)) return false;
  const tsDir = mkdtempSync(path.join(dir, tsPrefix(now)));
  chmodSync(tsDir, 0o755);
  for (const [rel, f] of Object.entries(payload)) {
    const p = path.join(tsDir, rel);
    mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
    writeFileSync(p, f.data);
    // The process umask would otherwise narrow the mode asked for.
    chmodSync(p, f.mode);
  }
  const tmpLink = path.join(dir, newDataDirName);
  rmSync(tmpLink, { force: true });
  symlinkSync(path.basename(tsDir), tmpLink);
  renameSync(tmpLink, path.join(dir, dataDirName));
  const visible = topLevel(Object.keys(payload));
  for (const name of visible) {
    const link = path.join(dir, name);
    let isLink = false;
    try {
      isLink = lstatSync(link).isSymbolicLink();
    } catch {
      // absent: linked below
    }
    if (isLink) continue;
    // A plain file or directory here (written before this layout, e.g. by an older Skiff).
    rmSync(link, { recursive: true, force: true });
    symlinkSync(path.join(dataDirName, name), link);
  }
  for (const name of topLevel(oldPaths)) {
    if (!visible.has(name)) unlinkSync(path.join(dir, name));
  }
  if (oldTs) rmSync(oldTs, { recursive: true, force: true });
  return true;
}
