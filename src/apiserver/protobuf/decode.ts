// Decodes Kubernetes protobuf request bodies ("k8s\0" + runtime.Unknown) into the JSON object shape,
// following apimachinery's runtime/serializer/protobuf and the JSON tags of k8s.io/api types.
// The message layouts come from schema.json (scripts/gen-proto-schema.ts).
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import type { KObject } from '../../api/object.js';
import { isObject } from '../../lib/json.js';

/** The 4 bytes that open every Kubernetes protobuf body. */
export const protobufMagic: Buffer = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The loaded message layouts (tests use it to encode bodies). */
export const protoRoot: protobuf.Root = protobuf.Root.fromJSON(
  JSON.parse(
    readFileSync(new URL('./schema.json', import.meta.url), 'utf8'),
  ) as protobuf.INamespace,
);
const root = protoRoot;
const unknownType = root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
const metaPkg = 'k8s.io.apimachinery.pkg.apis.meta.v1';

// Go structs embedded with `json:",inline"`: a nested message in proto, flat in JSON.
export const inlineFields: ReadonlySet<string> = new Set([
  'volumeSource',
  'persistentVolumeSource',
  'localObjectReference',
  'handler',
  'ephemeralContainerCommon',
  'ingressRuleValue',
]);

// Proto field names that differ from the JSON names (the Go struct tags): the rest match.
const jsonNames: Record<string, string> = { Webhooks: 'webhooks' };

/** The JSON name of a proto field. */
export function jsonNameOf(field: protobuf.Field): string {
  return jsonNames[field.name] ?? field.name;
}

// Value fields whose explicit 0 matters (e.g. --replicas=0); other Go zero values are dropped because
// proto2 as Go writes it cannot tell "unset" from "zero" for non-pointer fields.
const keepZero = new Set([
  'replicas',
  'minReplicas',
  'port',
  'targetPort',
  'containerPort',
  'gracePeriodSeconds',
]);

/** Whether a request body is a Kubernetes protobuf envelope. */
export function isProtobuf(body: Uint8Array): boolean {
  return body.length >= 4 && Buffer.from(body.subarray(0, 4)).equals(protobufMagic);
}

/** The protobuf message type name for an apiVersion and kind, e.g. "k8s.io.api.apps.v1.Deployment". */
export function protoTypeName(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  // Options kinds are registered in every group version but live in meta/v1.
  if (kind === 'DeleteOptions' || kind === 'Status') return `${metaPkg}.${kind}`;
  const pkg = group === '' ? 'core' : (group.split('.')[0] as string);
  return `k8s.io.api.${pkg}.${version}.${kind}`;
}

/**
 * Decodes a "k8s\0" + runtime.Unknown body into a JSON-shaped object with apiVersion and kind.
 * Throws SyntaxError for a malformed body and RangeError for a kind without a known schema.
 */
export function decodeProtobuf(body: Uint8Array): KObject {
  if (!isProtobuf(body))
    throw new SyntaxError('Body does not start with the protobuf magic "k8s\\0"');
  let envelope: { typeMeta?: { apiVersion?: string; kind?: string }; raw?: Uint8Array };
  try {
    envelope = unknownType.toObject(unknownType.decode(body.subarray(4)), { bytes: Buffer });
  } catch (e: unknown) {
    throw new SyntaxError(`Malformed protobuf envelope: ${e instanceof Error ? e.message : e}`);
  }
  const apiVersion = envelope.typeMeta?.apiVersion ?? '';
  const kind = envelope.typeMeta?.kind ?? '';
  const type = root.lookup(protoTypeName(apiVersion, kind));
  if (!(type instanceof protobuf.Type)) {
    throw new RangeError(
      `No protobuf schema for ${apiVersion || '<none>'}, Kind=${kind || '<none>'}`,
    );
  }
  let decoded: Record<string, unknown>;
  try {
    decoded = type.toObject(type.decode(envelope.raw ?? new Uint8Array()), {
      longs: Number,
      bytes: String,
    });
  } catch (e: unknown) {
    throw new SyntaxError(`Malformed protobuf ${kind}: ${e instanceof Error ? e.message : e}`);
  }
  const body2 = toJSON(type, decoded, '') as Record<string, unknown>;
  return { ...(apiVersion ? { apiVersion } : {}), ...(kind ? { kind } : {}), ...body2 };
}

