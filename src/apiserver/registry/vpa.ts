// autoscaling.k8s.io/v1 VerticalPodAutoscaler and VerticalPodAutoscalerCheckpoint strategies. Upstream
// these are CRDs (kubernetes/autoscaler vertical-pod-autoscaler/deploy/vpa-v1-crd-gen.yaml): the
// schema's enums, required fields and minimums are checked here, and the Table has the CRD's
// additionalPrinterColumns (Mode, CPU, Mem, Provided, Age; MinReplicas, OOMSeconds with -o wide).
import type { KObject } from '../../api/object.js';
import { isQuantity } from '../../api/quantity.js';
import { ageOf, col, generationHooks, printer } from './common.js';
import type { FieldError, Strategy } from './types.js';
import { invalid, isObj, list, notSupported, type Obj, required, str, sub } from './util.js';

/** spec.updatePolicy.updateMode values the v1 schema allows. */
export const vpaUpdateModes = [
  'Off',
  'Initial',
  'Recreate',
  'InPlaceOrRecreate',
  'InPlace',
  'Auto',
];
const containerModes = ['Auto', 'Off'];
const controlledValues = ['RequestsAndLimits', 'RequestsOnly'];
const changeRequirements = ['TargetHigherThanRequests', 'TargetLowerThanRequests'];

// The CRD's quantity pattern (x-kubernetes-int-or-string with the resource.Quantity regexp).
const quantityPattern =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

function checkQuantities(m: unknown, p: string, errs: FieldError[]): void {
  if (m === undefined) return;
  if (!isObj(m)) {
    errs.push(invalid(p, m, `${p} in body must be of type object: "${typeof m}"`));
    return;
  }
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'number') continue;
    if (typeof v !== 'string' || !isQuantity(v)) {
      errs.push(invalid(`${p}.${k}`, v, `${p}.${k} in body should match '${quantityPattern}'`));
    }
  }
}

function checkEnum(v: unknown, p: string, allowed: string[], errs: FieldError[]): void {
  if (v !== undefined && !allowed.includes(str(v))) errs.push(notSupported(p, v, allowed));
}

function checkMinimum(v: unknown, p: string, min: number, errs: FieldError[]): void {
  if (typeof v === 'number' && v < min) {
    errs.push(invalid(p, v, `${p} in body should be greater than or equal to ${min}`));
  }
}

function validateVPA(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sub(obj, 'spec');
  if (!spec) return [required('spec')];
  const ref = sub(spec, 'targetRef');
  if (!ref) errs.push(required('spec.targetRef'));
  else {
    if (str(ref.kind) === '') errs.push(required('spec.targetRef.kind'));
    if (str(ref.name) === '') errs.push(required('spec.targetRef.name'));
  }
  const update = sub(spec, 'updatePolicy');
  if (update) {
    checkEnum(update.updateMode, 'spec.updatePolicy.updateMode', vpaUpdateModes, errs);
    checkMinimum(update.evictAfterOOMSeconds, 'spec.updatePolicy.evictAfterOOMSeconds', 1, errs);
    list(update, 'evictionRequirements').forEach((r, i) => {
      const p = `spec.updatePolicy.evictionRequirements[${i}]`;
      if (r.changeRequirement === undefined) errs.push(required(`${p}.changeRequirement`));
      else checkEnum(r.changeRequirement, `${p}.changeRequirement`, changeRequirements, errs);
      if (!Array.isArray(r.resources)) errs.push(required(`${p}.resources`));
    });
  }
  list(sub(spec, 'resourcePolicy'), 'containerPolicies').forEach((c, i) => {
    const p = `spec.resourcePolicy.containerPolicies[${i}]`;
    checkEnum(c.mode, `${p}.mode`, containerModes, errs);
    checkEnum(c.controlledValues, `${p}.controlledValues`, controlledValues, errs);
    checkQuantities(c.minAllowed, `${p}.minAllowed`, errs);
    checkQuantities(c.maxAllowed, `${p}.maxAllowed`, errs);
    checkMinimum(
      c.memoryAggregationIntervalSeconds,
      `${p}.memoryAggregationIntervalSeconds`,
      1,
      errs,
    );
    checkMinimum(c.memoryAggregationIntervalCount, `${p}.memoryAggregationIntervalCount`, 1, errs);
    if (c.controlledResources !== undefined && !Array.isArray(c.controlledResources)) {
      errs.push(invalid(`${p}.controlledResources`, c.controlledResources, 'must be an array'));
    }
  });
  list(spec, 'recommenders').forEach((r, i) => {
    if (str(r.name) === '') errs.push(required(`spec.recommenders[${i}].name`));
  });
  return errs;
}

/** The cell of a string column read from the object, or null when absent (CRD columns). */
function cell(v: unknown): string | null {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : null;
}

function providedStatus(status: Obj): string | null {
  const c = list(status, 'conditions').find((x) => x.type === 'RecommendationProvided');
  return c ? cell(c.status) : null;
}

/** The VerticalPodAutoscaler strategy (status subresource; generation counts spec changes). */
export const vpaStrategy: Strategy = {
  ...generationHooks(() => ({})),
  validate: validateVPA,
  validateUpdate: validateVPA,
  table: printer(
    [
      col('Mode'),
      col('CPU'),
      col('Mem'),
      col('Provided'),
      { name: 'Age', type: 'date', priority: 0 },
      col('MinReplicas', 'integer', true),
      col('OOMSeconds', 'integer', true),
    ],
    (v, now) => {
      const spec = sub(v, 'spec') ?? {};
      const status = sub(v, 'status') ?? {};
      const update = sub(spec, 'updatePolicy') ?? {};
      const first = list(sub(status, 'recommendation'), 'containerRecommendations')[0];
      const target = sub(first, 'target') ?? {};
      const int = (x: unknown) => (typeof x === 'number' ? x : null);
      return [
        cell(update.updateMode),
        cell(target.cpu),
        cell(target.memory),
        providedStatus(status),
        ageOf(v, now),
        int(update.minReplicas),
        int(update.evictAfterOOMSeconds),
      ];
    },
  ),
};

/** The VerticalPodAutoscalerCheckpoint strategy (no status subresource in the CRD). */
export const vpaCheckpointStrategy: Strategy = {
  table: printer([{ name: 'Age', type: 'date', priority: 0 }], (v, now) => [ageOf(v, now)]),
};
