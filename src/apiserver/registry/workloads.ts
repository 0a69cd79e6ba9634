// apps/v1 workload strategies (Deployment, ReplicaSet, StatefulSet, DaemonSet) and core/v1
// ReplicationController: defaults (pkg/apis/apps/v1/defaults.go), validation
// (pkg/apis/apps/validation), generation rules, scale adapters and printers (printers.go).
import type { KObject } from '../../api/object.js';
import { ageColumn, ageOf, col, generationHooks, immutable, printer } from './common.js';
import { defaultPodSpec, validatePodSpec } from './podspec.js';
import { validateStatefulSetSpec, validateStatefulSetUpdate } from './statefulset-validation.js';
import type { FieldError, ScaleAdapter, Strategy } from './types.js';
import {
  child,
  forbidden,
  formatLabelSelector,
  formatLabels,
  intOrPercent,
  invalid,
  isObj,
  joinContainers,
  jsonEqual,
  nonNegativeFields,
  notSupported,
  num,
  type Obj,
  required,
  selectorMatches,
  selectorString,
  setDefault,
  str,
  sub,
} from './util.js';

function defaultTemplate(spec: Obj): void {
  const tmpl = child(spec, 'template');
  child(tmpl, 'metadata');
  defaultPodSpec(child(tmpl, 'spec'));
}

/** Validates selector, template labels and the template pod spec shared by the workload kinds. */
function validateWorkloadSpec(
  obj: KObject,
  opts: { kind: string; restartPolicies?: string[]; selectorRequired?: boolean },
): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sub(obj, 'spec');
  if (!spec) return [...errs, required('spec')];
  errs.push(...nonNegativeFields(spec, 'spec', ['replicas']));
  const selector = spec.selector;
  const tmplLabels = sub(sub(spec.template, 'metadata'), 'labels') ?? {};
  if (opts.selectorRequired !== false) {
    if (!isObj(selector)) errs.push(required('spec.selector'));
    else if (selectorString(selector) === '') {
      errs.push(
        invalid(
          'spec.selector',
          selector,
          `empty selector is invalid for ${opts.kind.toLowerCase()}`,
        ),
      );
    } else if (!selectorMatches(selector, tmplLabels)) {
      errs.push(
        invalid(
          'spec.template.metadata.labels',
          tmplLabels,
          '`selector` does not match template `labels`',
        ),
      );
    }
  }
  const tmpl = sub(spec, 'template');
  if (!tmpl) {
    errs.push(required('spec.template'));
    return errs;
  }
  errs.push(...validatePodSpec(tmpl.spec, 'spec.template.spec'));
  const rp = sub(tmpl, 'spec')?.restartPolicy;
  if (opts.restartPolicies && rp !== undefined && !opts.restartPolicies.includes(str(rp))) {
    errs.push(notSupported('spec.template.spec.restartPolicy', rp, opts.restartPolicies));
  }
  errs.push(...nonNegativeFields(spec, 'spec', ['minReadySeconds', 'revisionHistoryLimit']));
  return errs;
}

function validateDeploymentStrategy(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const strategy = sub(spec, 'strategy') ?? {};
  const type = str(strategy.type);
  if (type !== 'Recreate' && type !== 'RollingUpdate') {
    errs.push(notSupported('spec.strategy.type', strategy.type, ['Recreate', 'RollingUpdate']));
  }
  const ru = sub(strategy, 'rollingUpdate');
  if (type === 'Recreate' && ru) {
    errs.push(
      forbidden(
        'spec.strategy.rollingUpdate',
        "may not be specified when strategy `type` is 'Recreate'",
      ),
    );
  }
  if (type === 'RollingUpdate' && ru) {
    const p = 'spec.strategy.rollingUpdate';
    const mu = intOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`, errs);
    const ms = intOrPercent(ru.maxSurge, `${p}.maxSurge`, errs);
    if (mu === 0 && ms === 0) {
      errs.push(
        invalid(`${p}.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'),
      );
    }
  }
  const pds = spec.progressDeadlineSeconds;
  if (typeof pds === 'number') {
    if (pds <= 0) errs.push(invalid('spec.progressDeadlineSeconds', pds, 'must be greater than 0'));
    else if (pds <= num(spec.minReadySeconds)) {
      errs.push(
        invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'),
      );
    }
  }
  return errs;
}

