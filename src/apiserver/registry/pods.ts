// Pod strategy: defaults, create/update rules, validation, selectable fields and the Table printer;
// follows pkg/registry/core/pod/strategy.go and printPod in pkg/printers/internalversion/printers.go.
import type { KObject } from '../../api/object.js';
import { invalid as invalidStatus } from '../status-error.js';
import { ageColumn, ageOf, col, keepStatusOnUpdate, printer } from './common.js';
import { timestampSince } from './duration.js';
import { defaultPodOnly, defaultPodSpec, podQOSClass, validatePodSpec } from './podspec.js';
import type { SubresourceStorage } from './storage.js';
import type { FieldError, Strategy } from './types.js';
import { child, forbidden, isObj, jsonEqual, list, type Obj, str, sub } from './util.js';
import { admitPodForVPA } from './vpa-admission.js';

const podUpdateMessage =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Pod STATUS cell and READY/RESTARTS, as printPod computes them. */
export function podStatusCells(pod: KObject, now: number): [string, string, string] {
  const spec = sub(pod, 'spec') ?? {};
  const status = sub(pod, 'status') ?? {};
  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  for (const c of list(status, 'conditions')) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }
  const initSpecs = new Map(list(spec, 'initContainers').map((c) => [str(c.name), c]));
  const isSidecar = (name: string): boolean => initSpecs.get(name)?.restartPolicy === 'Always';
  let total = list(spec, 'containers').length;
  for (const c of initSpecs.values()) if (c.restartPolicy === 'Always') total++;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = 0;
  let lastSidecarRestart = 0;
  const finishedAt = (cs: Obj): number => {
    const t = Date.parse(str(sub(sub(cs, 'lastState'), 'terminated')?.finishedAt));
    return Number.isNaN(t) ? 0 : t;
  };
  let initializing = false;
  const initStatuses = list(status, 'initContainerStatuses');
  for (const [i, cs] of initStatuses.entries()) {
    restarts += Number(cs.restartCount ?? 0);
    lastRestart = Math.max(lastRestart, finishedAt(cs));
    if (isSidecar(str(cs.name))) {
      sidecarRestarts += Number(cs.restartCount ?? 0);
      lastSidecarRestart = Math.max(lastSidecarRestart, finishedAt(cs));
    }
    const terminated = sub(sub(cs, 'state'), 'terminated');
    const waiting = sub(sub(cs, 'state'), 'waiting');
    if (terminated && Number(terminated.exitCode ?? 0) === 0) continue;
    if (isSidecar(str(cs.name)) && cs.started === true) {
      if (cs.ready === true) ready++;
      continue;
    }
    if (terminated) {
      reason = terminated.reason
        ? `Init:${str(terminated.reason)}`
        : terminated.signal
          ? `Init:Signal:${str(terminated.signal)}`
          : `Init:ExitCode:${str(terminated.exitCode)}`;
    } else if (waiting && str(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initSpecs.size}`;
    }
    initializing = true;
    break;
  }
  const initialized = list(status, 'conditions').some(
    (c) => c.type === 'Initialized' && c.status === 'True',
  );
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = list(status, 'containerStatuses');
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] as Obj;
      restarts += Number(cs.restartCount ?? 0);
      lastRestart = Math.max(lastRestart, finishedAt(cs));
      const waiting = sub(sub(cs, 'state'), 'waiting');
      const terminated = sub(sub(cs, 'state'), 'terminated');
      if (waiting && str(waiting.reason) !== '') reason = str(waiting.reason);
      else if (terminated && str(terminated.reason) !== '') reason = str(terminated.reason);
      else if (terminated) {
        reason = terminated.signal
          ? `Signal:${str(terminated.signal)}`
          : `ExitCode:${str(terminated.exitCode ?? 0)}`;
      } else if (cs.ready === true && sub(cs.state, 'running')) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const podReady = list(status, 'conditions').some(
        (c) => c.type === 'Ready' && c.status === 'True',
      );
      reason = podReady ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') {
    reason = 'Terminating';
  }
  let restartsCell = String(restarts);
  if (restarts !== 0 && lastRestart !== 0) {
    restartsCell = `${restarts} (${timestampSince(new Date(lastRestart).toISOString(), now)} ago)`;
  }
  return [`${ready}/${total}`, reason, restartsCell];
}

const podPrinter = printer(
  [
    col('Ready'),
    col('Status'),
    col('Restarts'),
    ageColumn,
    col('IP', 'string', true),
    col('Node', 'string', true),
    col('Nominated Node', 'string', true),
    col('Readiness Gates', 'string', true),
  ],
  (pod, now) => {
    const spec = sub(pod, 'spec') ?? {};
    const status = sub(pod, 'status') ?? {};
    const [ready, reason, restarts] = podStatusCells(pod, now);
    const podIPs = list(status, 'podIPs');
    const ip = str(podIPs[0]?.ip) || str(status.podIP) || '<none>';
    const gates = list(spec, 'readinessGates');
    let gatesCell = '<none>';
    if (gates.length > 0) {
      const conds = list(status, 'conditions');
      const trueCount = gates.filter((g) =>
        conds.some((c) => c.type === g.conditionType && c.status === 'True'),
      ).length;
      gatesCell = `${trueCount}/${gates.length}`;
    }
    return [
      ready,
      reason,
      restarts,
      ageOf(pod, now),
      ip,
      str(spec.nodeName) || '<none>',
      str(status.nominatedNodeName) || '<none>',
      gatesCell,
    ];
  },
);

/** Fields of a pod spec a pod update may change (the rest must stay equal). */
function mutablePodSpecView(spec: Obj): Obj {
  const copy = structuredClone(spec);
  for (const key of ['containers', 'initContainers']) {
    for (const c of list(copy, key)) delete c.image;
  }
  delete copy.activeDeadlineSeconds;
  delete copy.tolerations;
  delete copy.terminationGracePeriodSeconds;
  return copy;
}

/**
 * The grace period of a pod delete (pod strategy CheckGracefulDelete): 0 for unscheduled or
 * finished pods, else the requested one or spec.terminationGracePeriodSeconds (default 30).
 */
function podGracePeriod(pod: KObject, requested: number | undefined): number {
  const spec = sub(pod, 'spec') ?? {};
  const phase = sub(pod, 'status')?.phase;
  if (!spec.nodeName) return 0;
  if (phase === 'Succeeded' || phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  return typeof spec.terminationGracePeriodSeconds === 'number'
    ? spec.terminationGracePeriodSeconds
    : 30;
}

/** The Pod strategy. */
export const podStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    defaultPodSpec(spec);
    defaultPodOnly(spec);
  },
  prepareForCreate(obj, ctx) {
    admitPodForVPA(obj, ctx);
    const spec = sub(obj, 'spec') ?? {};
    (obj as Obj).status = { phase: 'Pending', qosClass: podQOSClass(spec) };
  },
  prepareForUpdate: keepStatusOnUpdate,
  gracePeriod: podGracePeriod,
  // A pod DELETE answers the pod (kubectl waits on its uid), not a Status.
  returnDeletedObject: true,
  validate(obj) {
    const errs = validatePodSpec((obj as Obj).spec, 'spec');
    // ValidatePodCreate: they are added later, through pods/ephemeralcontainers only.
    if (list(sub(obj, 'spec'), 'ephemeralContainers').length > 0) {
      errs.push(forbidden('spec.ephemeralContainers', 'cannot be set on create'));
    }
    return errs;
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = validatePodSpec((obj as Obj).spec, 'spec');
    const spec = sub(obj, 'spec') ?? {};
    const oldSpec = sub(old, 'spec') ?? {};
    const oldTolerations = Array.isArray(oldSpec.tolerations) ? oldSpec.tolerations : [];
    const newTolerations = Array.isArray(spec.tolerations) ? spec.tolerations : [];
    // Tolerations may only be added to.
    const tolerationsOK = oldTolerations.every((t) =>
      newTolerations.some((n) => isObj(n) && jsonEqual(n, t)),
    );
    if (!jsonEqual(mutablePodSpecView(spec), mutablePodSpecView(oldSpec)) || !tolerationsOK) {
      errs.push(forbidden('spec', podUpdateMessage));
    }
    return errs;
  },
  selectableFields(obj) {
    const spec = sub(obj, 'spec') ?? {};
    const status = sub(obj, 'status') ?? {};
    return {
      'spec.nodeName': str(spec.nodeName),
      'spec.restartPolicy': str(spec.restartPolicy),
      'spec.schedulerName': str(spec.schedulerName),
      'spec.serviceAccountName': str(spec.serviceAccountName),
      'spec.hostNetwork': spec.hostNetwork === true ? 'true' : 'false',
      'status.phase': str(status.phase),
      'status.podIP': str(list(status, 'podIPs')[0]?.ip) || str(status.podIP),
      'status.nominatedNodeName': str(status.nominatedNodeName),
    };
  },
  table: podPrinter,
};

/**
 * A pod subresource whose PUT/PATCH changes one part of the pod's spec (resize,
 * ephemeralcontainers): GET answers the pod; `change` checks the desired pod against the stored
 * one (field errors become a 422) and returns what to store, the stored pod with that part
 * replaced, whose resourceVersion precondition is the request's.
 */
export function podSpecSubresource(opts: {
  subresource: string;
  change(desired: KObject, current: KObject): { errs: FieldError[]; next?: Obj };
}): SubresourceStorage {
  return {
    kind: 'self',
    verbs: ['get', 'patch', 'update'],
    get: (ctx, sr) => ctx.store.get(sr.r, sr.namespace, sr.name),
    update(ctx, sr, tryUpdate, writeOpts) {
      return ctx.store.guaranteedUpdate(
        sr.r,
        sr.namespace,
        sr.name,
        (current) => {
          const desired = tryUpdate(structuredClone(current));
          const { errs, next } = opts.change(desired, current);
          if (errs.length > 0 || !next) {
            throw invalidStatus({ group: '', kind: 'Pod' }, sr.name, errs);
          }
          const meta = sub(next, 'metadata') ?? {};
          meta.resourceVersion = desired.metadata?.resourceVersion;
          return next as KObject;
        },
        { ...writeOpts, subresource: opts.subresource, bypassUpdateValidation: true },
      );
    },
  };
}
