// The generic registry store: create/get/list/update/delete of any resource over the Backend, with
// strategy hooks (defaults, validation, graceful deletion, finalization), system metadata, CAS and
// finalizer-aware deletion. Resource-agnostic: what differs per kind is in its Strategy. Follows
// kubernetes staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { KObject } from '../../../api/object.js';
import type { ResourceInfo } from '../../../api/resources.js';
import { rfc3339 } from '../../../api/time.js';
import type { Clock } from '../../../lib/clock.js';
import { deepEqual, isObject } from '../../../lib/json.js';
import {
  type Backend,
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
} from '../../../store/backend.js';
import { nameRuleFor, validateObjectMeta } from '../../meta-validation.js';
import {
  type FieldRequirement,
  type LabelSelector,
  matchFields,
  matchLabels,
} from '../../selectors.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  invalid,
  notFound,
  StatusError,
} from '../../status-error.js';
import { newUid, randomSuffix } from '../../util.js';
import type {
  DeletePlan,
  FieldError,
  RegistryConfig,
  Strategy,
  StrategyContext,
} from '../types.js';
import { managedAfterUpdate } from './field-sets.js';

/** ObjectMeta with the server-owned fields writable (only the apiserver sets them). */
export type MutableMeta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

/** The metadata of obj, created when missing, writable. */
export function metaOf(obj: KObject): MutableMeta {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as MutableMeta;
}

/** Options shared by writes. */
export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

/** metav1.DeleteOptions as far as the server acts on it. */
export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** List options after parsing. */
export interface ListParams {
  namespace?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: FieldRequirement[];
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

/** Options of the generic store. */
export interface GenericStoreOptions {
  backend: Backend;
  clock: Clock;
  /** The strategy of each resource (the registry's table). */
  strategyFor: (r: { group: string; resource: string }) => Strategy;
  config: Readonly<RegistryConfig>;
}

/** Options of guaranteedUpdate. */
export interface UpdateOptions extends WriteOptions {
  /** 'status' writes only status; other subresource writes skip defaulting and prepareForUpdate. */
  subresource?: string;
  /**
   * Skips the strategy's update validation: a subresource storage that changes what the main
   * resource may not (pods/binding sets spec.nodeName) validates its own request.
   */
  bypassUpdateValidation?: boolean;
}

/** Generic storage of every resource in the resource table. */
export class GenericStore {
  readonly backend: Backend;
  readonly clock: Clock;
  readonly ctx: StrategyContext;
  readonly #strategyFor: GenericStoreOptions['strategyFor'];
  readonly #fieldLabels = new Map<string, ReadonlySet<string>>();

  constructor(opts: GenericStoreOptions) {
    this.backend = opts.backend;
    this.clock = opts.clock;
    this.#strategyFor = opts.strategyFor;
    this.ctx = {
      clock: opts.clock,
      config: opts.config,
      listStored: (group, resource) =>
        this.backend
          .list(`/registry/${group || 'core'}/${resource}/`)
          .items.map((kv) => this.#parse(kv)),
    };
  }

  /** The strategy of a resource. */
  strategy(r: { group: string; resource: string }): Strategy {
    return this.#strategyFor(r);
  }

  /** Storage key of one object. */
  key(r: ResourceInfo, namespace: string | undefined, name: string): string {
    const base = this.#base(r);
    return r.namespaced ? `${base}${namespace ?? ''}/${name}` : `${base}${name}`;
  }

  /** Storage prefix of a collection (all namespaces when namespace is empty). */
  prefix(r: ResourceInfo, namespace?: string): string {
    const base = this.#base(r);
    return r.namespaced && namespace ? `${base}${namespace}/` : base;
  }

  /** "/registry/<group|core>/<resource>/" of where r's objects live (strategy.storedAs or r). */
  #base(r: ResourceInfo): string {
    const at = this.strategy(r).storedAs ?? r;
    return `/registry/${at.group || 'core'}/${at.resource}/`;
  }

  #parse(kv: KeyValue): KObject {
    const obj = JSON.parse(kv.value) as KObject;
    metaOf(obj).resourceVersion = String(kv.modRevision);
    return obj;
  }

