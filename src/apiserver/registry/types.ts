// The per-resource strategy contract (upstream's rest.RESTCreateStrategy / RESTUpdateStrategy /
// RESTDeleteStrategy / TableConvertor): the generic store calls these hooks; each resource file
// under registry/ fills them.
import type { KObject } from '../../api/object.js';
import type { Clock } from '../../lib/clock.js';

/** A field error, rendered into an Invalid Status cause (upstream field.Error). */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueNotFound'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueTypeInvalid';
  /** Path such as "spec.template.metadata.labels". */
  field: string;
  /** The offending value, rendered in the message like upstream ("Invalid value: \"x\": ..."). */
  value?: unknown;
  /** Detail after the value, e.g. "must be no more than 63 characters". */
  detail: string;
}

/** Settings of the registry (kube-apiserver --service-cluster-ip-range / --service-node-port-range). */
export interface RegistryConfig {
  /** IPv4 CIDR ClusterIPs are allocated from; default 10.96.0.0/12. */
  serviceCIDR: string;
  /** Inclusive NodePort range; default 30000–32767. */
  nodePortRange: { min: number; max: number };
  /** Random source in [0, 1) for allocations; injectable for deterministic tests. */
  random: () => number;
}

/** What a strategy hook may consult besides the object. */
export interface StrategyContext {
  clock: Clock;
  config: Readonly<RegistryConfig>;
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
  /**
   * Where the objects are stored when another resource owns them (events.k8s.io events are the
   * core events); the converter maps between the two forms.
   */
  storedAs?: { group: string; resource: string };
  /**
   * Whether objects with a spec start at generation 1 and count spec changes; default: true for
   * named groups, false for the core group (whose strategies set it themselves, e.g. RCs).
   */
  tracksGeneration?: boolean;
  /**
   * The grace period of a delete (upstream CheckGracefulDelete); default 0 (delete at once unless
   * finalizers wait). `requested` is DeleteOptions.gracePeriodSeconds.
   */
  gracePeriod?(obj: KObject, requested: number | undefined): number;
  /**
   * Replaces the generic delete plan (namespaces: mark Terminating and wait for spec.finalizers).
   * Gets the object (storage version, a fresh copy) and the finalizers after the propagation
   * policy; returns the object to store, 'now' or 'unchanged'.
   */
  planDelete?(obj: KObject, finalizers: string[], ctx: StrategyContext): DeletePlan;
  /**
   * True while a terminating object still waits for something besides metadata.finalizers and
   * its grace period (namespaces: spec.finalizers), so an update must not remove it yet.
   */
  isAwaitingFinalization?(obj: KObject): boolean;
  /** A DELETE answers the deleted object instead of a Status (upstream Store.ReturnDeletedObject). */
  returnDeletedObject?: boolean;
}

/** What a delete does: store this (terminating) object, delete now, or nothing. */
export type DeletePlan = KObject | 'now' | 'unchanged';
