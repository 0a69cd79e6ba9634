// Emits src/apiserver/protobuf/schema.json: the protobuf message layouts (names, field numbers,
// types) of the Kubernetes kinds Skiff decodes, read from the gzipped FileDescriptorProtos that
// every kubectl binary embeds. Usage: npx tsx scripts/gen-proto-schema.ts [path/to/kubectl]
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { builtinResources } from '../src/api/resources.js';

const kubectl = process.argv[2] ?? '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const out = new URL('../src/apiserver/protobuf/schema.json', import.meta.url);

/**
 * Root messages Skiff must decode: every served kind kubectl's scheme knows (what it may send as
 * protobuf), the subresource and review kinds it posts, and the envelope; everything they
 * reference is kept too. Kinds kubectl has no Go type for (CRDs, APIServices) only come as JSON.
 */
const protoPackage = (group: string): string => (group === '' ? 'core' : group.split('.')[0]!);
const roots = [
  ...builtinResources
    .filter((r) => !['apiextensions.k8s.io', 'apiregistration.k8s.io'].includes(r.group))
    .map((r) => `k8s.io.api.${protoPackage(r.group)}.${r.version}.${r.kind}`),
  'k8s.io.api.core.v1.Binding',
  'k8s.io.api.autoscaling.v1.Scale',
  'k8s.io.api.policy.v1.Eviction',
  'k8s.io.api.authentication.v1.TokenRequest',
  'k8s.io.api.authentication.v1.SelfSubjectReview',
  'k8s.io.api.authorization.v1.SelfSubjectAccessReview',
  'k8s.io.api.authorization.v1.SelfSubjectRulesReview',
  'k8s.io.api.events.v1.Event',
  'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions',
  'k8s.io.apimachinery.pkg.runtime.Unknown',
];

// A minimal protobuf wire reader: enough for descriptor.proto's few fields.
type Fields = Map<number, (Buffer | number)[]>;
function readMessage(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    let val: Buffer | number;
    if (wire === 0) val = varint();
    else if (wire === 2) {
      const len = varint();
      val = buf.subarray(i, i + len);
      i += len;
    } else if (wire === 5) {
      val = buf.readUInt32LE(i);
      i += 4;
    } else if (wire === 1) {
      val = 0;
      i += 8;
    } else throw new SyntaxError(`Unsupported wire type ${wire}`);
    const list = fields.get(no) ?? [];
    list.push(val);
    fields.set(no, list);
  }
  return fields;
}
const str = (f: Fields, no: number): string =>
  (f.get(no)?.[0] as Buffer | undefined)?.toString() ?? '';
const num = (f: Fields, no: number): number => (f.get(no)?.[0] as number | undefined) ?? 0;
const msgs = (f: Fields, no: number): Fields[] =>
  (f.get(no) ?? []).map((b) => readMessage(b as Buffer));

// descriptor.proto FieldDescriptorProto.Type numbers → protobufjs scalar names.
const scalar: Record<number, string> = {
  1: 'double',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  6: 'fixed64',
  7: 'fixed32',
  8: 'bool',
  9: 'string',
  12: 'bytes',
  13: 'uint32',
  15: 'sfixed32',
  16: 'sfixed64',
  17: 'sint32',
  18: 'sint64',
};

interface FieldJSON {
  id: number;
  type: string;
  rule?: 'repeated';
  keyType?: string;
}
const messages = new Map<string, Record<string, FieldJSON>>();
const mapEntries = new Map<string, { key: string; value: string }>();

function addMessage(prefix: string, d: Fields): void {
  const name = `${prefix}.${str(d, 1)}`;
  const opts = d.get(7)?.[0] as Buffer | undefined;
  const isMapEntry = opts !== undefined && num(readMessage(opts), 7) === 1;
  const fields: Record<string, FieldJSON> = {};
  for (const f of msgs(d, 2)) {
    const t = num(f, 5);
    const type = t === 11 || t === 14 ? str(f, 6).replace(/^\./, '') : (scalar[t] ?? 'bytes');
    fields[str(f, 1)] = { id: num(f, 3), type, ...(num(f, 4) === 3 ? { rule: 'repeated' } : {}) };
  }
  if (isMapEntry) {
    mapEntries.set(name, {
      key: fields.key?.type ?? 'string',
      value: fields.value?.type ?? 'string',
    });
  } else messages.set(name, fields);
  for (const n of msgs(d, 3)) addMessage(name, n);
}

const bin = readFileSync(kubectl);
const magic = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]);
for (let i = bin.indexOf(magic); i >= 0; i = bin.indexOf(magic, i + 1)) {
  let raw: Buffer;
  try {
    raw = gunzipSync(bin.subarray(i, i + 400_000));
  } catch (e: unknown) {
    // Not every gzip-looking byte run in a binary is a descriptor; skip the ones that fail.
    if (e instanceof Error) continue;
    throw e;
  }
  // A FileDescriptorProto starts with field 1 (its file name); other gzip payloads are skipped.
  if (raw[0] !== 0x0a || !raw.subarray(2, 9).equals(Buffer.from('k8s.io/'))) continue;
  const file = readMessage(raw);
  for (const m of msgs(file, 4)) addMessage(str(file, 2), m);
}

// Keep only what the roots reach; turn map-entry references into protobufjs map fields.
const keep = new Map<string, Record<string, FieldJSON>>();
const visit = (name: string): void => {
  if (keep.has(name)) return;
  const fields = messages.get(name);
  if (!fields) throw new Error(`Message "${name}" not found in ${kubectl}`);
  const outFields: Record<string, FieldJSON> = {};
  keep.set(name, outFields);
  for (const [fname, f] of Object.entries(fields)) {
    const entry = mapEntries.get(f.type);
    const g: FieldJSON = entry ? { id: f.id, type: entry.value, keyType: entry.key } : f;
    outFields[fname] = g;
    if (messages.has(g.type)) visit(g.type);
  }
};
for (const r of roots) visit(r);

// protobufjs JSON descriptor: a tree of namespaces keyed by package segment.
type Ns = { nested?: Record<string, Ns>; edition?: string; fields?: Record<string, FieldJSON> };
const root: Ns = { nested: {} };
for (const name of [...keep.keys()].sort()) {
  const parts = name.split('.');
  let ns = root;
  for (const p of parts.slice(0, -1)) {
    ns.nested ??= {};
    ns = ns.nested[p] ??= {};
  }
  ns.nested ??= {};
  // proto2: field presence is on the wire (protobufjs treats JSON-loaded types as proto3).
  ns.nested[parts.at(-1) as string] = {
    edition: 'proto2',
    fields: keep.get(name) as Record<string, FieldJSON>,
  };
}
writeFileSync(out, `${JSON.stringify(root)}\n`);
console.log(`wrote ${keep.size} messages to ${out.pathname}`);
