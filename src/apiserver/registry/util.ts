// Helpers shared by the resource strategies: untyped object access, field-error constructors
// (upstream apimachinery pkg/util/validation/field), IsDNS1123Label and label-selector formatting.
import type { KObject } from '../../api/object.js';
import { isObject } from '../../lib/json.js';
import type { FieldError } from './types.js';

/** A JSON object of unknown shape. */
export type Obj = Record<string, unknown>;

/** Whether v is a plain JSON object (lib/json.ts isObject under the strategies' short name). */
export const isObj: (v: unknown) => v is Obj = isObject;

/** Returns obj[key] as an object, creating it when absent. */
export function child(obj: Obj, key: string): Obj {
  const v = obj[key];
  if (isObj(v)) return v;
  const created: Obj = {};
  obj[key] = created;
  return created;
}

/** Returns obj[key] if it is an object, else undefined (never creates). */
export function sub(obj: unknown, key: string): Obj | undefined {
  if (!isObj(obj)) return undefined;
  const v = obj[key];
  return isObj(v) ? v : undefined;
}

/** Returns obj[key] as an array of objects (empty when absent or not an array). */
export function list(obj: unknown, key: string): Obj[] {
  if (!isObj(obj)) return [];
  const v = obj[key];
  return Array.isArray(v) ? v.filter(isObj) : [];
}

/** Reads a dotted path ("spec.template.spec") from an object. */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** String value or '' (cells and selectable fields treat absent as empty). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** Number value or the fallback. */
export function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' ? v : fallback;
}

/** Sets obj[key] = value when the key is absent (undefined/null). */
export function setDefault(obj: Obj, key: string, value: unknown): void {
  if (obj[key] === undefined || obj[key] === null) obj[key] = value;
}

/** The metadata of an object, created when absent. */
export function meta(obj: KObject): Obj {
  return child(obj as Obj, 'metadata');
}

/** field.Required. */
export function required(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, detail };
}

/** field.Invalid. */
export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, value, detail };
}

/** field.NotSupported: the detail lists the allowed values like upstream. */
export function notSupported(field: string, value: unknown, allowed: string[]): FieldError {
  const quoted = allowed.map((a) => `"${a}"`).join(', ');
  return { type: 'FieldValueNotSupported', field, value, detail: `supported values: ${quoted}` };
}

/** field.Forbidden. */
export function forbidden(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, detail };
}

/** apivalidation.ValidateNonnegativeField for each of `fields` of obj that is a negative number. */
export function nonNegativeFields(obj: Obj, at: string, fields: string[]): FieldError[] {
  return fields
    .filter((f) => typeof obj[f] === 'number' && (obj[f] as number) < 0)
    .map((f) => invalid(`${at}.${f}`, obj[f], 'must be greater than or equal to 0'));
}

/** field.TooMany: `count` items where at most `max` are allowed. */
export function tooMany(field: string, count: number, max: number): FieldError {
  return {
    type: 'FieldValueTooMany',
    field,
    value: count,
    detail: `must have at most ${max} items`,
  };
}

/** field.NotFound. */
export function notFound(field: string, value: unknown): FieldError {
  return { type: 'FieldValueNotFound', field, value, detail: '' };
}

/** field.Duplicate. */
export function duplicate(field: string, value: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, value, detail: '' };
}

const dns1123LabelRE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Upstream IsDNS1123Label: the error details, empty when valid. */
export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push('must be no more than 63 characters');
  if (!dns1123LabelRE.test(v)) {
    errs.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return errs;
}

/** labels.FormatLabels: "k=v,k2=v2" sorted by key, or "<none>". */
export function formatLabels(m: unknown): string {
  if (!isObj(m)) return '<none>';
  const keys = Object.keys(m).sort();
  return keys.length === 0 ? '<none>' : keys.map((k) => `${k}=${str(m[k])}`).join(',');
}

/** metav1.LabelSelector as the selector string ("app=web,tier in (a,b)"), '' when empty. */
export function selectorString(sel: unknown): string {
  if (!isObj(sel)) return '';
  const parts: string[] = [];
  const ml = sub(sel, 'matchLabels') ?? {};
  for (const k of Object.keys(ml)) parts.push(`${k}=${str(ml[k])}`);
  for (const e of list(sel, 'matchExpressions')) {
    const key = str(e.key);
    const values = Array.isArray(e.values) ? e.values.map(str).sort() : [];
    switch (e.operator) {
      case 'In':
        parts.push(`${key} in (${values.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${key} notin (${values.join(',')})`);
        break;
      case 'Exists':
        parts.push(key);
        break;
      case 'DoesNotExist':
        parts.push(`!${key}`);
        break;
      default:
        break;
    }
  }
  // labels.Selector.String() sorts requirements by key.
  return parts.sort((a, b) => keyOf(a).localeCompare(keyOf(b))).join(',');
}

function keyOf(req: string): string {
  return req.replace(/^!/, '').split(/[= ]/)[0] ?? '';
}

/** metav1.FormatLabelSelector: the selector string or "<none>". */
export function formatLabelSelector(sel: unknown): string {
  const s = selectorString(sel);
  return s === '' ? '<none>' : s;
}

/** Whether a label selector (matchLabels/matchExpressions) matches a label map. */
export function selectorMatches(sel: unknown, labels: unknown): boolean {
  const l = isObj(labels) ? labels : {};
  const ml = sub(sel, 'matchLabels') ?? {};
  for (const [k, v] of Object.entries(ml)) if (l[k] !== v) return false;
  for (const e of list(sel, 'matchExpressions')) {
    const key = str(e.key);
    const values = Array.isArray(e.values) ? e.values.map(str) : [];
    const has = key in l;
    const ok =
      e.operator === 'In'
        ? has && values.includes(str(l[key]))
        : e.operator === 'NotIn'
          ? !has || !values.includes(str(l[key]))
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

/** Deep equality of JSON values (used to detect spec changes). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Joins the names of containers or their images with ",", as the printers do. */
export function joinContainers(podSpec: unknown, field: 'name' | 'image'): string {
  return list(podSpec, 'containers')
    .map((c) => str(c[field]))
    .join(',');
}

/** Parses an IntOrString "25%" or 2 against a total (rounding like the validator, not the controller). */
export function intOrPercent(v: unknown, field: string, errs: FieldError[]): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    if (v < 0) errs.push(invalid(field, v, 'must be greater than or equal to 0'));
    return v;
  }
  const m = /^(\d+)%$/.exec(str(v));
  if (!m) {
    errs.push(
      invalid(
        field,
        v,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    );
    return undefined;
  }
  const pct = Number(m[1]);
  if (pct > 100) errs.push(invalid(field, v, 'must not be greater than 100%'));
  return pct;
}
