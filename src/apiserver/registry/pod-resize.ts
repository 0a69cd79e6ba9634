// pods/resize: in-place pod resize (Kubernetes 1.33, KEP-1287). Follows kubernetes
// pkg/registry/core/pod/strategy.go podResizeStrategy and pkg/apis/core/validation ValidatePodResize:
// only containers' cpu/memory requests and limits (and resizePolicy) change, limits are never
// removed, and the pod's QoS class stays. The node agent applies the new values to the cgroups.
import type { KObject } from '../../api/object.js';
import { podSpecSubresource } from './pods.js';
import { podQOSClass, validatePodSpec } from './podspec.js';
import type { SubresourceStorage } from './storage.js';
import type { FieldError } from './types.js';
import { forbidden, invalid, isObj, jsonEqual, list, type Obj, sub } from './util.js';

const resizable = ['cpu', 'memory'];

/** The container fields a resize may change: cpu/memory requests and limits, resizePolicy. */
function withoutResizable(spec: Obj): Obj {
  const copy = structuredClone(spec);
  for (const c of list(copy, 'containers')) {
    delete c.resizePolicy;
    const res = sub(c, 'resources');
    if (!res) continue;
    for (const key of ['requests', 'limits']) {
      const m = sub(res, key);
      if (!m) continue;
      for (const r of resizable) delete m[r];
      if (Object.keys(m).length === 0) delete res[key];
    }
    if (Object.keys(res).length === 0) delete c.resources;
  }
  return copy;
}

/** ValidatePodResize's checks on top of the pod spec's own validation. */
export function validatePodResize(next: KObject, old: KObject): FieldError[] {
  const spec = sub(next, 'spec') ?? {};
  const oldSpec = sub(old, 'spec') ?? {};
  const errs: FieldError[] = [];
  list(oldSpec, 'containers').forEach((oc, i) => {
    const nc = list(spec, 'containers').find((c) => c.name === oc.name);
    const oldLimits = sub(sub(oc, 'resources'), 'limits') ?? {};
    const newLimits = sub(sub(nc, 'resources'), 'limits') ?? {};
    for (const r of resizable) {
      if (oldLimits[r] !== undefined && newLimits[r] === undefined) {
        errs.push(
          forbidden(
            `spec.containers[${i}].resources.limits[${r}]`,
            'resource limits cannot be removed',
          ),
        );
      }
    }
  });
  if (!jsonEqual(withoutResizable(spec), withoutResizable(oldSpec))) {
    errs.push(forbidden('spec', 'only cpu and memory resources are mutable'));
  }
  const oldQOS = sub(old, 'status')?.qosClass ?? podQOSClass(oldSpec);
  if (podQOSClass(spec) !== oldQOS) {
    errs.push(invalid('spec', oldQOS, 'Pod QOS Class may not change as a result of resizing'));
  }
  return errs;
}

function podIsTerminal(pod: KObject): boolean {
  const phase = sub(pod, 'status')?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** pods/resize: GET the pod; PUT/PATCH change only what a resize may change. */
export const podResizeSubresource: SubresourceStorage = podSpecSubresource({
  subresource: 'resize',
  change(desired, current) {
    const errs: FieldError[] = [];
    if (podIsTerminal(current)) {
      errs.push(forbidden('spec', 'Pod resize is not allowed for terminal pods'));
    }
    errs.push(...validatePodSpec(sub(desired, 'spec'), 'spec'));
    errs.push(...validatePodResize(desired, current));
    if (errs.length > 0) return { errs };
    // Everything but the containers' resources (and resizePolicy) comes from the stored pod.
    const next = structuredClone(current) as Obj;
    const wanted = list(sub(desired, 'spec'), 'containers');
    for (const c of list(sub(next, 'spec'), 'containers')) {
      const w = wanted.find((x) => x.name === c.name);
      if (!w) continue;
      if (isObj(w.resources)) c.resources = w.resources;
      else delete c.resources;
      if (w.resizePolicy !== undefined) c.resizePolicy = w.resizePolicy;
    }
    return { errs, next };
  },
});
