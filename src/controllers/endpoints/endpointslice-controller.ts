// The EndpointSlice controller: keeps the slices of each selector Service in step with its pods;
// follows kubernetes pkg/controller/endpointslice/endpointslice_controller.go (syncService) and its
// endpointSliceTracker (so a slice we just wrote is not missed by a cache that lags behind).
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { splitKey } from '../../client/informer.js';
import { R } from '../../client/resources.js';
import { isNotFound, type KObject } from '../../client/rest.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Controller } from '../runtime/controller.js';
import { kubernetesEndpointSlice, kubernetesServiceKey, newServiceController } from './common.js';
import type { EndpointsControllerOptions } from './endpoints-controller.js';
import {
  controllerName,
  managedByLabel,
  reconcileSlices,
  serviceNameLabel,
} from './endpointslice.js';

const rv = (s: Readonly<EndpointSlice> | undefined): number =>
  Number(s?.metadata?.resourceVersion ?? 0);

/**
 * Remembers the slices this controller wrote until the informer has caught up, so that a sync right
 * after a create does not create the slice a second time (endpointSliceTracker's role).
 */
class SliceTracker {
  #written = new Map<string, Map<string, EndpointSlice | 'deleted'>>();

  record(svcKey: string, name: string, slice: EndpointSlice | 'deleted'): void {
    let m = this.#written.get(svcKey);
    if (!m) {
      m = new Map();
      this.#written.set(svcKey, m);
    }
    m.set(name, slice);
  }

  /** Cached slices merged with our newer writes. */
  merge(svcKey: string, cached: readonly EndpointSlice[]): EndpointSlice[] {
    const m = this.#written.get(svcKey);
    if (!m) return [...cached];
    const out = new Map(cached.map((s) => [s.metadata?.name ?? '', s]));
    for (const [name, w] of m) {
      const c = out.get(name);
      if (w === 'deleted') {
        if (c) out.delete(name);
        else m.delete(name);
      } else if (!c || rv(c) < rv(w)) {
        out.set(name, w);
      } else {
        m.delete(name);
      }
    }
    if (m.size === 0) this.#written.delete(svcKey);
    return [...out.values()];
  }

  forget(svcKey: string): void {
    this.#written.delete(svcKey);
  }
}

/** Builds the EndpointSlice controller; `syncService` is exposed for tests. */
export function newEndpointSliceController(opts: EndpointsControllerOptions): {
  controller: Controller;
  syncService: (key: string) => Promise<void>;
} {
  const client = opts.informers.client;
  const services = opts.informers.informerFor<Service & KObject>(R.services);
  const pods = opts.informers.informerFor<Pod & KObject>(R.pods);
  const slices = opts.informers.informerFor<EndpointSlice & KObject>(R.endpointslices);
  const tracker = new SliceTracker();

  const ownedSlices = (namespace: string, name: string) =>
    slices.lister
      .list(namespace)
      .filter(
        (s) =>
          s.metadata?.labels?.[serviceNameLabel] === name &&
          s.metadata?.labels?.[managedByLabel] === controllerName,
      );

  const deleteSlice = async (key: string, s: EndpointSlice) => {
    const name = s.metadata?.name ?? '';
    try {
      await client.delete(R.endpointslices, s.metadata?.namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    tracker.record(key, name, 'deleted');
  };

  const syncKubernetesSlice = async () => {
    const want = kubernetesEndpointSlice(opts.apiServerEndpoint!);
    const cur = slices.lister.get('default', 'kubernetes');
    if (!cur) {
      await client.create(R.endpointslices, want, { namespace: 'default' });
      return;
    }
    if (JSON.stringify([cur.endpoints, cur.ports]) === JSON.stringify([want.endpoints, want.ports]))
      return;
    const next = structuredClone(cur) as EndpointSlice;
    next.endpoints = want.endpoints;
    next.ports = want.ports;
    await client.update(R.endpointslices, next);
  };

  const syncService = async (key: string): Promise<void> => {
    const { namespace, name } = splitKey(key);
    if (key === kubernetesServiceKey && opts.apiServerEndpoint) return syncKubernetesSlice();
    const svc = services.lister.get(namespace, name);
    if (!svc) {
      // Owner references let the garbage collector do this too; doing it here is faster.
      for (const s of tracker.merge(key, ownedSlices(namespace, name))) await deleteSlice(key, s);
      tracker.forget(key);
      return;
    }
    const selector = svc.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) return;
    const existing = tracker.merge(key, ownedSlices(namespace, name));
    const plan = reconcileSlices(svc, pods.lister.list(namespace), existing);
    // Create and update before deleting, so consumers never see a Service with no slice at all.
    for (const s of plan.create) {
      const created = await client.create<EndpointSlice>(R.endpointslices, s, { namespace });
      tracker.record(key, created.metadata?.name ?? '', created);
    }
    for (const s of plan.update) {
      const updated = await client.update<EndpointSlice>(R.endpointslices, s);
      tracker.record(key, updated.metadata?.name ?? '', updated);
    }
    for (const s of plan.delete) await deleteSlice(key, s);
  };

  const controller = newServiceController({
    informers: opts.informers,
    clock: opts.clock,
    log: opts.log,
    workers: opts.workers,
    name: 'endpointslice-controller',
    services,
    pods,
    reconcile: syncService,
  });
  controller.watch(slices, (s) => {
    const svcName = s.metadata?.labels?.[serviceNameLabel];
    if (!svcName) return undefined;
    return `${s.metadata?.namespace ?? ''}/${svcName}`;
  });
  return { controller, syncService };
}

/** The EndpointSlice controller as a Component. */
export function createEndpointSliceController(opts: EndpointsControllerOptions): Component {
  return newEndpointSliceController(opts).controller;
}
