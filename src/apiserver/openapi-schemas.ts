// Component schemas of the OpenAPI documents (what `kubectl explain` walks), built from the API
// types of the installed kubernetes-types package: each interface of its .d.ts files is a schema,
// each field a property with the type and the documentation the package carries. Names follow
// upstream's (io.k8s.api.apps.v1.Deployment, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** An OpenAPI schema object (the subset these documents use). */
export type Schema = Record<string, unknown>;

/** The upstream schema name prefix of a kubernetes-types module ("apps/v1" → io.k8s.api.apps.v1). */
function namePrefix(module: string): string {
  if (module.startsWith('meta/')) return `io.k8s.apimachinery.pkg.apis.${module.replace('/', '.')}`;
  if (module === 'api/resource') return 'io.k8s.apimachinery.pkg.api.resource';
  if (module === 'runtime') return 'io.k8s.apimachinery.pkg.runtime';
  if (module === 'version') return 'io.k8s.apimachinery.pkg.version';
  if (module.startsWith('apiextensions/')) {
    return `io.k8s.apiextensions-apiserver.pkg.apis.${module.replace('/', '.')}`;
  }
  return `io.k8s.api.${module.replace('/', '.')}`;
}

interface ModuleText {
  module: string;
  text: string;
}

function readModules(root: string): ModuleText[] {
  const out: ModuleText[] = [];
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.d.ts')) continue;
    const file = path.join(e.parentPath, e.name);
    const module = path.relative(root, file).replace(/\.d\.ts$/, '');
    out.push({ module, text: readFileSync(file, 'utf8') });
  }
  return out;
}

// Aliases of primitive types, as upstream's schemas spell them.
const aliasSchemas: Record<string, Schema> = {
  Time: { type: 'string', format: 'date-time' },
  MicroTime: { type: 'string', format: 'date-time' },
};

// Types upstream names as schemas of their own though they are strings on the wire (explain shows
// their names); the descriptions are ours.
const intOrString = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const quantity = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const namedScalars: Record<string, Schema> = {
  [intOrString]: {
    type: 'string',
    format: 'int-or-string',
    description: 'An integer or a string (a port number or name, a count or a percentage).',
  },
  [quantity]: {
    type: 'string',
    description:
      'A fixed-point amount with an optional SI or binary suffix, such as 100m, 2, 512Mi or 1G.',
  },
};

/** The schema of a field's TypeScript type; refs resolve a local name to a schema name. */
function typeSchema(type: string, ref: (name: string) => string | undefined): Schema {
  const t = type.trim();
  if (t === 'string' || /^"[^"]*"$/.test(t)) return { type: 'string' };
  if (t === 'boolean') return { type: 'boolean' };
  if (t === 'number') return { type: 'integer', format: 'int64' };
  if (t === 'number | string') return { $ref: `#/components/schemas/${intOrString}` };
  if (t === 'Quantity') return { $ref: `#/components/schemas/${quantity}` };
  const arr = /^Array<(.+)>$/.exec(t);
  if (arr) return { type: 'array', items: typeSchema(arr[1]!, ref) };
  const map = /^\{\s*\[name: string\]: (.+?);?\s*\}$/.exec(t);
  if (map) return { type: 'object', additionalProperties: typeSchema(map[1]!, ref) };
  const name = ref(t);
  if (name) return { $ref: `#/components/schemas/${name}` };
  return { type: 'object' };
}

/**
 * The strategic merge patch tags of a list field (k8s.io/api's patchStrategy/patchMergeKey), the
 * same merge keys the API server's patch.ts applies; client-side `kubectl apply` reads them from
 * these schemas to compute its patches. Undefined for lists replaced whole.
 */
function patchTags(iface: string, field: string): Schema | undefined {
  const merge = (key?: string): Schema => ({
    'x-kubernetes-patch-strategy': field === 'volumes' ? 'merge,retainKeys' : 'merge',
    ...(key ? { 'x-kubernetes-patch-merge-key': key } : {}),
  });
  const isContainer = iface === 'Container' || iface === 'EphemeralContainer';
  if (iface === 'PodSpec') {
    const byName = ['containers', 'initContainers', 'ephemeralContainers', 'volumes'];
    if ([...byName, 'imagePullSecrets', 'resourceClaims', 'schedulingGates'].includes(field)) {
      return merge('name');
    }
    if (field === 'hostAliases') return merge('ip');
    if (field === 'topologySpreadConstraints') return merge('topologyKey');
  }
  if (isContainer) {
    if (field === 'env') return merge('name');
    if (field === 'ports') return merge('containerPort');
    if (field === 'volumeMounts') return merge('mountPath');
    if (field === 'volumeDevices') return merge('devicePath');
  }
  if (iface === 'ServiceSpec' && field === 'ports') return merge('port');
  if (iface === 'ObjectMeta' && field === 'ownerReferences') return merge('uid');
  if (iface === 'ObjectMeta' && field === 'finalizers') return merge();
  if (iface.endsWith('Status') && field === 'conditions') return merge('type');
  return undefined;
}

/**
 * Parses the package's declaration files into schemas by upstream name.
 * 1. Interfaces become object schemas; their fields properties, `?`-less fields `required`.
 * 2. A property that refers to another schema is `allOf: [{$ref}]` beside its description, as
 *    upstream's v3 documents write it.
 */
