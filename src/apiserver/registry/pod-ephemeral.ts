// pods/ephemeralcontainers: adds debug containers to a running pod (kubectl debug). Follows
// kubernetes pkg/registry/core/pod/storage EphemeralContainersREST with the pod strategy's
// podEphemeralContainersStrategy and pkg/apis/core/validation ValidatePodEphemeralContainersUpdate:
// only spec.ephemeralContainers changes, and existing entries are neither removed nor changed.
import type { KObject } from '../../api/object.js';
import { podSpecSubresource } from './pods.js';
import { defaultPodSpec, validatePodSpec } from './podspec.js';
import type { SubresourceStorage } from './storage.js';
import type { FieldError } from './types.js';
import { forbidden, jsonEqual, list, type Obj, str, sub } from './util.js';

const field = 'spec.ephemeralContainers';

/** The fields of a container that differ between two versions, for the "may not be changed" text. */
function changedFields(old: Obj, next: Obj): string[] {
  const keys = new Set([...Object.keys(old), ...Object.keys(next)]);
  return [...keys].filter((k) => !jsonEqual(old[k], next[k])).sort();
}

/** ValidatePodEphemeralContainersUpdate: existing ephemeral containers stay as they are. */
export function validateEphemeralContainersUpdate(next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  if (sub(sub(old, 'metadata'), 'annotations')?.['kubernetes.io/config.mirror'] !== undefined) {
    return [forbidden('', 'static pods do not support ephemeral containers')];
  }
  const wanted = new Map(
    list(sub(next, 'spec'), 'ephemeralContainers').map((c) => [str(c.name), c]),
  );
  for (const o of list(sub(old, 'spec'), 'ephemeralContainers')) {
    const name = str(o.name);
    const n = wanted.get(name);
    // Upstream ends both messages with a newline (the changed one then shows a diff).
    if (!n)
      errs.push(forbidden(field, `existing ephemeral containers "${name}" may not be removed\n`));
    else if (!jsonEqual(o, n)) {
      const diff = changedFields(o, n).join(', ');
      errs.push(
        forbidden(
          field,
          `existing ephemeral containers "${name}" may not be changed\nchanged: ${diff}`,
        ),
      );
    }
  }
  return errs;
}

/** pods/ephemeralcontainers: GET the pod; PUT/PATCH may only append ephemeral containers. */
export const podEphemeralContainersSubresource: SubresourceStorage = podSpecSubresource({
  subresource: 'ephemeralcontainers',
  change(desired, current) {
    // Decoding defaults what a client left out (imagePullPolicy, terminationMessagePath...), so
    // an unchanged container compares equal to its stored, defaulted self.
    defaultPodSpec(sub(desired, 'spec') ?? {});
    const errs: FieldError[] = [
      ...validatePodSpec(sub(desired, 'spec'), 'spec'),
      ...validateEphemeralContainersUpdate(desired, current),
    ];
    if (errs.length > 0) return { errs };
    // Everything but the ephemeral containers comes from the stored pod (the strategy's
    // dropNonEphemeralContainerUpdates).
    const next = structuredClone(current) as Obj;
    const spec = sub(next, 'spec') ?? {};
    const added = list(sub(desired, 'spec'), 'ephemeralContainers');
    if (added.length > 0) spec.ephemeralContainers = added;
    return { errs, next };
  },
});
