// The namespace controller: empties a Terminating namespace of every namespaced object, then
// finalizes it so the API server removes it (kubernetes pkg/controller/namespace/deletion/
// namespaced_resources_deleter.go Delete, deleteAllContent, finalizeNamespace).
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { builtinResources, type ResourceInfo } from '../../api/resources.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isConflict, isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';

/** The spec finalizer this controller owns. */
export const kubernetesFinalizer = 'kubernetes';
// How soon to look again while content remains (upstream estimates from grace periods).
const contentRemainingRetryMs = 2000;
/**
 * How long a Terminating namespace waits before its content is deleted (upstream's
 * namespaceDeletionGracePeriod is 5 s). `kubectl delete -f deploy.yaml` deletes the Namespace
 * first and then each object of the file in it: emptied at once, those deletes answered NotFound.
 */
export const namespaceDeletionGracePeriodMs = 2000;

/** Options of createNamespaceController. */
export interface NamespaceControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
  workers?: number;
  /** Delay before a Terminating namespace is emptied; default namespaceDeletionGracePeriodMs. */
  deletionGracePeriodMs?: number;
}

/** The namespace controller; `syncNamespace` is exposed for tests. */
export interface NamespaceController extends Component {
  readonly controller: Controller;
  syncNamespace(key: string): Promise<Result | undefined>;
}

/** Namespaced resources that can be listed and deleted, one (storage) version each. */
export function deletableNamespacedResources(): ResourceInfo[] {
  return builtinResources.filter(
    (r) =>
      r.namespaced &&
      r.version === r.storageVersion &&
      r.verbs.includes('delete') &&
      r.verbs.includes('list'),
  );
}

/** Creates the namespace controller. */
export function createNamespaceController(opts: NamespaceControllerOptions): NamespaceController {
  const { informers } = opts;
  const client = informers.client;
  const namespaces = informers.informerFor<Namespace>(R.namespaces);
  const resources = deletableNamespacedResources();

  // Deletes everything left in the namespace; returns how many objects remain (being deleted).
  const deleteAllContent = async (ns: string): Promise<number> => {
    let remaining = 0;
    await Promise.all(
      resources.map(async (r) => {
        const list = await client.list<KObject>(r, { namespace: ns });
        for (const obj of list.items) {
          remaining++;
          if (obj.metadata?.deletionTimestamp) continue;
          try {
            await client.delete(r, ns, obj.metadata?.name ?? '', {
              propagationPolicy: 'Background',
            });
          } catch (err) {
            if (!isNotFound(err) && !isConflict(err)) throw err;
          }
        }
      }),
    );
    return remaining;
  };

  const syncNamespace = async (key: string): Promise<Result | undefined> => {
    const ns = namespaces.lister.get(undefined, key);
    if (!ns?.metadata?.deletionTimestamp) return undefined;
    if (!(ns.spec?.finalizers ?? []).includes(kubernetesFinalizer)) return undefined;
    const remaining = await deleteAllContent(key);
    if (remaining > 0) {
      // Objects with grace periods or finalizers are still going away: check again soon.
      return { requeueAfter: contentRemainingRetryMs };
    }
    const finalizers = (ns.spec?.finalizers ?? []).filter((f) => f !== kubernetesFinalizer);
    try {
      await client.update<Namespace>(
        R.namespaces,
        {
          ...structuredClone(ns),
          apiVersion: 'v1',
          kind: 'Namespace',
          spec: { ...ns.spec, finalizers },
        },
        { subresource: 'finalize' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return undefined;
  };

  const controller = new Controller({
    name: 'namespace-controller',
    informers,
    clock: opts.clock ?? realClock,
    log: opts.log,
    workers: opts.workers ?? 2,
    reconcile: syncNamespace,
  });
  const graceMs = opts.deletionGracePeriodMs ?? namespaceDeletionGracePeriodMs;
  controller.watchWith(namespaces, {
    onAdd: (ns) => {
      if (ns.metadata?.deletionTimestamp) controller.enqueue(ns.metadata.name ?? '', graceMs);
    },
    onUpdate: (_o, ns) => {
      if (ns.metadata?.deletionTimestamp) controller.enqueue(ns.metadata.name ?? '', graceMs);
    },
  });

  return {
    name: controller.name,
    controller,
    syncNamespace,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
