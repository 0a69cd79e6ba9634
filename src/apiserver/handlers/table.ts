// Server-side Table rendering for `kubectl get` (follows k8s.io/apiserver pkg/registry/rest/table.go
// and the Table/PartialObjectMetadata types of meta.k8s.io): the strategy's printer or NAME/AGE.
import type { KObject } from '../../api/object.js';
import { humanDuration } from '../registry/duration.js';
import type { TableColumn, TablePrinter } from '../registry/types.js';

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
