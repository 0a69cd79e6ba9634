// Emits src/apiserver/registry/schema/fields.json: for each kind Skiff validates strictly, a
// field tree (type name → field → child type) derived from kubernetes-types' .d.ts files, used to
// report unknown fields. Usage: npx tsx scripts/gen-field-schema.ts
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('kubernetes-types/package.json'));
const outDir = new URL('../src/apiserver/registry/schema/', import.meta.url);

/** apiVersion/kind → "<module>.<Interface>" roots. */
const kinds: [string, string, string][] = [
  ['v1', 'Pod', 'core/v1'],
  ['v1', 'Service', 'core/v1'],
  ['v1', 'ConfigMap', 'core/v1'],
  ['v1', 'Secret', 'core/v1'],
  ['v1', 'Namespace', 'core/v1'],
  ['v1', 'ServiceAccount', 'core/v1'],
  ['v1', 'Endpoints', 'core/v1'],
  ['v1', 'Node', 'core/v1'],
  ['v1', 'Event', 'core/v1'],
  ['apps/v1', 'Deployment', 'apps/v1'],
  ['apps/v1', 'ReplicaSet', 'apps/v1'],
  ['networking.k8s.io/v1', 'Ingress', 'networking/v1'],
  ['networking.k8s.io/v1', 'IngressClass', 'networking/v1'],
  ['autoscaling/v1', 'HorizontalPodAutoscaler', 'autoscaling/v1'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler', 'autoscaling/v2'],
  ['discovery.k8s.io/v1', 'EndpointSlice', 'discovery/v1'],
  ['batch/v1', 'Job', 'batch/v1'],
];

interface Module {
  interfaces: Map<string, ts.InterfaceDeclaration>;
  imports: Map<string, string>;
}
const modules = new Map<string, Module>();

function loadModule(mod: string): Module {
  const cached = modules.get(mod);
  if (cached) return cached;
  const file = join(pkgDir, `${mod}.d.ts`);
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const m: Module = { interfaces: new Map(), imports: new Map() };
  for (const st of sf.statements) {
    if (ts.isInterfaceDeclaration(st)) m.interfaces.set(st.name.text, st);
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const target = relative(pkgDir, join(dirname(file), st.moduleSpecifier.text));
      const named = st.importClause?.namedBindings;
      if (named && ts.isNamedImports(named)) {
        for (const el of named.elements) m.imports.set(el.name.text, target);
      }
    }
  }
  modules.set(mod, m);
  return m;
}

/** Field value: "" free-form, "$…" a typed leaf (leafOf), "<type>" object, "[]<type>" list. */
type FieldTree = Record<string, Record<string, string>>;
const types: FieldTree = {};

function refOf(mod: string, node: ts.TypeNode): string {
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText();
    if (name === 'Array' && node.typeArguments?.[0]) {
      const inner = refOf(mod, node.typeArguments[0]);
      return inner === '' ? '' : `[]${inner}`;
    }
    const m = loadModule(mod);
    const target = m.interfaces.has(name) ? mod : m.imports.get(name);
    // Type aliases (Time, Quantity) are typed leaves.
    if (!target) return leafOf(mod, node);
    const decl = loadModule(target).interfaces.get(name);
    if (!decl) return leafOf(mod, node);
    // Empty interfaces (RawExtension, FieldsV1) hold arbitrary JSON.
    if (decl.members.length === 0) return '';
    const id = `${target}.${name}`;
    visit(target, name);
    return id;
  }
  return leafOf(mod, node);
}

/**
 * The JSON type of a scalar, map or union field, for the type check of request bodies:
 * "$s" string, "$n" integer, "$b" boolean, "$ns" int-or-string, "$q" quantity (string or number),
 * "{}<leaf>" a map of those; "" free-form. findUnknownFields treats all of these as leaves.
 */
function leafOf(mod: string, node: ts.TypeNode): string {
  if (node.kind === ts.SyntaxKind.StringKeyword) return '$s';
  if (node.kind === ts.SyntaxKind.NumberKeyword) return '$n';
  if (node.kind === ts.SyntaxKind.BooleanKeyword) return '$b';
  if (ts.isUnionTypeNode(node)) {
    const kinds = node.types.map((t) => t.kind).sort();
    const intOrString = [ts.SyntaxKind.StringKeyword, ts.SyntaxKind.NumberKeyword].sort();
    return kinds.join() === intOrString.join() ? '$ns' : '';
  }
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText();
    if (name === 'Time' || name === 'MicroTime') return '$s';
    if (name === 'Quantity') return '$q';
    return '';
  }
  if (ts.isTypeLiteralNode(node)) {
    const index = node.members.find(ts.isIndexSignatureDeclaration);
    const value = index?.type ? refOf(mod, index.type) : '';
    return value.startsWith('$') ? `{}${value}` : '';
  }
  // Other unions and literal types are free-form.
  return '';
}

function visit(mod: string, name: string): void {
  const id = `${mod}.${name}`;
  if (types[id]) return;
  const decl = loadModule(mod).interfaces.get(name);
  if (!decl) throw new Error(`Interface ${id} not found`);
  const fields: Record<string, string> = {};
  types[id] = fields;
  for (const member of decl.members) {
    if (!ts.isPropertySignature(member) || !member.type) continue;
    fields[member.name.getText().replace(/^"|"$/g, '')] = refOf(mod, member.type);
  }
}

// Fields added after kubernetes-types 1.30 that 1.32 clients may send (scalars or free-form).
const newer: Record<string, string[]> = {
  'core/v1.PodSpec': ['resources'],
  'core/v1.PodSecurityContext': ['supplementalGroupsPolicy', 'seLinuxChangePolicy'],
  'core/v1.Volume': ['image'],
  'core/v1.ContainerStatus': ['allocatedResourcesStatus', 'user', 'stopSignal'],
  'core/v1.PodStatus': ['observedGeneration'],
  'core/v1.PodCondition': ['observedGeneration'],
  'core/v1.NodeStatus': ['features', 'runtimeHandlers'],
  'core/v1.LifecycleHandler': ['sleep'],
  'core/v1.Lifecycle': ['stopSignal'],
  'apps/v1.DeploymentStatus': ['terminatingReplicas'],
  'apps/v1.ReplicaSetStatus': ['terminatingReplicas'],
};

const roots: Record<string, string> = {};
for (const [apiVersion, kind, mod] of kinds) {
  visit(mod, kind);
  roots[`${apiVersion}/${kind}`] = `${mod}.${kind}`;
}
for (const [id, fields] of Object.entries(newer)) {
  const t = types[id];
  if (!t) continue;
  for (const f of fields) t[f] ??= '';
}
mkdirSync(outDir, { recursive: true });
writeFileSync(new URL('fields.json', outDir), `${JSON.stringify({ roots, types })}\n`);
console.log(`wrote ${Object.keys(types).length} types for ${kinds.length} kinds`);
