// The service account controller: every active namespace gets a "default" ServiceAccount
// (kubernetes pkg/controller/serviceaccount/serviceaccounts_controller.go syncNamespace).
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isAlreadyExists, isNotFound } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';

/** The ServiceAccount every namespace gets. */
export const defaultServiceAccountName = 'default';

/** Options of createServiceAccountController. */
export interface ServiceAccountControllerOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
}

/** The service account controller; `syncNamespace` is exposed for tests. */
export interface ServiceAccountController extends Component {
  readonly controller: Controller;
  syncNamespace(key: string): Promise<Result | undefined>;
}

/** Creates the service account controller. */
export function createServiceAccountController(
  opts: ServiceAccountControllerOptions,
): ServiceAccountController {
  const { informers } = opts;
  const client = informers.client;
  const namespaces = informers.informerFor<Namespace>(R.namespaces);
  const serviceAccounts = informers.informerFor<ServiceAccount>(R.serviceaccounts);

  const syncNamespace = async (key: string): Promise<Result | undefined> => {
    const ns = namespaces.lister.get(undefined, key);
    // A terminating namespace refuses new objects; nothing to do.
    if (!ns || ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating')
      return undefined;
    if (serviceAccounts.lister.get(key, defaultServiceAccountName)) return undefined;
    try {
      await client.create<ServiceAccount>(R.serviceaccounts, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: defaultServiceAccountName, namespace: key },
      });
    } catch (err) {
      // Created meanwhile, or the namespace just went away.
      if (!isAlreadyExists(err) && !isNotFound(err)) throw err;
    }
    return undefined;
  };

  const controller = new Controller({
    name: 'serviceaccount-controller',
    informers,
    clock: opts.clock ?? realClock,
    log: opts.log,
    workers: 1,
    reconcile: syncNamespace,
  });
  controller.watch(namespaces, (ns) => ns.metadata?.name);
  // Someone deleted a default ServiceAccount: recreate it.
  controller.watchWith(serviceAccounts, {
    onDelete: (sa) => {
      if (sa.metadata?.name === defaultServiceAccountName)
        controller.enqueue(sa.metadata.namespace ?? '');
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