  /** Decodes a stored value into the served version of r, with resourceVersion = modRevision. */
  decode(r: ResourceInfo, kv: KeyValue): KObject {
    return this.toServed(r, this.#parse(kv));
  }

  /** Converts a stored object to r's version when it differs from the storage version. */
  toServed(r: ResourceInfo, obj: KObject): KObject {
    const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    if (obj.apiVersion === apiVersion) return obj;
    const conv = this.strategy(r).converter;
    if (conv) return conv.fromStorage(obj, apiVersion);
    return r.version === r.storageVersion ? obj : { ...obj, apiVersion };
  }

  /** Converts an object in r's version to the storage version (or the owning resource's form). */
  toStorage(r: ResourceInfo, obj: KObject): KObject {
    const conv = this.strategy(r).converter;
    if (conv) return conv.toStorage(obj);
    if (r.version === r.storageVersion) return obj;
    const storageApiVersion = r.group ? `${r.group}/${r.storageVersion}` : r.storageVersion;
    return { ...obj, apiVersion: storageApiVersion };
  }

  #encode(obj: KObject): string {
    const meta = metaOf(obj);
    const rv = meta.resourceVersion;
    delete meta.resourceVersion;
    const s = JSON.stringify(obj);
    if (rv !== undefined) meta.resourceVersion = rv;
    return s;
  }

  /** Reads one object; throws NotFound. */
  get(r: ResourceInfo, namespace: string | undefined, name: string): KObject {
    const kv = this.backend.get(this.key(r, namespace, name));
    if (!kv) throw notFound(r, name);
    return this.decode(r, kv);
  }

  /** Selectable field values of an object (metadata.name, metadata.namespace + strategy fields). */
  fieldsOf(r: ResourceInfo, obj: KObject): Record<string, string> {
    const meta = obj.metadata ?? {};
    const base: Record<string, string> = { 'metadata.name': meta.name ?? '' };
    if (r.namespaced) base['metadata.namespace'] = meta.namespace ?? '';
    const extra = this.strategy(r).selectableFields?.(obj);
    return extra ? { ...base, ...extra } : base;
  }

  /** A predicate for list/watch filtering; undefined when nothing filters. */
  matcher(r: ResourceInfo, p: ListParams): ((obj: KObject) => boolean) | undefined {
    const ls = p.labelSelector ?? [];
    const fs = p.fieldSelector ?? [];
    if (ls.length === 0 && fs.length === 0) return undefined;
    return (obj) =>
      matchLabels(ls, obj.metadata?.labels) &&
      (fs.length === 0 || matchFields(fs, this.fieldsOf(r, obj)));
  }

