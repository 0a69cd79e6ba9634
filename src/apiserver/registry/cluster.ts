// Namespace, Node and Event strategies: namespace finalizer/phase/label defaults
// (pkg/registry/core/namespace), node and event selectable fields and their printers (printers.go).
import type { KObject } from '../../api/object.js';
import { rfc3339 } from '../../api/time.js';
import { ageColumn, ageOf, col, keepStatusOnUpdate, printer } from './common.js';
import { timestampSince } from './duration.js';
import type { Strategy } from './types.js';
import { child, list, meta, num, type Obj, str, sub } from './util.js';

/** Whether a namespace still waits for its spec.finalizers (the namespace controller's). */
function hasSpecFinalizers(ns: KObject): boolean {
  const finalizers = sub(ns, 'spec')?.finalizers;
  return Array.isArray(finalizers) && finalizers.length > 0;
}

/** The Namespace strategy. */
export const namespaceStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    const finalizers = Array.isArray(spec.finalizers) ? spec.finalizers : [];
    if (!finalizers.includes('kubernetes')) finalizers.push('kubernetes');
    spec.finalizers = finalizers;
    const m = meta(obj);
    // The immutable name label every namespace carries since 1.21.
    if (typeof m.name === 'string') {
      m.labels = { ...(sub(m, 'labels') ?? {}), 'kubernetes.io/metadata.name': m.name };
    }
    child(obj as Obj, 'status').phase ??= 'Active';
  },
  prepareForCreate(obj) {
    (obj as Obj).status = { phase: 'Active' };
  },
  prepareForUpdate: keepStatusOnUpdate,
  // Deleting a namespace marks it Terminating; the namespace controller empties it and clears
  // spec.finalizers through the finalize subresource, which lets the store remove it
  // (pkg/registry/core/namespace/storage Delete).
  planDelete(ns, finalizers, ctx) {
    const m = meta(ns);
    if (m.deletionTimestamp) return 'unchanged';
    if (!hasSpecFinalizers(ns) && finalizers.length === 0) return 'now';
    m.deletionTimestamp = rfc3339(ctx.clock.now());
    m.deletionGracePeriodSeconds = 0;
    m.finalizers = finalizers.length ? finalizers : undefined;
    (ns as Obj).status = { ...(sub(ns, 'status') ?? {}), phase: 'Terminating' };
    return ns;
  },
  isAwaitingFinalization: hasSpecFinalizers,
  selectableFields: (obj) => ({ 'status.phase': str(sub(obj, 'status')?.phase) }),
  table: printer([col('Status'), ageColumn], (ns, now) => [
    str(sub(ns, 'status')?.phase),
    ageOf(ns, now),
  ]),
};

/** findNodeRoles: node-role.kubernetes.io/<role> labels and kubernetes.io/role. */
function nodeRoles(node: KObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function nodeAddress(node: KObject, type: string): string {
  const a = list(sub(node, 'status'), 'addresses').find((x) => x.type === type);
  return a ? str(a.address) : '<none>';
}

/** The Node strategy. */
export const nodeStrategy: Strategy = {
  prepareForUpdate: keepStatusOnUpdate,
  selectableFields: (obj) => ({
    'spec.unschedulable': sub(obj, 'spec')?.unschedulable === true ? 'true' : 'false',
  }),
  table: printer(
    [
      col('Status'),
      col('Roles'),
      ageColumn,
      col('Version'),
      col('Internal-IP', 'string', true),
      col('External-IP', 'string', true),
      col('OS-Image', 'string', true),
      col('Kernel-Version', 'string', true),
      col('Container-Runtime', 'string', true),
    ],
    (node, now) => {
      const status = sub(node, 'status') ?? {};
      const ready = list(status, 'conditions').find((c) => c.type === 'Ready');
      const states: string[] = [];
      if (ready) states.push(ready.status === 'True' ? 'Ready' : 'NotReady');
      else states.push('Unknown');
      if (sub(node, 'spec')?.unschedulable === true) states.push('SchedulingDisabled');
      const info = sub(status, 'nodeInfo') ?? {};
      return [
        states.join(','),
        nodeRoles(node),
        ageOf(node, now),
        str(info.kubeletVersion),
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        str(info.osImage) || '<unknown>',
        str(info.kernelVersion) || '<unknown>',
        str(info.containerRuntimeVersion) || '<unknown>',
      ];
    },
  ),
};

/** formatEventSource: "component, host" falling back to reportingController/Instance. */
function eventSource(ev: Obj): string {
  const source = sub(ev, 'source') ?? {};
  const component = str(source.component) || str(ev.reportingComponent);
  const instance = str(source.host) || str(ev.reportingInstance);
  return instance === '' ? component : `${component}, ${instance}`;
}

/** The Event (core/v1) strategy. */
export const eventStrategy: Strategy = {
  selectableFields(obj) {
    const ev = obj as Obj;
    const io = sub(ev, 'involvedObject') ?? {};
    return {
      'involvedObject.kind': str(io.kind),
      'involvedObject.namespace': str(io.namespace),
      'involvedObject.name': str(io.name),
      'involvedObject.uid': str(io.uid),
      'involvedObject.apiVersion': str(io.apiVersion),
      'involvedObject.resourceVersion': str(io.resourceVersion),
      'involvedObject.fieldPath': str(io.fieldPath),
      reason: str(ev.reason),
      reportingComponent: str(ev.reportingComponent),
      source: str(sub(ev, 'source')?.component),
      type: str(ev.type),
    };
  },
  table: {
    columns: [
      col('Last Seen'),
      col('Type'),
      col('Reason'),
      col('Object'),
      col('Subobject', 'string', true),
      col('Source', 'string', true),
      col('Message'),
      col('First Seen', 'string', true),
      col('Count', 'integer', true),
      col('Name', 'string', true),
    ],
    cells(obj, now) {
      const ev = obj as Obj;
      const first = ev.firstTimestamp
        ? timestampSince(ev.firstTimestamp, now)
        : timestampSince(ev.eventTime, now);
      let last = ev.lastTimestamp ? timestampSince(ev.lastTimestamp, now) : first;
      let count = num(ev.count);
      const series = sub(ev, 'series');
      if (series) {
        last = timestampSince(series.lastObservedTime, now);
        count = num(series.count);
      } else if (count === 0) count = 1;
      const io = sub(ev, 'involvedObject') ?? {};
      const kind = str(io.kind).toLowerCase();
      const target = str(io.name) !== '' ? `${kind}/${str(io.name)}` : kind;
      return [
        last,
        str(ev.type),
        str(ev.reason),
        target,
        str(io.fieldPath),
        eventSource(ev),
        str(ev.message).trim(),
        first,
        count,
        str(obj.metadata?.name),
      ];
    },
  },
};
