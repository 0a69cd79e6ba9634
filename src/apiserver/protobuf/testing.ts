// Encodes JSON-shaped objects as Kubernetes protobuf bodies ("k8s\0" + runtime.Unknown), the
// inverse of decode.ts, so tests can send any kind the way kubectl sends its typed objects.
import protobuf from 'protobufjs';
import type { KObject } from '../../api/object.js';
import { isObject } from '../../lib/json.js';
import { inlineFields, jsonNameOf, protobufMagic, protoRoot, protoTypeName } from './decode.js';

const metaPkg = 'k8s.io.apimachinery.pkg.apis.meta.v1';

/** The protobufjs plain-object form of a JSON value of `type`. */
function fromJSON(type: protobuf.Type, json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = inlineFields.has(field.name) ? json : json[jsonNameOf(field)];
    if (value === undefined || value === null) continue;
    const resolved = field.resolve().resolvedType;
    const one = (v: unknown): unknown =>
      resolved instanceof protobuf.Type ? special(resolved, v) : v;
    if (field.map) {
      out[field.name] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, one(v)]),
      );
    } else if (field.repeated) out[field.name] = (value as unknown[]).map(one);
    else out[field.name] = one(value);
  }
  return out;
}

/** apimachinery's special types (IntOrString, Quantity, Time, raw JSON) from their JSON form. */
function special(type: protobuf.Type, v: unknown): unknown {
  switch (type.fullName.slice(1)) {
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return typeof v === 'number' ? { type: 0, intVal: v } : { type: 1, strVal: String(v) };
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
      return { string: String(v) };
    case `${metaPkg}.Time`:
    case `${metaPkg}.MicroTime`:
      return { seconds: Math.floor(Date.parse(String(v)) / 1000) };
    case `${metaPkg}.FieldsV1`:
      return { Raw: Buffer.from(JSON.stringify(v)) };
    case 'k8s.io.apimachinery.pkg.runtime.RawExtension':
      return { raw: Buffer.from(JSON.stringify(v)) };
    default:
      return isObject(v) ? fromJSON(type, v) : v;
  }
}

/** Encodes obj (with apiVersion and kind) as a Kubernetes protobuf request body. */
export function encodeProtobuf(obj: KObject): Buffer {
  const apiVersion = obj.apiVersion ?? '';
  const kind = obj.kind ?? '';
  const type = protoRoot.lookupType(protoTypeName(apiVersion, kind));
  const raw = type.encode(type.fromObject(fromJSON(type, obj))).finish();
  const unknown = protoRoot.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
  const envelope = unknown
    .encode(unknown.fromObject({ typeMeta: { apiVersion, kind }, raw }))
    .finish();
  return Buffer.concat([protobufMagic, envelope]);
}
