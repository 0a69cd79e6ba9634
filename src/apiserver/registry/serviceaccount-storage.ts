// The ServiceAccount's REST storage: the token subresource (TokenRequest, upstream
// pkg/registry/core/serviceaccount/storage/token.go), signed by the issuer cmd/ wires in.

import { isObject } from '../../lib/json.js';
import { badRequest, serviceUnavailable } from '../status-error.js';
import { serviceAccountStrategy } from './misc.js';
import type { ResourceStorage, SubresourceStorage } from './storage.js';

/** serviceaccounts/token: a bound, expiring token for the account. */
const tokenSubresource: SubresourceStorage = {
  kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
  verbs: ['create'],
  async create(ctx, sr, body) {
    const tr = isObject(body) ? body : {};
    const spec = isObject(tr['spec']) ? tr['spec'] : {};
    const sa = ctx.store.get(sr.r, sr.namespace, sr.name);
    if (!ctx.serviceAccountIssuer) {
      throw serviceUnavailable('the service account token issuer is not configured');
    }
    const expirationSeconds =
      typeof spec['expirationSeconds'] === 'number' ? spec['expirationSeconds'] : 3600;
    if (expirationSeconds < 600) {
      throw badRequest(
        `spec.expirationSeconds: Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`,
      );
    }
    const issued = await ctx.serviceAccountIssuer({
      namespace: sr.namespace ?? '',
      name: sr.name,
      uid: sa.metadata?.uid ?? '',
      audiences: Array.isArray(spec['audiences']) ? (spec['audiences'] as string[]) : undefined,
      expirationSeconds,
      boundObjectRef: isObject(spec['boundObjectRef'])
        ? (spec['boundObjectRef'] as never)
        : undefined,
    });
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: sr.name, namespace: sr.namespace, creationTimestamp: null },
      spec: { ...spec, expirationSeconds },
      status: issued,
    };
  },
};

/** serviceaccounts: the strategy and the token subresource. */
export const serviceAccountStorage: ResourceStorage = {
  strategy: serviceAccountStrategy,
  subresources: { token: tokenSubresource },
};