  /** Lists a collection with selectors; returns items and the list resourceVersion. */
  list(r: ResourceInfo, p: ListParams): { items: KObject[]; resourceVersion: string } {
    let revision: number | undefined;
    const rv = p.resourceVersion;
    if (rv && rv !== '0') {
      const n = Number(rv);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid resource version: ${rv}`);
      if (p.resourceVersionMatch === 'Exact') revision = n;
      else this.checkMinimumResourceVersion(rv);
    }
    let res: { revision: number; items: KeyValue[] };
    try {
      res = this.backend.list(this.prefix(r, p.namespace), { revision });
    } catch (err) {
      if (err instanceof CompactedError) throw expired(err.requested, err.compacted);
      if (err instanceof FutureRevisionError) throw badRequest(err.message);
      throw err;
    }
    const match = this.matcher(r, p);
    const items: KObject[] = [];
    for (const kv of res.items) {
      const obj = this.decode(r, kv);
      if (!match || match(obj)) items.push(obj);
    }
    return { items, resourceVersion: String(res.revision) };
  }

  /**
   * A read at a minimum resourceVersion newer than the store is 504 "Too large resource version"
   * (upstream validateMinimumResourceVersion); absent or "0" means any.
   */
  checkMinimumResourceVersion(rv: string | undefined): void {
    if (!rv || rv === '0') return;
    const n = Number(rv);
    const current = this.backend.currentRevision();
    if (n <= current) return;
    throw new StatusError({
      reason: 'Timeout',
      code: 504,
      message: `Too large resource version: ${rv}, current: ${current}`,
      details: {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      },
    });
  }

  /** Field labels r supports in field selectors: metadata.name/namespace and the strategy's. */
  fieldLabels(r: ResourceInfo): ReadonlySet<string> {
    const key = `${r.group}/${r.resource}`;
    let labels = this.#fieldLabels.get(key);
    if (!labels) {
      // Strategies report every selectable field whatever the object holds: ask an empty one.
      const probe = { apiVersion: r.version, kind: r.kind, metadata: {} } as KObject;
      labels = new Set([
        'metadata.name',
        'metadata.namespace',
        ...Object.keys(this.fieldsOf(r, probe)),
      ]);
      this.#fieldLabels.set(key, labels);
    }
    return labels;
  }

  /** Namespace admission: the namespace must exist and not be terminating. */
  #checkNamespace(r: ResourceInfo, namespace: string, name: string): void {
    const kv = this.backend.get(`/registry/core/namespaces/${namespace}`);
    if (!kv) throw notFound({ group: '', resource: 'namespaces' }, namespace);
    const ns = JSON.parse(kv.value) as KObject;
    if (ns.metadata?.deletionTimestamp) {
      throw forbidden(
        r,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  #validate(r: ResourceInfo, obj: KObject, errs: FieldError[]): void {
    if (errs.length === 0) return;
    // Our metadata checks and the strategy's may report the same error: keep one of each.
    const seen = new Set<string>();
    const unique = errs.filter((e) => {
      const key = JSON.stringify([e.type, e.field, e.value, e.detail]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    throw invalid({ group: r.group, kind: r.kind }, obj.metadata?.name ?? '', unique);
  }

  /** Creates an object (POST); returns the stored (or dry-run) object. */
  create(
    r: ResourceInfo,
    namespace: string | undefined,
    input: KObject,
    opts: WriteOptions = {},
  ): KObject {
    const obj = this.toStorage(r, input);
    const meta = metaOf(obj);
    if (r.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = namespace || meta.namespace;
      if (!meta.namespace) throw badRequest('the namespace of the object must be set');
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    // Server-owned fields are always (re)set on create, whatever the client sent.
    meta.uid = newUid();
    meta.creationTimestamp = rfc3339(this.clock.now());
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete (meta as Record<string, unknown>)['selfLink'];
    const strategy = this.strategy(r);
    // Strategies of core kinds that track generation set it in prepareForCreate.
    if (isObject(obj['spec']) && (strategy.tracksGeneration ?? r.group !== '')) {
      meta.generation = 1;
    } else delete meta.generation;
    strategy.defaults?.(obj, this.ctx);
    strategy.prepareForCreate?.(obj, this.ctx);
    const errs = [...validateObjectMeta(obj, nameRuleFor(r.group, r.resource))];
    errs.push(...(strategy.validate?.(obj, this.ctx) ?? []));
    this.#validate(r, obj, errs);
    if (r.namespaced) this.#checkNamespace(r, meta.namespace!, meta.name!);
    if (opts.fieldManager) {
      meta.managedFields = managedAfterUpdate(undefined, obj, {
        manager: opts.fieldManager,
        kind: r.kind,
        time: rfc3339(this.clock.now()),
      }) as never;
    }
    if (opts.dryRun) {
      if (this.backend.get(this.key(r, meta.namespace, meta.name!)))
        throw alreadyExists(r, meta.name!);
      return this.toServed(r, obj);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const kv = this.backend.create(this.key(r, meta.namespace, meta.name!), this.#encode(obj));
        return this.decode(r, kv);
      } catch (err) {
        if (!(err instanceof KeyExistsError)) throw err;
        // A generated name collided: pick another suffix, as upstream retries do.
        if (!input.metadata?.name && meta.generateName && attempt < 8) {
          meta.name = meta.generateName + randomSuffix();
          continue;
        }
        throw alreadyExists(r, meta.name!);
      }
    }
  }

  /**
   * Read-modify-write with retries on a concurrent write (upstream GuaranteedUpdate). tryUpdate
   * receives the current object in r's version and returns the desired one (also in r's version).
   * With `subresource: 'status'`, only status changes; otherwise status is kept when r has a status
   * subresource. Returns the stored object (unchanged and unwritten when nothing changed).
   */
  guaranteedUpdate(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    tryUpdate: (current: KObject) => KObject,
    opts: UpdateOptions = {},
  ): KObject {
    const key = this.key(r, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = this.backend.get(key);
      if (!kv) throw notFound(r, name);
      const current = this.decode(r, kv);
      const desired = tryUpdate(structuredClone(current));
      const next = this.#prepareUpdate(r, namespace, name, desired, current, opts);
      const old = this.#parse(kv);
      const nextMeta = metaOf(next);
      const wantedRv = nextMeta.resourceVersion;
      if (wantedRv && wantedRv !== String(kv.modRevision)) throw conflict(r, name);
      nextMeta.resourceVersion = String(kv.modRevision);
      if (deepEqual(withoutVolatile(next), withoutVolatile(old))) return current;
      if (opts.fieldManager) {
        nextMeta.managedFields = managedAfterUpdate(old, next, {
          manager: opts.fieldManager,
          kind: r.kind,
          time: rfc3339(this.clock.now()),
          subresource: opts.subresource,
        }) as never;
      }
      if (opts.dryRun) return this.toServed(r, next);
      if (this.#shouldDeleteDuringUpdate(r, next)) {
        try {
          this.backend.delete(key, kv.modRevision);
        } catch (err) {
          if (err instanceof ConflictError && !wantedRv && attempt < 16) continue;
          if (err instanceof ConflictError) throw conflict(r, name);
          throw err;
        }
        return this.toServed(r, next);
      }
      try {
        return this.decode(r, this.backend.update(key, this.#encode(next), kv.modRevision));
      } catch (err) {
        if (err instanceof ConflictError && !wantedRv && attempt < 16) continue;
        if (err instanceof ConflictError) throw conflict(r, name);
        if (err instanceof KeyNotFoundError) throw notFound(r, name);
        throw err;
      }
    }
  }

  /** Applies system fields, the status split, strategy hooks and validation to an update. */
  #prepareUpdate(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    desiredServed: KObject,
    currentServed: KObject,
    opts: UpdateOptions,
  ): KObject {
    const subresource = opts.subresource;
    const desired = this.toStorage(r, desiredServed);
    const old = this.toStorage(r, structuredClone(currentServed));
    const dm = metaOf(desired);
    if (dm.name !== undefined && dm.name !== name) {
      throw badRequest(
        `the name of the object (${dm.name}) does not match the name on the URL (${name})`,
      );
    }
    if (r.namespaced && dm.namespace && dm.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    let next: KObject;
    if (subresource === 'status') {
      next = { ...old, status: desired['status'] };
    } else {
      next = desired;
      const m = metaOf(next);
      const om = old.metadata ?? {};
      m.name = name;
      if (r.namespaced) m.namespace = namespace;
      // System fields cannot be changed by clients (rest.FillObjectMetaSystemFields on update).
      m.uid = om.uid;
      m.creationTimestamp = om.creationTimestamp;
      m.deletionTimestamp = om.deletionTimestamp;
      m.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
      m.generation = om.generation;
      if (m.managedFields === undefined && om.managedFields) m.managedFields = om.managedFields;
      if (subresource === undefined && r.subresources.includes('status')) {
        if (old['status'] === undefined) delete next['status'];
        else next['status'] = old['status'];
      }
      if (om.deletionTimestamp) {
        const had = new Set(om.finalizers ?? []);
        if ((m.finalizers ?? []).some((f) => !had.has(f))) {
          throw invalid({ group: r.group, kind: r.kind }, name, [
            {
              type: 'FieldValueForbidden',
              field: 'metadata.finalizers',
              detail: 'no new finalizers can be added if the object is being deleted',
            },
          ]);
        }
      }
    }
    const nm = metaOf(next);
    nm.resourceVersion = dm.resourceVersion;
    const strategy = this.strategy(r);
    if (subresource === undefined) {
      // Subresource writes (status, finalize, binding) are not re-defaulted: defaults belong to
      // the main resource, and re-running them could undo the subresource's change.
      strategy.defaults?.(next, this.ctx);
      strategy.prepareForUpdate?.(next, old, this.ctx);
      // Generic generation bump for kinds that track it, when the strategy did not already.
      if (
        old.metadata?.generation !== undefined &&
        nm.generation === old.metadata.generation &&
        !deepEqual(next['spec'], old['spec'])
      ) {
        nm.generation = old.metadata.generation + 1;
      }
    }
    const errs =
      subresource === undefined ? validateObjectMeta(next, nameRuleFor(r.group, r.resource)) : [];
    if (!opts.bypassUpdateValidation) {
      errs.push(...(strategy.validateUpdate?.(next, old, this.ctx) ?? []));
    }
    this.#validate(r, next, errs);
    return next;
  }

  /** Deletes an object honouring finalizers, graceful deletion and preconditions. */
  delete(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): { obj: KObject; deleted: boolean } {
    const key = this.key(r, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = this.backend.get(key);
      if (!kv) throw notFound(r, name);
      const obj = this.decode(r, kv);
      const meta = metaOf(obj);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== meta.uid) {
        throw conflict(
          r,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
        throw conflict(
          r,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
        );
      }
      const plan = this.#planDelete(r, obj, opts);
      if (plan === 'unchanged') return { obj, deleted: false };
      try {
        if (plan === 'now') {
          if (opts.dryRun) return { obj, deleted: true };
          const gone = this.backend.delete(key, kv.modRevision);
          const out = this.decode(r, gone);
          return { obj: out, deleted: true };
        }
        if (opts.dryRun) return { obj: this.toServed(r, plan), deleted: false };
        const updated = this.backend.update(key, this.#encode(plan), kv.modRevision);
        return { obj: this.decode(r, updated), deleted: false };
      } catch (err) {
        if (err instanceof ConflictError && attempt < 16) continue;
        if (err instanceof KeyNotFoundError) throw notFound(r, name);
        throw err;
      }
    }
  }

  /** True when an update leaves a terminating object with nothing to wait for. */
  #shouldDeleteDuringUpdate(r: ResourceInfo, obj: KObject): boolean {
    const meta = obj.metadata ?? {};
    if (!meta.deletionTimestamp) return false;
    if ((meta.finalizers ?? []).length > 0) return false;
    const awaiting = this.strategy(r).isAwaitingFinalization;
    if (awaiting) return !awaiting(obj);
    return (meta.deletionGracePeriodSeconds ?? 0) === 0;
  }

  /** Decides between deleting now, marking for deletion (returns the new object), or nothing. */
  #planDelete(r: ResourceInfo, served: KObject, opts: DeleteOptions): DeletePlan {
    const obj = this.toStorage(r, structuredClone(served));
    const meta = metaOf(obj);
    const finalizers = [...(meta.finalizers ?? [])];
    const addFinalizer = (f: string) => {
      if (!finalizers.includes(f)) finalizers.push(f);
    };
    const dropFinalizer = (f: string) => {
      const i = finalizers.indexOf(f);
      if (i >= 0) finalizers.splice(i, 1);
    };
    if (opts.propagationPolicy === 'Orphan') {
      addFinalizer('orphan');
      dropFinalizer('foregroundDeletion');
    } else if (opts.propagationPolicy === 'Foreground') {
      addFinalizer('foregroundDeletion');
      dropFinalizer('orphan');
    } else if (opts.propagationPolicy === 'Background') {
      dropFinalizer('orphan');
      dropFinalizer('foregroundDeletion');
    }
    const strategy = this.strategy(r);
    if (strategy.planDelete) return strategy.planDelete(obj, finalizers, this.ctx);
    const grace = strategy.gracePeriod?.(obj, opts.gracePeriodSeconds) ?? 0;
    if (meta.deletionTimestamp) {
      // Already terminating: a delete may only shorten the grace period (or finish it).
      const currentGrace = meta.deletionGracePeriodSeconds ?? 0;
      if (grace === 0 && finalizers.length === 0) return 'now';
      if (grace < currentGrace) {
        meta.deletionGracePeriodSeconds = grace;
        meta.deletionTimestamp = rfc3339(this.clock.now() + grace * 1000);
        meta.finalizers = finalizers.length ? finalizers : undefined;
        return obj;
      }
      if (!deepEqual(finalizers, meta.finalizers ?? [])) {
        meta.finalizers = finalizers.length ? finalizers : undefined;
        return obj;
      }
      return 'unchanged';
    }
    if (grace === 0 && finalizers.length === 0) return 'now';
    meta.deletionTimestamp = rfc3339(this.clock.now() + grace * 1000);
    meta.deletionGracePeriodSeconds = grace;
    meta.finalizers = finalizers.length ? finalizers : undefined;
    if (meta.generation !== undefined) meta.generation += 1;
    return obj;
  }
}

/**
 * A copy without what alone is not a real write: managedFields timestamps (a change of ownership
 * is one, so the entries themselves stay).
 */
function withoutVolatile(obj: KObject): KObject {
  const meta = obj.metadata;
  if (!meta?.managedFields) return obj;
  const managedFields = meta.managedFields.map(({ time: _t, ...e }) => e);
  return { ...obj, metadata: { ...meta, managedFields } };
}
