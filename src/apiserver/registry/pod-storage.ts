// The pod's REST storage: its subresource table (upstream pkg/registry/core/pod/storage/storage.go
// PodStorage): status, binding (BindingREST assignPod), eviction (EvictionREST, eviction.ts),
// resize (pod-resize.ts) and the node-agent subresources of pod-connect.ts.

import { rfc3339 } from '../../api/time.js';
import { isObject } from '../../lib/json.js';
import { conflict, StatusError } from '../status-error.js';
import { evictPod } from './eviction.js';
import { statusSubresource } from './generic/subresources.js';
import {
  podAttachSubresource,
  podExecSubresource,
  podLogSubresource,
  podPortForwardSubresource,
} from './pod-connect.js';
import { podEphemeralContainersSubresource } from './pod-ephemeral.js';
import { podResizeSubresource } from './pod-resize.js';
import { podStrategy } from './pods.js';
import { podProxySubresource } from './proxy.js';
import type { ResourceStorage, SubresourceStorage } from './storage.js';

/** The metav1.Status a successful binding or eviction answers (201). */
const created = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

/** pods/binding: sets spec.nodeName and the PodScheduled condition, once. */
const bindingSubresource: SubresourceStorage = {
  kind: { group: '', version: 'v1', kind: 'Binding' },
  verbs: ['create'],
  create(ctx, sr, body, opts) {
    const { r, name } = sr;
    const binding = isObject(body) ? body : {};
    const target = isObject(binding['target']) ? binding['target'] : {};
    const nodeName = target['name'];
    if (typeof nodeName !== 'string' || nodeName === '') {
      throw new StatusError({
        reason: 'Invalid',
        code: 422,
        message: `Binding "${name}" is invalid: target.name: Required value`,
        details: {
          name,
          kind: 'Binding',
          causes: [
            { reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' },
          ],
        },
      });
    }
    ctx.store.guaranteedUpdate(
      r,
      sr.namespace,
      name,
      (pod) => {
        if (pod.metadata?.deletionTimestamp) {
          throw conflict(r, name, 'pod is being deleted, cannot be assigned to a host');
        }
        const spec = isObject(pod['spec']) ? pod['spec'] : {};
        if (spec['nodeName']) {
          throw conflict(
            r,
            name,
            `pod ${name} is already assigned to node "${String(spec['nodeName'])}"`,
          );
        }
        spec['nodeName'] = nodeName;
        pod['spec'] = spec;
        const status = isObject(pod['status']) ? pod['status'] : {};
        const conditions = Array.isArray(status['conditions'])
          ? status['conditions'].filter((c) => !(isObject(c) && c['type'] === 'PodScheduled'))
          : [];
        conditions.push({
          type: 'PodScheduled',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: rfc3339(ctx.store.clock.now()),
        });
        status['conditions'] = conditions;
        pod['status'] = status;
        return pod;
      },
      // spec.nodeName is immutable to the pod's own update validation; binding is the one writer.
      { dryRun: opts.dryRun, subresource: 'binding', bypassUpdateValidation: true },
    );
    return created;
  },
};

/** pods/eviction: deletes the pod (gracefully) when its PodDisruptionBudget allows it. */
const evictionSubresource: SubresourceStorage = {
  kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
  verbs: ['create'],
  create(ctx, sr, _body, opts) {
    evictPod(ctx, sr, opts);
    return created;
  },
};

/** pods: the strategy and every subresource, in discovery order. */
export const podStorage: ResourceStorage = {
  strategy: podStrategy,
  subresources: {
    status: statusSubresource,
    log: podLogSubresource,
    exec: podExecSubresource,
    binding: bindingSubresource,
    eviction: evictionSubresource,
    attach: podAttachSubresource,
    portforward: podPortForwardSubresource,
    proxy: podProxySubresource,
    resize: podResizeSubresource,
    ephemeralcontainers: podEphemeralContainersSubresource,
  },
};
