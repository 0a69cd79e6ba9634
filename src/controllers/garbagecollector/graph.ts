// The ownership graph of the garbage collector: one node per object uid with its owners and
// dependents (kubernetes pkg/controller/garbagecollector/graph.go and graph_builder.go, simplified:
// nodes exist only for objects we watch; owners we do not watch are looked up through the API).
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { ResourceInfo } from '../../api/resources.js';

/** One object in the graph. */
export interface GraphNode {
  uid: string;
  resource: ResourceInfo;
  namespace: string | undefined;
  name: string;
  resourceVersion: string | undefined;
  owners: OwnerReference[];
  finalizers: string[];
  beingDeleted: boolean;
  /** uids of objects whose ownerReferences point at this uid (kept even before this node exists). */
  dependents: Set<string>;
}

/**
 * The uid-indexed ownership graph. Guarantees:
 * 1. `dependentsOf(uid)` lists every watched object with an ownerReference to uid, whether or not
 *    the owner itself is (still) in the graph — so an owner's deletion can find its dependents.
 * 2. `upsert` and `remove` keep the reverse edges in step with ownerReferences.
 */
export class OwnershipGraph {
  #nodes = new Map<string, GraphNode>();
  // owner uid → dependent uids; separate from nodes so edges to absent owners survive.
  #dependents = new Map<string, Set<string>>();

  /** The node of a uid. */
  get(uid: string): GraphNode | undefined {
    return this.#nodes.get(uid);
  }

  /** Current dependents of an owner uid (nodes present in the graph). */
  dependentsOf(uid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const d of this.#dependents.get(uid) ?? []) {
      const n = this.#nodes.get(d);
      if (n) out.push(n);
    }
    return out;
  }

  /** Adds or refreshes an object; returns the previous node, if any. */
  upsert(resource: ResourceInfo, meta: ObjectMeta): GraphNode | undefined {
    const uid = meta.uid ?? '';
    const old = this.#nodes.get(uid);
    for (const ref of old?.owners ?? []) this.#dependents.get(ref.uid)?.delete(uid);
    const owners = meta.ownerReferences ?? [];
    for (const ref of owners) {
      const set = this.#dependents.get(ref.uid);
      if (set) set.add(uid);
      else this.#dependents.set(ref.uid, new Set([uid]));
    }
    this.#nodes.set(uid, {
      uid,
      resource,
      namespace: meta.namespace,
      name: meta.name ?? '',
      resourceVersion: meta.resourceVersion,
      owners,
      finalizers: meta.finalizers ?? [],
      beingDeleted: !!meta.deletionTimestamp,
      dependents: this.#dependents.get(uid) ?? new Set(),
    });
    return old;
  }

  /** Removes an object; returns its node. */
  remove(uid: string): GraphNode | undefined {
    const old = this.#nodes.get(uid);
    if (!old) return undefined;
    this.#nodes.delete(uid);
    for (const ref of old.owners) {
      const set = this.#dependents.get(ref.uid);
      set?.delete(uid);
      if (set?.size === 0 && !this.#nodes.has(ref.uid)) this.#dependents.delete(ref.uid);
    }
    if (this.#dependents.get(uid)?.size === 0) this.#dependents.delete(uid);
    return old;
  }

  /** Number of objects tracked. */
  get size(): number {
    return this.#nodes.size;
  }
}