/** Scale adapter for kinds with spec.replicas and a label selector in spec.selector. */
export function selectorScale(
  selectorOf: (spec: Obj) => string = (s) => selectorString(s.selector),
): ScaleAdapter {
  return {
    specReplicas: (obj) => num(sub(obj, 'spec')?.replicas, 1),
    status: (obj) => ({
      replicas: num(sub(obj, 'status')?.replicas),
      selector: selectorOf(sub(obj, 'spec') ?? {}),
    }),
    withReplicas(obj, replicas) {
      const copy = structuredClone(obj);
      child(copy as Obj, 'spec').replicas = replicas;
      return copy;
    },
  };
}

const selectorImmutable = (obj: KObject, old: KObject): FieldError[] =>
  immutable('spec.selector', sub(obj, 'spec')?.selector, sub(old, 'spec')?.selector);

const wideTemplateCells = (obj: KObject, withSelector = true): string[] => {
  const spec = sub(obj, 'spec') ?? {};
  const podSpec = sub(spec.template, 'spec');
  const cells = [joinContainers(podSpec, 'name'), joinContainers(podSpec, 'image')];
  return withSelector ? [...cells, formatLabelSelector(spec.selector)] : cells;
};
const wideTemplateColumns = [col('Containers', 'string', true), col('Images', 'string', true)];

function validateDeployment(obj: KObject): FieldError[] {
  const errs = validateWorkloadSpec(obj, { kind: 'Deployment', restartPolicies: ['Always'] });
  return [...errs, ...validateDeploymentStrategy(sub(obj, 'spec') ?? {})];
}

/** The Deployment strategy. */
export const deploymentStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    setDefault(spec, 'replicas', 1);
    const strategy = child(spec, 'strategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const ru = child(strategy, 'rollingUpdate');
      setDefault(ru, 'maxUnavailable', '25%');
      setDefault(ru, 'maxSurge', '25%');
    }
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    defaultTemplate(spec);
  },
  ...generationHooks(),
  validate: validateDeployment,
  validateUpdate: (obj, old) => [...validateDeployment(obj), ...selectorImmutable(obj, old)],
  table: printer(
    [
      col('Ready'),
      col('Up-to-date'),
      col('Available'),
      ageColumn,
      ...wideTemplateColumns,
      col('Selector', 'string', true),
    ],
    (d, now) => {
      const spec = sub(d, 'spec') ?? {};
      const status = sub(d, 'status') ?? {};
      return [
        `${num(status.readyReplicas)}/${num(spec.replicas)}`,
        num(status.updatedReplicas),
        num(status.availableReplicas),
        ageOf(d, now),
        ...wideTemplateCells(d),
      ];
    },
  ),
  scale: selectorScale(),
};

const replicaSetColumns = [
  col('Desired', 'integer'),
  col('Current', 'integer'),
  col('Ready', 'integer'),
  ageColumn,
  ...wideTemplateColumns,
  col('Selector', 'string', true),
];
const replicaSetCells = (rs: KObject, now: number): unknown[] => {
  const spec = sub(rs, 'spec') ?? {};
  const status = sub(rs, 'status') ?? {};
  return [
    num(spec.replicas),
    num(status.replicas),
    num(status.readyReplicas),
    ageOf(rs, now),
    ...wideTemplateCells(rs),
  ];
};

const replicasFields = (obj: KObject): Record<string, string> => ({
  'status.replicas': String(num(sub(obj, 'status')?.replicas)),
});

/** The ReplicaSet strategy. */
export const replicaSetStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    setDefault(spec, 'replicas', 1);
    defaultTemplate(spec);
  },
  ...generationHooks(),
  validate: (obj) => validateWorkloadSpec(obj, { kind: 'ReplicaSet', restartPolicies: ['Always'] }),
  validateUpdate: (obj, old) => [
    ...validateWorkloadSpec(obj, { kind: 'ReplicaSet', restartPolicies: ['Always'] }),
    ...selectorImmutable(obj, old),
  ],
  selectableFields: replicasFields,
  table: printer(replicaSetColumns, replicaSetCells),
  scale: selectorScale(),
};

