// The Namespace's REST storage: status and the finalize subresource (upstream
// pkg/registry/core/namespace/storage FinalizeREST), through which the namespace controller
// clears spec.finalizers once the namespace is empty.
import { isObject } from '../../lib/json.js';
import { namespaceStrategy } from './cluster.js';
import { statusSubresource } from './generic/subresources.js';
import type { ResourceStorage, SubresourceStorage } from './storage.js';

/** namespaces/finalize: PUT a Namespace; only its spec.finalizers are written. */
const finalizeSubresource: SubresourceStorage = {
  kind: 'self',
  verbs: ['update'],
  update: (ctx, sr, tryUpdate, opts) =>
    ctx.store.guaranteedUpdate(
      sr.r,
      sr.namespace,
      sr.name,
      (current) => {
        const desired = tryUpdate(structuredClone(current));
        const spec = isObject(current['spec']) ? current['spec'] : {};
        const want = isObject(desired['spec']) ? desired['spec']['finalizers'] : undefined;
        const next = { ...current, spec: { ...spec, finalizers: want ?? [] } };
        // The client's resourceVersion is a precondition, as for any update.
        next.metadata = { ...current.metadata, resourceVersion: desired.metadata?.resourceVersion };
        return next;
      },
      { dryRun: opts.dryRun, subresource: 'finalize' },
    ),
};

/** namespaces: the strategy, status and finalize. */
export const namespaceStorage: ResourceStorage = {
  strategy: namespaceStrategy,
  subresources: { status: statusSubresource, finalize: finalizeSubresource },
};
