// Local images registered by `skiff image add NAME --dir D --cmd ...`, stored in
// <data-dir>/images.json. The catalog consults this registry before the bundled images.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ImageSource, parseImageRef } from './catalog.js';

/** One registered local image (the OCI image config fields Skiff uses). */
export interface LocalImage {
  /** Repository, and optionally `:tag`; no tag matches every tag. */
  name: string;
  /** Host folder with the image's files, bind-mounted at workingDir. */
  dir: string;
  workingDir?: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  ports?: number[];
}

/** The registry of local images in <data-dir>/images.json. */
export class LocalImageStore implements ImageSource {
  #file: string;

  constructor(opts: { dataDir: string }) {
    this.#file = path.join(opts.dataDir, 'images.json');
  }

  /** All registered images, sorted by name. */
  list(): LocalImage[] {
    if (!existsSync(this.#file)) return [];
    const parsed = JSON.parse(readFileSync(this.#file, 'utf8')) as { images?: LocalImage[] };
    return (parsed.images ?? []).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Adds or replaces an image; the folder must exist. */
  add(image: LocalImage): LocalImage {
    if (!image.name.trim()) throw new TypeError('image name must not be empty');
    if (!existsSync(image.dir)) throw new TypeError(`image folder "${image.dir}" does not exist`);
    if (!image.command?.length && !image.args?.length) {
      throw new TypeError(`image "${image.name}" needs an entrypoint (--cmd)`);
    }
    const entry = { ...image, dir: path.resolve(image.dir) };
    const rest = this.list().filter((i) => i.name !== image.name);
    this.#write([...rest, entry]);
    return entry;
  }

  /** Removes an image; returns false when it was not registered. */
  remove(name: string): boolean {
    const all = this.list();
    const rest = all.filter((i) => i.name !== name);
    if (rest.length === all.length) return false;
    this.#write(rest);
    return true;
  }

  /** ImageSource: finds `repo:tag`, then `repo` (any tag). */
  lookup(repository: string, tag: string) {
    const all = this.list();
    const hit =
      all.find((i) => {
        const p = parseImageRef(i.name);
        return p.repository === repository && p.tag === tag && i.name.includes(':');
      }) ??
      all.find((i) => !i.name.includes(':') && parseImageRef(i.name).repository === repository);
    if (!hit) return undefined;
    return {
      rootDir: hit.dir,
      workingDir: hit.workingDir ?? '/app',
      command: hit.command ?? [],
      args: hit.args ?? [],
      env: Object.entries(hit.env ?? {}).map(([name, value]) => ({ name, value })),
      ports: hit.ports ?? [],
    };
  }

  #write(images: LocalImage[]): void {
    // Write-then-rename so a crash never leaves a half-written registry.
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ images }, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, this.#file);
  }
}
