// The layering check of `npm run lint` (STYLE.md §3.1 dependency rules): reads every relative
// import under src/ and fails on an import the folder rules forbid or on an import cycle between
// files. `--graph` prints the folder-level import graph and the file cycles instead (the
// before/after picture of a reshape).
// Usage: node scripts/check-layering.mjs [--graph]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const root = 'src';

/**
 * Forbidden imports: a file under `from` may not import a file under any of `to` (folders
 * relative to src/). Tests may reach across (they boot real components), so *.test.ts is exempt,
 * as are files named testing.ts, the harnesses other components' tests use.
 */
const components = ['controllers', 'node', 'proxy', 'ingress', 'metrics', 'dns'];
const topFolders = readdirSync(root).filter((f) => statSync(join(root, f)).isDirectory());
const rules = [
  // lib knows no Kubernetes; api is Kubernetes types and pure helpers: both import nothing above.
  { from: ['lib'], to: topFolders.filter((f) => f !== 'lib') },
  { from: ['api'], to: topFolders.filter((f) => f !== 'lib' && f !== 'api') },
  { from: ['store'], to: ['apiserver', 'client', ...components, 'cli', 'cmd'] },
  // The API server serves the API; it neither calls it (client/) nor knows its callers.
  { from: ['apiserver'], to: ['client', ...components, 'cli', 'cmd'] },
  { from: ['client'], to: ['apiserver', 'store', ...components, 'cli', 'cmd'] },
  // Components meet only through the API, via client/.
  { from: components, to: ['apiserver', 'store', 'cli', 'cmd'] },
  // Only cmd/ wires components together: nothing imports cmd/.
  { from: topFolders.filter((f) => f !== 'cmd'), to: ['cmd'] },
];

const importRe =
  /(?:^|\n)\s*(?:import|export)\s([^'"]*?)from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const isExempt = (file) => /\.test\.ts$/.test(file) || /(^|\/)testing\.ts$/.test(file);

/** Top folder of a src-relative path ("apiserver/registry/pods.ts" → "apiserver"). */
const topOf = (rel) => rel.split('/')[0];

const files = walk(root).filter((f) => !f.startsWith(join(root, 'dashboard', 'static')));
/** @type {Map<string, string[]>} file (src-relative, .ts) → imported files (src-relative). */
const edges = new Map();
/**
 * The same without `import type` / `export type` edges: those vanish at runtime, so only value
 * imports can form a cycle that matters at load time (the folder rules count both).
 */
const valueEdges = new Map();
for (const file of files) {
  const rel = relative(root, file);
  const text = readFileSync(file, 'utf8');
  const targets = [];
  const valueTargets = [];
  for (const m of text.matchAll(importRe)) {
    const spec = m[2] ?? m[3];
    const target = relative(root, normalize(join(dirname(file), spec))).replace(/\.js$/, '.ts');
    targets.push(target);
    if (!/^type\s/.test(m[1] ?? '')) valueTargets.push(target);
  }
  edges.set(rel, targets);
  valueEdges.set(rel, valueTargets);
}

function violations() {
  const out = [];
  for (const [file, targets] of edges) {
    if (isExempt(file)) continue;
    for (const target of targets) {
      if (target.startsWith('..')) continue;
      for (const rule of rules) {
        if (!rule.from.some((f) => file.startsWith(`${f}/`))) continue;
        const bad = rule.to.find((t) => target.startsWith(`${t}/`));
        if (bad)
          out.push(
            `${root}/${file} imports ${root}/${target} (${topOf(file)} may not import ${bad}/)`,
          );
      }
    }
  }
  return out;
}

/** Strongly connected components of the non-test value-import graph with more than one file. */
function cycles() {
  let index = 0;
  const stack = [];
  const info = new Map();
  const out = [];
  const strong = (v) => {
    info.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of valueEdges.get(v) ?? []) {
      if (!edges.has(w) || isExempt(w)) continue;
      if (!info.has(w)) {
        strong(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).onStack)
        info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
    }
    if (info.get(v).low === info.get(v).index) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).onStack = false;
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of edges.keys()) if (!isExempt(v) && !info.has(v)) strong(v);
  return out;
}

if (process.argv.includes('--graph')) {
  // Folder-level graph: apiserver/handlers and apiserver/registry shown separately.
  const unit = (rel) => {
    const parts = rel.split('/');
    return parts.length > 2 && (parts[0] === 'apiserver' || parts[0] === 'controllers')
      ? `${parts[0]}/${parts[1]}`
      : parts[0];
  };
  const graph = new Map();
  for (const [file, targets] of edges) {
    if (isExempt(file)) continue;
    for (const t of targets) {
      if (t.startsWith('..') || unit(t) === unit(file)) continue;
      const k = `${unit(file)} -> ${unit(t)}`;
      graph.set(k, (graph.get(k) ?? 0) + 1);
    }
  }
  for (const k of [...graph.keys()].sort()) console.log(`${k} (${graph.get(k)})`);
  console.log('cycles:');
  for (const c of cycles()) console.log(`  ${c.join(' <-> ')}`);
  console.log('violations:');
  for (const v of violations()) console.log(`  ${v}`);
  process.exit(0);
}

const problems = [
  ...violations(),
  ...cycles().map((c) => `import cycle: ${c.map((f) => `${root}/${f}`).join(' <-> ')}`),
];
for (const p of problems) console.error(p);
if (problems.length) {
  console.error(
    `layering: ${problems.length} problem(s); the rules are in scripts/check-layering.mjs`,
  );
  process.exit(1);
}
