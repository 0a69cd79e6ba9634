// Server-side Table rendering for `kubectl get` (follows k8s.io/apiserver pkg/registry/rest/table.go
// and the Table/PartialObjectMetadata types of meta.k8s.io): the strategy's printer or NAME/AGE.
import type { KObject } from '../../client/rest.js';
import type { TableColumn, TablePrinter } from '../registry/types.js';

/** A short human duration as kubectl prints AGE (k8s.io/apimachinery pkg/util/duration.HumanDuration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const years = Math.floor(hours / 24 / 365);
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** The printer used for kinds without one: NAME and AGE. */
export const defaultTablePrinter: TablePrinter = {
  columns: [
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description: 'Name must be unique within a namespace.',
      priority: 0,
    },
    {
      name: 'Age',
      type: 'string',
      description:
        'CreationTimestamp is a timestamp representing the server time when this object was created.',
      priority: 0,
    },
  ],
  cells(obj, now) {
    const created = obj.metadata?.creationTimestamp;
    const age = created ? humanDuration(now - Date.parse(created)) : '<unknown>';
    return [obj.metadata?.name ?? '', age];
  },
};

/** How much of each object a Table row carries (includeObject). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** The PartialObjectMetadata form of an object. */
export function partialObjectMetadata(obj: KObject, version: 'v1' | 'v1beta1' = 'v1'): KObject {
  const { managedFields: _m, ...metadata } = obj.metadata ?? {};
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata };
}

/** Builds a meta.k8s.io Table of objs. */
export function buildTable(opts: {
  printer: TablePrinter | undefined;
  objects: KObject[];
  now: number;
  version: 'v1' | 'v1beta1';
  resourceVersion?: string;
  includeObject?: IncludeObject;
  withColumns?: boolean;
}): Record<string, unknown> {
  const printer = opts.printer ?? defaultTablePrinter;
  const include = opts.includeObject ?? 'Metadata';
  const rows = opts.objects.map((obj) => {
    const row: Record<string, unknown> = { cells: printer.cells(obj, opts.now) };
    if (include === 'Metadata') row['object'] = partialObjectMetadata(obj, opts.version);
    else if (include === 'Object') row['object'] = obj;
    return row;
  });
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion) metadata['resourceVersion'] = opts.resourceVersion;
  const columns: TableColumn[] | undefined =
    opts.withColumns === false ? undefined : printer.columns;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata,
    columnDefinitions: columns ?? null,
    rows,
  };
}