/** The core/v1 ReplicationController strategy (selector is a plain label map). */
export const replicationControllerStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    setDefault(spec, 'replicas', 1);
    const tmplLabels = sub(sub(spec.template, 'metadata'), 'labels');
    if (spec.selector === undefined && tmplLabels) spec.selector = { ...tmplLabels };
    defaultTemplate(spec);
  },
  ...generationHooks(),
  validate: (obj) => [
    ...validatePodSpec(sub(sub(obj, 'spec'), 'template')?.spec, 'spec.template.spec'),
  ],
  selectableFields: replicasFields,
  table: printer(replicaSetColumns, (rc, now) => {
    const cells = replicaSetCells(rc, now);
    cells[cells.length - 1] = formatLabels(sub(rc, 'spec')?.selector);
    return cells;
  }),
  scale: selectorScale((spec) =>
    formatLabels(spec.selector) === '<none>' ? '' : formatLabels(spec.selector),
  ),
};

/** The StatefulSet strategy. */
export const statefulSetStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    const us = child(spec, 'updateStrategy');
    setDefault(us, 'type', 'RollingUpdate');
    if (us.type === 'RollingUpdate') setDefault(child(us, 'rollingUpdate'), 'partition', 0);
    setDefault(spec, 'revisionHistoryLimit', 10);
    const retention = child(spec, 'persistentVolumeClaimRetentionPolicy');
    setDefault(retention, 'whenDeleted', 'Retain');
    setDefault(retention, 'whenScaled', 'Retain');
    defaultTemplate(spec);
  },
  ...generationHooks(),
  validate: (obj) => [
    ...validateWorkloadSpec(obj, { kind: 'StatefulSet', restartPolicies: ['Always'] }),
    ...validateStatefulSetSpec(sub(obj, 'spec') ?? {}),
  ],
  validateUpdate(obj, old) {
    const spec = sub(obj, 'spec') ?? {};
    const oldSpec = sub(old, 'spec') ?? {};
    // A status or scale write leaves the rest of the spec as stored.
    if (jsonEqual(spec, oldSpec)) return [];
    return [
      ...validateWorkloadSpec(obj, { kind: 'StatefulSet', restartPolicies: ['Always'] }),
      ...validateStatefulSetSpec(spec),
      ...validateStatefulSetUpdate(spec, oldSpec),
    ];
  },
  table: printer([col('Ready'), ageColumn, ...wideTemplateColumns], (s, now) => [
    `${num(sub(s, 'status')?.readyReplicas)}/${num(sub(s, 'spec')?.replicas)}`,
    ageOf(s, now),
    ...wideTemplateCells(s, false),
  ]),
  scale: selectorScale(),
};

/** The DaemonSet strategy. */
export const daemonSetStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    const us = child(spec, 'updateStrategy');
    setDefault(us, 'type', 'RollingUpdate');
    if (us.type === 'RollingUpdate') {
      const ru = child(us, 'rollingUpdate');
      setDefault(ru, 'maxUnavailable', 1);
      setDefault(ru, 'maxSurge', 0);
    }
    setDefault(spec, 'revisionHistoryLimit', 10);
    defaultTemplate(spec);
  },
  ...generationHooks(),
  validate: (obj) => validateWorkloadSpec(obj, { kind: 'DaemonSet', restartPolicies: ['Always'] }),
  table: printer(
    [
      col('Desired', 'integer'),
      col('Current', 'integer'),
      col('Ready', 'integer'),
      col('Up-to-date', 'integer'),
      col('Available', 'integer'),
      col('Node Selector'),
      ageColumn,
      ...wideTemplateColumns,
      col('Selector', 'string', true),
    ],
    (ds, now) => {
      const status = sub(ds, 'status') ?? {};
      return [
        num(status.desiredNumberScheduled),
        num(status.currentNumberScheduled),
        num(status.numberReady),
        num(status.updatedNumberScheduled),
        num(status.numberAvailable),
        formatLabels(sub(sub(sub(ds, 'spec'), 'template'), 'spec')?.nodeSelector),
        ageOf(ds, now),
        ...wideTemplateCells(ds),
      ];
    },
  ),
};
