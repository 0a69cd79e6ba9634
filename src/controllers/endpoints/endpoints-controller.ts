// The Endpoints controller: keeps one Endpoints object per selector Service in step with its pods;
// follows kubernetes pkg/controller/endpoint/endpoints_controller.go (syncService), with no
// batching delay so that a pod turning unready leaves the addresses at once.
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isAlreadyExists, isNotFound, type KObject } from '../../client/rest.js';
import type { Clock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import type { Controller } from '../runtime/controller.js';
import {
  type ApiServerEndpoint,
  kubernetesEndpoints,
  kubernetesServiceKey,
  newServiceController,
} from './common.js';
import { computeEndpoints, endpointsEqual } from './endpoints.js';

/** Options of the Endpoints and EndpointSlice controllers. */
export interface EndpointsControllerOptions {
  informers: InformerFactory;
  /** The API server's address, published as the endpoints of default/kubernetes. */
  apiServerEndpoint?: ApiServerEndpoint;
  clock?: Clock;
  log?: Logger;
  workers?: number;
}

/** Builds the Endpoints controller; `syncService` is exposed for tests. */
export function newEndpointsController(opts: EndpointsControllerOptions): {
  controller: Controller;
  syncService: (key: string) => Promise<void>;
} {
  const client = opts.informers.client;
  const services = opts.informers.informerFor<Service & KObject>(R.services);
  const pods = opts.informers.informerFor<Pod & KObject>(R.pods);
  const endpoints = opts.informers.informerFor<Endpoints & KObject>(R.endpoints);

  const syncService = async (key: string): Promise<void> => {
    const { namespace, name } = splitKey(key);
    const svc = services.lister.get(namespace, name);
    if (!svc) {
      // The Service is gone: its Endpoints go too (the API does not cascade this).
      if (key === kubernetesServiceKey && opts.apiServerEndpoint) return;
      if (!endpoints.lister.get(namespace, name)) return;
      try {
        await client.delete(R.endpoints, namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return;
    }
    const desired =
      key === kubernetesServiceKey && opts.apiServerEndpoint
        ? kubernetesEndpoints(opts.apiServerEndpoint)
        : computeEndpoints(svc, pods.lister.list(namespace));
    // Services without a selector have user-managed Endpoints.
    if (!desired) return;
    let current: Endpoints | undefined = endpoints.lister.get(namespace, name);
    if (!current) {
      try {
        await client.create(R.endpoints, desired, { namespace });
        return;
      } catch (err) {
        // The cache lags behind a create of ours (or someone else's): update the live object.
        if (!isAlreadyExists(err)) throw err;
        current = await client.get<Endpoints>(R.endpoints, namespace, name);
      }
    }
    if (endpointsEqual(current, desired)) return;
    const next = structuredClone(current) as Endpoints;
    next.subsets = desired.subsets;
    next.metadata = { ...next.metadata, labels: desired.metadata?.labels };
    await client.update(R.endpoints, next);
  };

  const controller = newServiceController({
    informers: opts.informers,
    clock: opts.clock,
    log: opts.log,
    workers: opts.workers,
    name: 'endpoints-controller',
    services,
    pods,
    reconcile: syncService,
  });
  // Someone else changing or deleting our Endpoints: put them back.
  controller.watch(endpoints, (e) => (services.lister.getByKey(objectKey(e)) ? objectKey(e) : []));
  return { controller, syncService };
}

/** The Endpoints controller as a Component. */
export function createEndpointsController(opts: EndpointsControllerOptions): Component {
  return newEndpointsController(opts).controller;
}
