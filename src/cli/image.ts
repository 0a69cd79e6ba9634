// `skiff image add|list|rm`: the local image registry (<data-dir>/images.json) that pods resolve
// before the bundled images; the running node agent reads it at each pod start, so no restart.

import { type LocalImage, LocalImageStore } from '../images/local.js';
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

/** Lists the local images as a table. */
export function imageListCommand(opts: { dataDir?: string }): number {
  const images = new LocalImageStore({ dataDir: dataDirLayout(opts.dataDir).root }).list();
  const rows = [
    ['NAME', 'DIR', 'WORKDIR', 'COMMAND', 'PORTS'],
    ...images.map((i) => [
      i.name,
      i.dir,
      i.workingDir ?? '/app',
      [...(i.command ?? []), ...(i.args ?? [])].join(' '),
      (i.ports ?? []).join(',') || '<none>',
    ]),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  for (const r of rows)
    process.stdout.write(
      `${r
        .map((v, c) => v.padEnd((widths[c] ?? 0) + 3))
        .join('')
        .trimEnd()}\n`,
    );
  return 0;
}

/** Removes a local image; exit code 1 when it was not registered. */
export function imageRemoveCommand(name: string, opts: { dataDir?: string }): number {
  const removed = new LocalImageStore({ dataDir: dataDirLayout(opts.dataDir).root }).remove(name);
  if (!removed) {
    process.stderr.write(`error: image "${name}" is not registered\n`);
    return 1;
  }
  process.stdout.write(`image ${name} removed\n`);
  return 0;
}
