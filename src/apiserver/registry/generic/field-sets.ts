// Field ownership for managedFields (follows sigs.k8s.io/structured-merge-diff fieldpath and
// k8s.io/apiserver pkg/endpoints/handlers/fieldmanager): the set of leaf fields an object sets, as
// paths of `f:<field>`, `k:{"<mergeKey>":<value>}` (items of lists merged by key) and `v:<value>`
// (set lists), converted to and from the FieldsV1 JSON form.
import type { KObject } from '../../../api/object.js';
import { isObject } from '../../../lib/json.js';
import { mergeKeyFor } from '../../handlers/patch.js';

/** One path element: "f:spec", 'k:{"name":"web"}', 'v:"finalizer"'. */
export type PathElement = string;
/** A leaf field path. */
export type FieldPath = readonly PathElement[];

// Metadata fields that are owned (system fields such as name or uid never are).
const ownedMetadata = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

/**
 * The leaf field paths obj sets. Objects recurse by key; lists merged by a key recurse per item
 * (identified by its key); set lists (finalizers) list their values; other lists are atomic.
 * Top-level status is not owned through the main resource.
 */
export function leafPaths(obj: KObject, kind: string | undefined): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (v: unknown, at: PathElement[], names: string[]) => {
    if (isObject(v)) {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      if (entries.length === 0 && at.length) out.push(at);
      for (const [k, x] of entries) walk(x, [...at, `f:${k}`], [...names, k]);
      return;
    }
    if (Array.isArray(v)) {
      const key = mergeKeyFor(names, kind);
      if (key === '$set') {
        for (const item of v) out.push([...at, `v:${JSON.stringify(item)}`]);
        if (v.length === 0) out.push(at);
        return;
      }
      if (key && v.every((item) => isObject(item) && item[key] !== undefined)) {
        for (const item of v as Record<string, unknown>[]) {
          const id = `k:${JSON.stringify({ [key]: item[key] })}`;
          walk(item, [...at, id], names);
        }
        if (v.length === 0) out.push(at);
        return;
      }
    }
    out.push(at);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata' && isObject(v)) {
      for (const mk of ownedMetadata) {
        if (v[mk] !== undefined) walk(v[mk], ['f:metadata', `f:${mk}`], ['metadata', mk]);
      }
      continue;
    }
    walk(v, [`f:${k}`], [k]);
  }
  return out;
}

/** A path as one string (for sets and messages). */
export const pathKey = (p: FieldPath): string => p.join('\u0000');

