// The per-resource strategy contract (upstream's rest.RESTCreateStrategy / RESTUpdateStrategy /
// TableConvertor): generic handlers call these hooks; each resource file under registry/ fills them.
import type { KObject } from '../../client/rest.js';
import type { Clock } from '../../lib/clock.js';

/** A field error, rendered into an Invalid Status cause (upstream field.Error). */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTypeInvalid';
  /** Path such as "spec.template.metadata.labels". */
  field: string;
  /** The offending value, rendered in the message like upstream ("Invalid value: \"x\": ..."). */
  value?: unknown;
  /** Detail after the value, e.g. "must be no more than 63 characters". */
  detail: string;
}

/** What a strategy hook may consult besides the object. */
export interface StrategyContext {
  clock: Clock;
  /** Lists the stored objects of a resource (all namespaces), e.g. to find used ClusterIPs. */
  listStored(group: string, resource: string): KObject[];
}

/** One column of a Table (metav1.TableColumnDefinition). */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description?: string;
  /** 0 = default columns; 1 = shown only with -o wide. */
  priority: number;
}

/** Server-side printing (upstream pkg/printers/internalversion/printers.go). */
export interface TablePrinter {
  columns: TableColumn[];
  /** Cells in column order; `now` (ms) is for AGE and "(12s ago)". */
  cells(obj: KObject, now: number): unknown[];
}

/** The scale subresource adapter (autoscaling/v1 Scale). */
export interface ScaleAdapter {
  /** spec replicas of the object. */
  specReplicas(obj: KObject): number;
  /** status replicas and label selector string. */
  status(obj: KObject): { replicas: number; selector: string };
  /** Returns a copy with spec replicas set. */
  withReplicas(obj: KObject, replicas: number): KObject;
}

/** A version converter between the served version and the storage version. */
export interface VersionConverter {
  /** Converts an object in `fromVersion` ("autoscaling/v1") to storage ("autoscaling/v2"). */
  toStorage(obj: KObject): KObject;
  /** Converts a stored object to the served apiVersion. */
  fromStorage(obj: KObject, apiVersion: string): KObject;
}

/** Everything the generic handlers need to know about one resource. All hooks are optional. */
export interface Strategy {
  /** Fills upstream defaults (mutates obj, a fresh copy). Called on create and update. */
  defaults?(obj: KObject, ctx: StrategyContext): void;
  /** Called on create before validation: clears status where upstream does, sets generation etc. */
  prepareForCreate?(obj: KObject, ctx: StrategyContext): void;
  /** Called on update of the main resource: keeps old status, bumps generation on spec change. */
  prepareForUpdate?(obj: KObject, old: KObject, ctx: StrategyContext): void;
  /** Validation on create; empty when valid. */
  validate?(obj: KObject, ctx: StrategyContext): FieldError[];
  /** Validation on update (immutable fields etc.); empty when valid. */
  validateUpdate?(obj: KObject, old: KObject, ctx: StrategyContext): FieldError[];
  /** Field-selector values beyond metadata.name/metadata.namespace, e.g. {"status.phase": "Running"}. */
  selectableFields?(obj: KObject): Record<string, string>;
  /** Table output for kubectl get. */
  table?: TablePrinter;
  /** Present when the resource has a scale subresource. */
  scale?: ScaleAdapter;
  /** Present when several served versions share one stored form. */
  converter?: VersionConverter;
}
