// The self-review resources kubectl auth uses: SelfSubjectReview (`kubectl auth whoami`),
// SelfSubjectAccessReview (`auth can-i`) and SelfSubjectRulesReview (`auth can-i --list`).
// Computed from the caller and never stored (upstream pkg/registry/authentication/selfsubjectreview,
// pkg/registry/authorization/selfsubject{access,rules}review). Skiff evaluates no RBAC: every
// authenticated caller may do everything (see apiserver/server.ts), and the reviews say exactly that.
import type { KObject } from '../../api/object.js';
import { isObject } from '../../lib/json.js';
import { badRequest } from '../status-error.js';
import { defaultTable } from './common.js';
import type { ResourceStorage, VirtualCreateRequest } from './storage.js';

/** What every allow answer gives as its reason. */
const allowReason = 'Skiff authorizes every authenticated user for every request';

/** The review echoed with its status, as upstream answers (metadata as sent, spec kept). */
function answer(req: VirtualCreateRequest, status: Record<string, unknown>): KObject {
  const { body } = req;
  return { ...body, metadata: { ...(body.metadata ?? {}), creationTimestamp: undefined }, status };
}

function spec(body: KObject): Record<string, unknown> {
  return isObject(body['spec']) ? body['spec'] : {};
}

/** selfsubjectreviews: who the caller is. */
export const selfSubjectReviewStorage: ResourceStorage = {
  strategy: { table: defaultTable },
  subresources: {},
  create: (_ctx, req) =>
    answer(req, {
      userInfo: {
        username: req.user.username,
        ...(req.user.uid ? { uid: req.user.uid } : {}),
        groups: req.user.groups,
      },
    }),
};

/** selfsubjectaccessreviews: may the caller do this? (Always: no RBAC is evaluated.) */
export const selfSubjectAccessReviewStorage: ResourceStorage = {
  strategy: { table: defaultTable },
  subresources: {},
  create(_ctx, req) {
    const s = spec(req.body);
    // Exactly one of the two attribute sets, as upstream's ValidateSelfSubjectAccessReviewSpec.
    if (isObject(s['resourceAttributes']) === isObject(s['nonResourceAttributes'])) {
      throw badRequest(
        'spec: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
      );
    }
    return answer(req, { allowed: true, reason: allowReason });
  },
};

/** selfsubjectrulesreviews: everything the caller may do in a namespace (everything). */
export const selfSubjectRulesReviewStorage: ResourceStorage = {
  strategy: { table: defaultTable },
  subresources: {},
  create: (_ctx, req) =>
    answer(req, {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
      incomplete: false,
    }),
};
