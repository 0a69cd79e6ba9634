// StatefulSet-specific validation (upstream pkg/apis/apps/validation ValidateStatefulSetSpec and
// ValidateStatefulSetUpdate): pod management and update strategy values, partition and
// maxUnavailable, claim retention, ordinals, and the spec fields an update may not touch
// (volumeClaimTemplates, serviceName, selector, podManagementPolicy ...: a StatefulSet's
// identity and storage are fixed at create).
import type { FieldError } from './types.js';
import {
  forbidden,
  intOrPercent,
  invalid,
  jsonEqual,
  nonNegativeFields,
  notSupported,
  type Obj,
  required,
  sub,
} from './util.js';

/** The StatefulSet-only part of a spec; the workload checks (selector, template) run beside it. */
export function validateStatefulSetSpec(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const pmp = spec.podManagementPolicy;
  if (pmp === undefined || pmp === '') errs.push(required('spec.podManagementPolicy'));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel')
    errs.push(invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = sub(spec, 'updateStrategy') ?? {};
  const ru = sub(us, 'rollingUpdate');
  if (us.type === undefined || us.type === '') errs.push(required('spec.updateStrategy'));
  else if (us.type === 'OnDelete') {
    if (ru)
      errs.push(
        invalid(
          'spec.updateStrategy.rollingUpdate',
          ru,
          "only allowed for updateStrategy 'RollingUpdate'",
        ),
      );
  } else if (us.type !== 'RollingUpdate')
    errs.push(invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
  if (us.type === 'RollingUpdate' && ru) {
    const p = 'spec.updateStrategy.rollingUpdate';
    errs.push(...nonNegativeFields(ru, p, ['partition']));
    if (ru.maxUnavailable !== undefined && ru.maxUnavailable !== null) {
      const v = intOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`, errs);
      if (v === 0) errs.push(invalid(`${p}.maxUnavailable`, ru.maxUnavailable, 'cannot be 0'));
    }
  }
  const retention = sub(spec, 'persistentVolumeClaimRetentionPolicy');
  for (const f of ['whenDeleted', 'whenScaled']) {
    const v = retention?.[f];
    if (v !== undefined && v !== 'Retain' && v !== 'Delete')
      errs.push(
        notSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, v, ['Retain', 'Delete']),
      );
  }
  errs.push(...nonNegativeFields(sub(spec, 'ordinals') ?? {}, 'spec.ordinals', ['start']));
  if (sub(sub(spec, 'template'), 'spec')?.activeDeadlineSeconds !== undefined)
    errs.push(
      invalid(
        'spec.template.spec.activeDeadlineSeconds',
        sub(sub(spec, 'template'), 'spec')?.activeDeadlineSeconds,
        'activeDeadlineSeconds in StatefulSet is not Supported',
      ),
    );
  return errs;
}

/** The spec fields an update may change; any other change is refused as a whole. */
const mutable = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'revisionHistoryLimit',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

/** ValidateStatefulSetUpdate: only the fields in `mutable` may differ from the stored spec. */
export function validateStatefulSetUpdate(spec: Obj, old: Obj): FieldError[] {
  const rest = (s: Obj) =>
    Object.fromEntries(Object.entries(s).filter(([k]) => !mutable.includes(k)));
  if (jsonEqual(rest(spec), rest(old))) return [];
  const quoted = mutable.map((f) => `'${f}'`);
  const list = `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
  return [
    forbidden('spec', `updates to statefulset spec for fields other than ${list} are forbidden`),
  ];
}
