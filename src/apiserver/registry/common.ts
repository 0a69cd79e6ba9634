// Building blocks shared by the strategies: column helpers, the generation/status rules of most
// spec+status kinds and the default Table (NAME, CREATED AT). ObjectMeta is validated by the handlers.
import type { KObject } from '../../api/object.js';
import { timestampSince } from './duration.js';
import type { FieldError, Strategy, TableColumn, TablePrinter } from './types.js';
import { invalid, isObj, jsonEqual, meta, type Obj, str } from './util.js';

/** Name column definition used first by every printer. */
export const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

/** Age column definition. */
export const ageColumn: TableColumn = {
  name: 'Age',
  type: 'string',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  priority: 0,
};

/** A column; `wide` marks priority-1 columns shown only with -o wide. */
export function col(name: string, type: TableColumn['type'] = 'string', wide = false): TableColumn {
  return { name, type, priority: wide ? 1 : 0 };
}

/** The object's name cell. */
export function nameOf(obj: KObject): string {
  return str(obj.metadata?.name);
}

/** The AGE cell of an object. */
export function ageOf(obj: KObject, now: number): string {
  return timestampSince(obj.metadata?.creationTimestamp, now);
}

/** Builds a printer whose columns are Name, the given ones, then Age, and wide ones after. */
export function printer(
  columns: TableColumn[],
  cells: (obj: KObject, now: number) => unknown[],
): TablePrinter {
  return { columns: [nameColumn, ...columns], cells: (o, now) => [nameOf(o), ...cells(o, now)] };
}

/** The default table of resources without a printer: NAME and CREATED AT (the RFC3339 time). */
export const defaultTable: TablePrinter = {
  columns: [
    nameColumn,
    {
      name: 'Created At',
      type: 'date',
      description: ageColumn.description,
      priority: 0,
    },
  ],
  cells: (o) => [nameOf(o), o.metadata?.creationTimestamp ?? null],
};

/**
 * prepareForCreate/Update for kinds with metadata.generation and a status the main resource cannot
 * write: create sets generation 1 and resets status to `emptyStatus`; update keeps the old status
 * and bumps generation only when spec (`specKey`) changed.
 */
export function generationHooks(
  emptyStatus: (obj: KObject) => unknown = () => ({}),
  specKey = 'spec',
): Pick<Strategy, 'prepareForCreate' | 'prepareForUpdate'> {
  return {
    prepareForCreate(obj) {
      (obj as Obj).status = emptyStatus(obj);
      meta(obj).generation = 1;
    },
    prepareForUpdate(obj, old) {
      const o = obj as Obj;
      if (old.status === undefined) delete o.status;
      else o.status = structuredClone(old.status);
      const oldGen = typeof old.metadata?.generation === 'number' ? old.metadata.generation : 1;
      const changed = !jsonEqual(o[specKey], (old as Obj)[specKey]);
      meta(obj).generation = changed ? oldGen + 1 : oldGen;
    },
  };
}

/** prepareForUpdate for kinds whose status the main resource must not change (no generation). */
export function keepStatusOnUpdate(obj: KObject, old: KObject): void {
  const o = obj as Obj;
  if (old.status === undefined) delete o.status;
  else o.status = structuredClone(old.status);
}

/** Field error for an immutable field that changed (apimachinery ValidateImmutableField). */
export function immutable(field: string, value: unknown, old: unknown): FieldError[] {
  return jsonEqual(value, old) ? [] : [invalid(field, value, 'field is immutable')];
}

/** Whether a list of conditions has one of `type` with status "True". */
export function hasCondition(status: unknown, type: string): boolean {
  if (!isObj(status) || !Array.isArray(status.conditions)) return false;
  return status.conditions.some((c) => isObj(c) && c.type === type && c.status === 'True');
}

/**
 * The class marked default by any of `annotations` (value "true"); the newest wins when several
 * are (upstream's DefaultStorageClass and DefaultIngressClass admission plugins).
 */
export function newestDefaultClass(classes: KObject[], annotations: string[]): string | undefined {
  const defaults = classes
    .filter((c) => annotations.some((a) => c.metadata?.annotations?.[a] === 'true'))
    .sort((a, b) =>
      String(b.metadata?.creationTimestamp ?? '').localeCompare(
        String(a.metadata?.creationTimestamp ?? ''),
      ),
    );
  return defaults[0]?.metadata?.name;
}