function parseModules(modules: ModuleText[]): Map<string, Schema> {
  const schemas = new Map<string, Schema>(Object.entries(namedScalars));
  for (const { module, text } of modules) {
    const prefix = namePrefix(module);
    const imports = new Map<string, string>();
    for (const m of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
      const target = path.posix.join(path.posix.dirname(module), m[2]!);
      for (const n of m[1]!.split(',')) imports.set(n.trim(), `${namePrefix(target)}.${n.trim()}`);
    }
    const local = new Set(
      [...text.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]!),
    );
    const aliases = new Map<string, string>();
    for (const m of text.matchAll(/^export type (\w+) = (.+);$/gm)) aliases.set(m[1]!, m[2]!);
    const ref = (name: string): string | undefined => {
      if (aliases.has(name)) return undefined;
      if (local.has(name)) return `${prefix}.${name}`;
      return imports.get(name);
    };
    const resolve = (type: string): Schema => {
      const alias = aliases.get(type.trim()) ?? undefined;
      if (alias && aliasSchemas[type.trim()]) return { ...aliasSchemas[type.trim()] };
      if (alias) return typeSchema(alias, ref);
      // An imported alias (Time) is a primitive here too.
      const short = type.trim();
      if (aliasSchemas[short] && imports.has(short)) return { ...aliasSchemas[short] };
      return typeSchema(type, ref);
    };
    for (const [name, s] of Object.entries(aliasSchemas)) {
      if (aliases.has(name)) schemas.set(`${prefix}.${name}`, { ...s });
    }
    parseInterfaces(text, (iface) => {
      const properties: Record<string, Schema> = {};
      const required: string[] = [];
      for (const f of iface.fields) {
        const s = resolve(f.type);
        const withDoc = (x: Schema): Schema => (f.doc ? { description: f.doc, ...x } : x);
        properties[f.name] = {
          ...(s['$ref'] ? withDoc({ allOf: [s] }) : withDoc(s)),
          ...(s['type'] === 'array' ? patchTags(iface.name, f.name) : {}),
        };
        if (!f.isOptional) required.push(f.name);
      }
      const schema: Schema = { type: 'object', properties };
      if (iface.doc) schema['description'] = iface.doc;
      if (required.length) schema['required'] = required;
      schemas.set(`${prefix}.${iface.name}`, schema);
    });
  }
  return schemas;
}

interface ParsedField {
  name: string;
  type: string;
  doc: string;
  isOptional: boolean;
}

/** Walks the interfaces of one generated declaration file (one member per line, JSDoc above). */
function parseInterfaces(
  text: string,
  onInterface: (i: { name: string; doc: string; fields: ParsedField[] }) => void,
): void {
  const lines = text.split('\n');
  let doc = '';
  let current: { name: string; doc: string; fields: ParsedField[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.startsWith('/**')) {
      const parts: string[] = [];
      let l = line;
      for (;;) {
        parts.push(
          l
            .replace(/^\/\*\*\s?/, '')
            .replace(/\s?\*\/$/, '')
            .replace(/^\*\s?/, ''),
        );
        if (l.endsWith('*/') || i + 1 >= lines.length) break;
        l = lines[++i]!.trim();
      }
      doc = parts.join('\n').trim();
      continue;
    }
    const head = /^export interface (\w+) \{$/.exec(line);
    if (head) {
      current = { name: head[1]!, doc, fields: [] };
      doc = '';
      continue;
    }
    if (line === '}' && current) {
      onInterface(current);
      current = undefined;
      continue;
    }
    const field = /^(?:readonly )?("?[\w$-]+"?)(\??): (.+)$/.exec(line);
    if (field && current) {
      let type = field[3]!;
      // A map type spans three lines: `{`, `[name: string]: T;`, `};`.
      if (type === '{') {
        type = `{ ${lines[++i]!.trim()} }`;
        i++;
      } else type = type.replace(/;$/, '');
      current.fields.push({
        name: field[1]!.replace(/"/g, ''),
        type,
        doc,
        isOptional: field[2] === '?',
      });
      doc = '';
    }
  }
}

let cached: Map<string, Schema> | undefined;

/**
 * Every schema by upstream name; empty when kubernetes-types is not installed (a production
 * install without dev dependencies: explain then finds no schema, everything else works).
 */
export function apiSchemas(): Map<string, Schema> {
  if (cached) return cached;
  let root: string | undefined;
  try {
    const req = createRequire(import.meta.url);
    root = path.dirname(req.resolve('kubernetes-types/package.json'));
  } catch {
    root = undefined;
  }
  cached = root && existsSync(root) ? parseModules(readModules(root)) : new Map();
  return cached;
}

/** The kubernetes-types module of an API group-version ("apps/v1"; core is "core/v1"). */
export function moduleOf(group: string, version: string): string {
  if (group === '') return `core/${version}`;
  return `${group.split('.')[0]}/${version}`;
}

/** The upstream schema name of a kind ("io.k8s.api.apps.v1.Deployment"). */
export function schemaNameOf(group: string, version: string, kind: string): string {
  return `${namePrefix(moduleOf(group, version))}.${kind}`;
}

/** The schemas a set of roots refer to, transitively (each document carries what it uses). */
export function closure(roots: string[], all: Map<string, Schema>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const queue = [...roots];
  while (queue.length) {
    const name = queue.pop()!;
    if (out[name] || !all.has(name)) continue;
    const s = all.get(name)!;
    out[name] = s;
    for (const m of JSON.stringify(s).matchAll(/"#\/components\/schemas\/([^"]+)"/g))
      queue.push(m[1]!);
  }
  return out;
}
