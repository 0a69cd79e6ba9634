// `skiff image add|load|list|rm|prune`: folder images (<data-dir>/images.json, resolved before
// anything else) and the OCI image store (<data-dir>/images). The running node agent reads both at
// each pod start, so no restart is needed.

import { mountedLayers, removeImages } from '../images/gc.js';
import { loadImages } from '../images/load.js';
import { type LocalImage, LocalImageStore } from '../images/local.js';
import { formatReference, parseReference } from '../images/reference.js';
import { ImageStore } from '../images/store/image-store.js';
import { dataDirLayout, ensureDataDir } from '../lib/data-dir.js';
import { errorMessage } from '../lib/errors.js';

/** Options of `skiff image add`, as commander parses them. */
export interface ImageAddOptions {
  dataDir?: string;
  dir: string;
  cmd?: string;
  args?: string;
  env?: string[];
  port?: number[];
  workdir?: string;
}

// "python3 app.py" → ["python3", "app.py"]: whitespace-separated words, with '…' or "…" quoting.
function splitWords(text: string): string[] {
  const words: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g))
    words.push(m[1] ?? m[2] ?? m[3] ?? '');
  return words;
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new TypeError(`--env "${pair}" is not NAME=value`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** Registers (or replaces) a local image; prints what pods will run. */
export function imageAddCommand(name: string, opts: ImageAddOptions): number {
  const layout = dataDirLayout(opts.dataDir);
  try {
    ensureDataDir(layout);
    const image: LocalImage = {
      name,
      dir: opts.dir,
      workingDir: opts.workdir ?? '/app',
      command: opts.cmd ? splitWords(opts.cmd) : [],
      args: opts.args ? splitWords(opts.args) : [],
      env: parseEnv(opts.env ?? []),
      ports: opts.port ?? [],
    };
    const saved = new LocalImageStore({ dataDir: layout.root }).add(image);
    process.stdout.write(
      `image ${saved.name} added: ${saved.dir} at ${saved.workingDir}, runs ` +
        `${JSON.stringify([...(saved.command ?? []), ...(saved.args ?? [])])}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  for (const r of rows)
    process.stdout.write(
      `${r
        .map((v, c) => v.padEnd((widths[c] ?? 0) + 3))
        .join('')
        .trimEnd()}\n`,
    );
}

/** 1234567 → "1.23MB", as crictl and docker print sizes. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toPrecision(3)}${units[u]}`;
}

function imageStore(dataDir?: string): ImageStore {
  const layout = dataDirLayout(dataDir);
  ensureDataDir(layout);
  return new ImageStore({ root: ImageStore.dirFor(layout.root) });
}

/** Lists stored images (image, tag, digest, size), then the folder images. */
export async function imageListCommand(opts: { dataDir?: string }): Promise<number> {
  const stored = await imageStore(opts.dataDir).list();
  const folders = new LocalImageStore({ dataDir: dataDirLayout(opts.dataDir).root }).list();
  if (stored.length > 0 || folders.length === 0) {
    printTable([
      ['IMAGE', 'TAG', 'DIGEST', 'SIZE'],
      ...stored.map((i) => {
        const at = i.ref.lastIndexOf('@');
        const name = at >= 0 ? i.ref.slice(0, at) : i.ref;
        const colon = name.lastIndexOf(':');
        const hasTag = colon > name.lastIndexOf('/');
        return [
          hasTag ? name.slice(0, colon) : name,
          hasTag ? name.slice(colon + 1) : '<none>',
          i.digest.slice(0, 19),
          humanSize(i.size),
        ];
      }),
    ]);
  }
  if (folders.length === 0) return 0;
  if (stored.length > 0) process.stdout.write('\nfolder images (skiff image add):\n');
  printTable([
    ['NAME', 'DIR', 'WORKDIR', 'COMMAND', 'PORTS'],
    ...folders.map((i) => [
      i.name,
      i.dir,
      i.workingDir ?? '/app',
      [...(i.command ?? []), ...(i.args ?? [])].join(' '),
      (i.ports ?? []).join(',') || '<none>',
    ]),
  ]);
  return 0;
}

/** Imports images from a docker save tarball, an OCI archive or an OCI layout directory. */
export async function imageLoadCommand(file: string, opts: { dataDir?: string }): Promise<number> {
  try {
    const names = await loadImages(imageStore(opts.dataDir), file);
    for (const name of names) process.stdout.write(`Loaded image: ${name}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
}

/** Removes every stored image no running container uses, and the content only they held. */
export async function imagePruneCommand(opts: { dataDir?: string }): Promise<number> {
  const store = imageStore(opts.dataDir);
  // Containers mount their image's layers: mountinfo says which are in use, server running or not.
  const res = await removeImages(store, { keepPinned: false, now: Date.now(), graceMs: 0 });
  for (const ref of res.removed) process.stdout.write(`Deleted: ${ref}\n`);
  process.stdout.write(
    `Total reclaimed: ${res.blobs} blobs, ${res.layers} layer directories (${humanSize(res.freed)})\n`,
  );
  return 0;
}

/** Removes a folder image or a stored image name; exit code 1 when neither exists. */
export async function imageRemoveCommand(
  name: string,
  opts: { dataDir?: string },
): Promise<number> {
  const removed = new LocalImageStore({ dataDir: dataDirLayout(opts.dataDir).root }).remove(name);
  if (removed) {
    process.stdout.write(`image ${name} removed\n`);
    return 0;
  }
  let ref = name;
  try {
    ref = formatReference(parseReference(name));
  } catch {
    // not a reference: only an exact stored name can match
  }
  const store = imageStore(opts.dataDir);
  if (!store.index.remove(ref) && !store.index.remove(name)) {
    process.stderr.write(`error: image "${name}" is not registered\n`);
    return 1;
  }
  // Content goes with the last name using it; layers a container has mounted stay (mountinfo).
  await store.sweep({ now: Date.now(), graceMs: 0, keepLayers: mountedLayers() });
  process.stdout.write(`Deleted: ${ref}\n`);
  return 0;
}