/** Renders a path as upstream's conflict messages do: .spec.template.spec.containers[name="web"].image */
export function formatPath(p: FieldPath): string {
  let s = '';
  for (const e of p) {
    const body = e.slice(2);
    if (e.startsWith('f:')) s += `.${body}`;
    else if (e.startsWith('k:')) {
      const k = JSON.parse(body) as Record<string, unknown>;
      s += `[${Object.entries(k)
        .map(([n, v]) => `${n}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else s += `[=${body}]`;
  }
  return s;
}

/** The value at a path; undefined when absent. */
export function valueAt(obj: unknown, p: FieldPath): unknown {
  let cur: unknown = obj;
  for (const e of p) {
    const body = e.slice(2);
    if (e.startsWith('f:')) cur = isObject(cur) ? cur[body] : undefined;
    else if (e.startsWith('k:')) {
      const [[k, v]] = Object.entries(JSON.parse(body) as Record<string, unknown>) as [
        [string, unknown],
      ];
      cur = Array.isArray(cur)
        ? cur.find((item) => isObject(item) && JSON.stringify(item[k]) === JSON.stringify(v))
        : undefined;
    } else {
      const want = body;
      cur =
        Array.isArray(cur) && cur.some((x) => JSON.stringify(x) === want)
          ? JSON.parse(want)
          : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Removes the field at a path (an item of a keyed or set list: the whole item); no-op if absent. */
export function deleteAt(obj: unknown, p: FieldPath): void {
  if (p.length === 0) return;
  const parent = valueAt(obj, p.slice(0, -1));
  const last = p[p.length - 1]!;
  const body = last.slice(2);
  if (last.startsWith('f:')) {
    if (isObject(parent)) delete parent[body];
    return;
  }
  if (!Array.isArray(parent)) return;
  const target = valueAt(obj, p);
  const i = parent.indexOf(
    last.startsWith('k:') ? target : parent.find((x) => JSON.stringify(x) === body),
  );
  if (i >= 0) parent.splice(i, 1);
}

/** FieldsV1 JSON of a set of leaf paths (parents as nested objects, keyed items with ".": {}). */
export function toFieldsV1(paths: readonly FieldPath[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let node = root;
    for (const e of p) {
      node[e] ??= {};
      node = node[e] as Record<string, unknown>;
      if (e.startsWith('k:')) node['.'] = {};
    }
  }
  return root;
}

/** The leaf paths of a FieldsV1 object. */
export function fromFieldsV1(fields: unknown): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (node: unknown, at: PathElement[]) => {
    const keys = isObject(node) ? Object.keys(node).filter((k) => k !== '.') : [];
    if (keys.length === 0) {
      if (at.length) out.push(at);
      return;
    }
    for (const k of keys) walk((node as Record<string, unknown>)[k], [...at, k]);
  };
  walk(fields, []);
  return out;
}

/** A managedFields entry (metav1.ManagedFieldsEntry). */
export interface ManagedEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

const isSame = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * managedFields after a write by an Update manager (create, update, patch): it owns the fields
 * it set or changed, which other managers lose; fields the object no longer has are nobody's.
 */
export function managedAfterUpdate(
  old: KObject | undefined,
  next: KObject,
  opts: { manager: string; kind: string; time: string; subresource?: string },
): ManagedEntry[] {
  const present = leafPaths(next, opts.kind);
  const presentKeys = new Set(present.map(pathKey));
  const changed = old ? present.filter((p) => !isSame(valueAt(old, p), valueAt(next, p))) : present;
  const changedKeys = new Set(changed.map(pathKey));
  const isMine = (e: ManagedEntry) =>
    e.manager === opts.manager &&
    e.operation === 'Update' &&
    (e.subresource ?? '') === (opts.subresource ?? '');
  const entries = (next.metadata?.managedFields ?? []) as ManagedEntry[];
  const renewed = (fields: FieldPath[], prev?: ManagedEntry): ManagedEntry | undefined => {
    if (!fields.length) return undefined;
    // An update that changed nothing of its own keeps its entry as it was (no timestamp churn).
    if (prev && !changed.length) return { ...prev, fieldsV1: toFieldsV1(fields) };
    return {
      manager: opts.manager,
      operation: 'Update',
      apiVersion: next.apiVersion,
      time: opts.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(fields),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
    };
  };
  // Entries keep their places (a reordering alone would be a write).
  const out: ManagedEntry[] = [];
  for (const e of entries) {
    const kept = fromFieldsV1(e.fieldsV1).filter(
      (p) => presentKeys.has(pathKey(p)) && !changedKeys.has(pathKey(p)),
    );
    const entry = isMine(e)
      ? renewed([...kept, ...changed], e)
      : kept.length
        ? { ...e, fieldsV1: toFieldsV1(kept) }
        : undefined;
    if (entry) out.push(entry);
  }
  if (!entries.some(isMine)) {
    const entry = renewed(changed);
    if (entry) out.push(entry);
  }
  return out;
}

/** A field another manager owns with a different value than an apply sets. */
export interface ApplyConflict {
  manager: string;
  path: FieldPath;
}

/** How upstream names a manager in a conflict ("kubectl-create" using apps/v1). */
export function describeManager(e: ManagedEntry): string {
  const name = JSON.stringify(e.manager ?? '');
  return e.operation === 'Update' ? `${name} using ${e.apiVersion ?? ''}` : name;
}

/**
 * Plans an apply by manager: the fields other managers own that the configuration would change
 * (conflicts), and the managedFields and removals once it goes ahead (with force, the conflicting
 * fields move to the applier).
 * 1. The applier then owns exactly the configuration's fields.
 * 2. A field the applier owned before and no longer applies is removed from the object unless
 *    another manager owns it too (a keyed list item goes whole once none of it stays owned).
 */
export function planApply(
  live: KObject,
  applied: KObject,
  opts: { manager: string; kind: string; time: string; subresource?: string },
): { conflicts: ApplyConflict[]; entries: ManagedEntry[]; removals: FieldPath[] } {
  const wanted = leafPaths(applied, opts.kind);
  const wantedKeys = new Set(wanted.map(pathKey));
  const entries = (live.metadata?.managedFields ?? []) as ManagedEntry[];
  const isMine = (e: ManagedEntry) =>
    e.manager === opts.manager &&
    e.operation === 'Apply' &&
    (e.subresource ?? '') === (opts.subresource ?? '');
  const conflicts: ApplyConflict[] = [];
  // Entries keep their places; the applier's own is filled in below.
  const others: (ManagedEntry | 'mine')[] = [];
  const ownedByOthers = new Set<string>();
  let before: FieldPath[] = [];
  for (const e of entries) {
    const paths = fromFieldsV1(e.fieldsV1);
    if (isMine(e)) {
      before = paths;
      others.push('mine');
      continue;
    }
    const kept: FieldPath[] = [];
    for (const p of paths) {
      if (wantedKeys.has(pathKey(p)) && !isSame(valueAt(live, p), valueAt(applied, p))) {
        conflicts.push({ manager: describeManager(e), path: p });
        continue; // taken over when forced
      }
      kept.push(p);
    }
    for (const p of kept) ownedByOthers.add(pathKey(p));
    if (kept.length) others.push({ ...e, fieldsV1: toFieldsV1(kept) });
  }
  const stillOwned = (prefix: string) =>
    [...wantedKeys, ...ownedByOthers].some((k) => k === prefix || k.startsWith(`${prefix}\u0000`));
  const removals: FieldPath[] = [];
  const seen = new Set<string>();
  for (const p of before) {
    if (wantedKeys.has(pathKey(p)) || ownedByOthers.has(pathKey(p))) continue;
    // The outermost keyed item nobody owns anything of goes whole.
    const cut = p.findIndex(
      (e, i) => e.startsWith('k:') && !stillOwned(pathKey(p.slice(0, i + 1))),
    );
    const target = cut >= 0 ? p.slice(0, cut + 1) : p;
    if (!seen.has(pathKey(target))) removals.push(target);
    seen.add(pathKey(target));
  }
  const prev = entries.find(isMine);
  const mine: ManagedEntry =
    prev && isSame(fromFieldsV1(prev.fieldsV1).map(pathKey).sort(), [...wantedKeys].sort())
      ? prev
      : {
          manager: opts.manager,
          operation: 'Apply',
          apiVersion: applied.apiVersion,
          time: opts.time,
          fieldsType: 'FieldsV1',
          fieldsV1: toFieldsV1(wanted),
          ...(opts.subresource ? { subresource: opts.subresource } : {}),
        };
  const placed = others.map((e) => (e === 'mine' ? mine : e));
  return { conflicts, entries: prev ? placed : [...placed, mine], removals };
}