/** Converts a protobufjs plain object of `type` into the Kubernetes JSON shape. */
function toJSON(type: protobuf.Type, obj: Record<string, unknown>, path: string): unknown {
  const name = type.fullName.slice(1);
  if (specialTypes.has(name)) return specialToJSON(name, obj);
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = obj[field.name];
    if (value === undefined || value === null) continue;
    const fieldPath = path ? `${path}.${field.name}` : field.name;
    const converted = fieldToJSON(field, value, fieldPath);
    if (converted === undefined) continue;
    if (inlineFields.has(field.name) && isObject(converted)) Object.assign(out, converted);
    else out[jsonNameOf(field)] = converted;
  }
  return out;
}

function fieldToJSON(field: protobuf.Field, value: unknown, path: string): unknown {
  const resolved = field.resolve().resolvedType;
  const one = (v: unknown): unknown =>
    resolved instanceof protobuf.Type && isObject(v) ? toJSON(resolved, v, path) : v;
  if (field.map) {
    const m = value as Record<string, unknown>;
    if (Object.keys(m).length === 0) return undefined;
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, one(v)]));
  }
  if (field.repeated) {
    const list = value as unknown[];
    return list.length === 0 ? undefined : list.map(one);
  }
  if (resolved instanceof protobuf.Type) return one(value);
  // Scalars: drop Go zero values except the few whose explicit zero is meaningful in a spec.
  const isZero = value === '' || value === false || value === 0;
  if (isZero && !(value === 0 && keepZero.has(field.name) && !path.startsWith('status'))) {
    return undefined;
  }
  return value;
}

const specialTypes = new Set([
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  'k8s.io.apimachinery.pkg.api.resource.Quantity',
  `${metaPkg}.Time`,
  `${metaPkg}.MicroTime`,
  `${metaPkg}.Duration`,
  `${metaPkg}.FieldsV1`,
  'k8s.io.apimachinery.pkg.runtime.RawExtension',
]);

/** JSON forms of apimachinery's special message types (undefined = leave the field out). */
function specialToJSON(name: string, obj: Record<string, unknown>): unknown {
  switch (name) {
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return obj.type === 1 ? (obj.strVal ?? '') : (obj.intVal ?? 0);
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
      return obj.string ?? '0';
    case `${metaPkg}.Time`:
      return formatTime(obj, false);
    case `${metaPkg}.MicroTime`:
      return formatTime(obj, true);
    case `${metaPkg}.Duration`:
      return formatGoDuration(Number(obj.duration ?? 0));
    case `${metaPkg}.FieldsV1`:
    case 'k8s.io.apimachinery.pkg.runtime.RawExtension':
      return parseRawJSON(obj.Raw ?? obj.raw);
    default:
      return undefined;
  }
}

function formatTime(obj: Record<string, unknown>, micro: boolean): string | undefined {
  const seconds = Number(obj.seconds ?? 0);
  const nanos = Number(obj.nanos ?? 0);
  // Go's zero time travels as an empty Timestamp; JSON shows it as null, i.e. absent.
  if (seconds === 0 && nanos === 0) return undefined;
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

/** Go's time.Duration String(), e.g. "1h0m0s", "1.5s", "300ms"; only used for rare fields. */
function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (Math.abs(ns) < 1e9) {
    if (Math.abs(ns) < 1e3) return `${ns}ns`;
    return Math.abs(ns) < 1e6 ? `${ns / 1e3}µs` : `${ns / 1e6}ms`;
  }
  const sign = ns < 0 ? '-' : '';
  let s = Math.abs(ns) / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s = Number((s - m * 60).toFixed(9));
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  return m > 0 ? `${sign}${m}m${s}s` : `${sign}${s}s`;
}

function parseRawJSON(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw === '') return undefined;
  const text = Buffer.from(raw, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e: unknown) {
    throw new SyntaxError(`Embedded raw object is not JSON: ${e instanceof Error ? e.message : e}`);
  }
}
