// Validation of a Job's spec, shared by Jobs and CronJobs' job templates (upstream
// pkg/apis/batch/validation: validateJobSpec, validatePodFailurePolicy, validateSuccessPolicy,
// ValidateJobSpecUpdate). Limits and wording are upstream's; the checks Skiff's controllers
// rely on (Indexed needs completions, a per-index limit needs Indexed, ...) are refused here
// rather than left to surprise the controller later.

import { immutable } from './common.js';
import { validatePodSpec } from './podspec.js';
import type { FieldError } from './types.js';
import {
  duplicate,
  invalid,
  isDNS1123Label,
  isObj,
  list,
  nonNegativeFields,
  notSupported,
  type Obj,
  required,
  str,
  sub,
  tooMany,
} from './util.js';

const maxParallelismForIndexed = 100_000;
const maxFailedIndexes = 100_000;
const completionsSoftLimit = 100_000;
const limitForHighCompletions = 10_000;
const maxPodFailurePolicyRules = 20;
const maxExitCodeValues = 255;
const maxOnPodConditions = 20;
const maxSuccessPolicyRules = 20;
const maxSucceededIndexesLength = 64 * 1024;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** A Job spec (`at` is "spec", or "spec.jobTemplate.spec" for a CronJob). */
export function validateJobSpec(spec: Obj, at: string): FieldError[] {
  const errs = nonNegativeFields(spec, at, [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
    'backoffLimitPerIndex',
    'maxFailedIndexes',
  ]);
  const { completions, parallelism, backoffLimitPerIndex: perIndex } = spec;
  const maxFailed = spec.maxFailedIndexes;
  if (maxFailed != null && perIndex == null)
    errs.push(required(`${at}.backoffLimitPerIndex`, 'when maxFailedIndexes is specified'));
  const mode = spec.completionMode ?? 'NonIndexed';
  if (mode !== 'NonIndexed' && mode !== 'Indexed')
    errs.push(notSupported(`${at}.completionMode`, mode, ['NonIndexed', 'Indexed']));
  if (mode === 'Indexed') {
    if (completions == null)
      errs.push(required(`${at}.completions`, 'when completion mode is Indexed'));
    if (isInt(parallelism) && parallelism > maxParallelismForIndexed) {
      errs.push(
        invalid(
          `${at}.parallelism`,
          parallelism,
          `must be less than or equal to ${maxParallelismForIndexed} when completion mode is Indexed`,
        ),
      );
    }
    if (isInt(completions) && isInt(maxFailed) && maxFailed > completions)
      errs.push(
        invalid(`${at}.maxFailedIndexes`, maxFailed, 'must be less than or equal to completions'),
      );
    if (isInt(maxFailed) && maxFailed > maxFailedIndexes) {
      errs.push(
        invalid(
          `${at}.maxFailedIndexes`,
          maxFailed,
          `must be less than or equal to ${maxFailedIndexes}`,
        ),
      );
    }
    if (isInt(completions) && completions > completionsSoftLimit && perIndex != null)
      errs.push(...highCompletionLimits(spec, at));
  } else {
    if (perIndex != null)
      errs.push(
        invalid(`${at}.backoffLimitPerIndex`, perIndex, 'requires indexed completion mode'),
      );
    if (maxFailed != null)
      errs.push(invalid(`${at}.maxFailedIndexes`, maxFailed, 'requires indexed completion mode'));
  }
  if (isObj(spec.podFailurePolicy))
    errs.push(...validatePodFailurePolicy(spec, `${at}.podFailurePolicy`));
  if (isObj(spec.successPolicy)) {
    if (mode !== 'Indexed')
      errs.push(
        invalid(`${at}.successPolicy`, spec.successPolicy, 'requires indexed completion mode'),
      );
    else errs.push(...validateSuccessPolicy(spec, `${at}.successPolicy`));
  }
  errs.push(...validatePodReplacementPolicy(spec, `${at}.podReplacementPolicy`));
  errs.push(...validateTemplate(spec, at));
  return errs;
}

/** With a per-index limit above 100,000 completions upstream caps what the status must hold. */
function highCompletionLimits(spec: Obj, at: string): FieldError[] {
  const errs: FieldError[] = [];
  const suffix = `when completions are above ${completionsSoftLimit} and used with backoff limit per index`;
  if (spec.maxFailedIndexes == null) {
    errs.push(
      required(
        `${at}.maxFailedIndexes`,
        `must be specified when completions is above ${completionsSoftLimit}`,
      ),
    );
  }
  for (const f of ['parallelism', 'maxFailedIndexes']) {
    const v = spec[f];
    if (isInt(v) && v > limitForHighCompletions)
      errs.push(
        invalid(
          `${at}.${f}`,
          v,
          `must be less than or equal to ${limitForHighCompletions} ${suffix}`,
        ),
      );
  }
  return errs;
}

function validateTemplate(spec: Obj, at: string): FieldError[] {
  const tmpl = sub(spec, 'template');
  if (!tmpl) return [required(`${at}.template`)];
  const errs = validatePodSpec(tmpl.spec, `${at}.template.spec`);
  const rp = sub(tmpl, 'spec')?.restartPolicy;
  const rpField = `${at}.template.spec.restartPolicy`;
  if (rp === undefined || rp === '' || rp === 'Always')
    errs.push(required(rpField, 'valid values: "OnFailure", "Never"'));
  else if (rp !== 'OnFailure' && rp !== 'Never')
    errs.push(notSupported(rpField, rp, ['OnFailure', 'Never']));
  else if (isObj(spec.podFailurePolicy) && rp !== 'Never')
    errs.push(invalid(rpField, rp, 'only "Never" is supported when podFailurePolicy is specified'));
  return errs;
}

function validatePodReplacementPolicy(spec: Obj, at: string): FieldError[] {
  const v = spec.podReplacementPolicy;
  if (v == null) return [];
  if (isObj(spec.podFailurePolicy)) return v === 'Failed' ? [] : [notSupported(at, v, ['Failed'])];
  return v === 'Failed' || v === 'TerminatingOrFailed'
    ? []
    : [notSupported(at, v, ['Failed', 'TerminatingOrFailed'])];
}

function validatePodFailurePolicy(spec: Obj, at: string): FieldError[] {
  const rules = list(spec.podFailurePolicy, 'rules');
  const errs: FieldError[] = [];
  if (rules.length > maxPodFailurePolicyRules)
    errs.push(tooMany(`${at}.rules`, rules.length, maxPodFailurePolicyRules));
  const podSpec = sub(sub(spec, 'template'), 'spec');
  const names = new Set(
    [...list(podSpec, 'containers'), ...list(podSpec, 'initContainers')].map((c) => str(c.name)),
  );
  rules.forEach((rule, i) => {
    errs.push(...validateFailureRule(spec, rule, `${at}.rules[${i}]`, names));
  });
  return errs;
}

const failureActions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];

function validateFailureRule(spec: Obj, rule: Obj, at: string, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const action = rule.action;
  if (action == null || action === '')
    errs.push(required(`${at}.action`, `valid values: ["${failureActions.join('" "')}"]`));
  else if (action === 'FailIndex') {
    if (spec.backoffLimitPerIndex == null)
      errs.push(invalid(`${at}.action`, action, 'requires the backoffLimitPerIndex to be set'));
  } else if (!failureActions.includes(str(action)))
    errs.push(notSupported(`${at}.action`, action, failureActions));
  const onExit = sub(rule, 'onExitCodes');
  const onConditions = list(rule, 'onPodConditions');
  if (onExit) errs.push(...validateOnExitCodes(onExit, `${at}.onExitCodes`, names));
  if (onConditions.length > maxOnPodConditions)
    errs.push(tooMany(`${at}.onPodConditions`, onConditions.length, maxOnPodConditions));
  onConditions.forEach((c, j) => {
    const status = c.status;
    const p = `${at}.onPodConditions[${j}].status`;
    if (status == null || status === '')
      errs.push(required(p, 'valid values: ["False" "True" "Unknown"]'));
    else if (!['False', 'True', 'Unknown'].includes(str(status)))
      errs.push(notSupported(p, status, ['False', 'True', 'Unknown']));
  });
  if (onExit && onConditions.length > 0)
    errs.push(
      invalid(at, undefined, 'specifying both OnExitCodes and OnPodConditions is not supported'),
    );
  if (!onExit && onConditions.length === 0)
    errs.push(
      invalid(at, undefined, 'specifying one of OnExitCodes and OnPodConditions is required'),
    );
  return errs;
}

function validateOnExitCodes(req: Obj, at: string, names: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const op = req.operator;
  if (op == null || op === '')
    errs.push(required(`${at}.operator`, 'valid values: ["In" "NotIn"]'));
  else if (op !== 'In' && op !== 'NotIn')
    errs.push(notSupported(`${at}.operator`, op, ['In', 'NotIn']));
  if (req.containerName != null && !names.has(str(req.containerName))) {
    errs.push(
      invalid(
        `${at}.containerName`,
        req.containerName,
        'must be one of the container or initContainer names in the pod template',
      ),
    );
  }
  const values = Array.isArray(req.values) ? (req.values as unknown[]) : [];
  if (values.length === 0)
    errs.push(invalid(`${at}.values`, values, 'at least one value is required'));
  else if (values.length > maxExitCodeValues)
    errs.push(tooMany(`${at}.values`, values.length, maxExitCodeValues));
  const seen = new Set<unknown>();
  let ordered = true;
  values.forEach((v, j) => {
    if (op === 'In' && v === 0)
      errs.push(invalid(`${at}.values[${j}]`, v, 'must not be 0 for the In operator'));
    if (seen.has(v)) errs.push(duplicate(`${at}.values[${j}]`, v));
    seen.add(v);
    if (j > 0 && (values[j - 1] as number) > (v as number)) ordered = false;
  });
  if (!ordered) errs.push(invalid(`${at}.values`, values, 'must be ordered'));
  return errs;
}

function validateSuccessPolicy(spec: Obj, at: string): FieldError[] {
  const rules = list(spec.successPolicy, 'rules');
  const errs: FieldError[] = [];
  if (rules.length === 0)
    errs.push(
      required(
        `${at}.rules`,
        'at least one rules must be specified when the successPolicy is specified',
      ),
    );
  if (rules.length > maxSuccessPolicyRules)
    errs.push(tooMany(`${at}.rules`, rules.length, maxSuccessPolicyRules));
  const completions = isInt(spec.completions) ? spec.completions : 0;
  rules.forEach((rule, i) => {
    const p = `${at}.rules[${i}]`;
    const { succeededIndexes: indexes, succeededCount: count } = rule;
    if (indexes == null && count == null)
      errs.push(
        required(p, 'at least one of succeededCount or succeededIndexes must be specified'),
      );
    let total = 0;
    if (indexes != null) {
      const text = str(indexes);
      if (text.length > maxSucceededIndexesLength)
        errs.push({
          type: 'FieldValueTooLong',
          field: `${p}.succeededIndexes`,
          detail: `may not be more than ${maxSucceededIndexesLength} bytes`,
        });
      try {
        total = countIndexes(text, completions);
      } catch (err) {
        errs.push(
          invalid(
            `${p}.succeededIndexes`,
            indexes,
            `error parsing succeededIndexes: ${(err as Error).message}`,
          ),
        );
      }
    }
    if (isInt(count)) {
      errs.push(...nonNegativeFields(rule, p, ['succeededCount']));
      if (count > completions) {
        errs.push(
          invalid(
            `${p}.succeededCount`,
            count,
            `must be less than or equal to ${completions} (the number of specified completions)`,
          ),
        );
      }
      if (indexes != null && count > total) {
        errs.push(
          invalid(
            `${p}.succeededCount`,
            count,
            `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`,
          ),
        );
      }
    }
  });
  return errs;
}

/**
 * How many indexes a strict interval list ("1,3-5") names, each below completions and in
 * increasing order; throws with upstream's wording otherwise (validateIndexesFormat). The Job
 * controller's own parser is lenient (it skips bad parts of a status it wrote itself).
 */
function countIndexes(text: string, completions: number): number {
  if (text === '') return 0;
  const toIndex = (part: string) => {
    if (!/^[+-]?\d+$/.test(part))
      throw new Error(`cannot convert string to integer for index: "${part}"`);
    const n = Number(part);
    if (n >= completions) throw new Error(`too large index: "${part}"`);
    return n;
  };
  let last: number | undefined;
  let total = 0;
  for (const interval of text.split(',')) {
    const limits = interval.split('-');
    if (limits.length > 2) {
      throw new Error(
        `the fragment "${interval}" violates the requirement that an index interval can have at most two parts separated by '-'`,
      );
    }
    const first = toIndex(limits[0] ?? '');
    const end = limits[1] === undefined ? first : toIndex(limits[1]);
    if (limits[1] !== undefined && first >= end)
      throw new Error(`non-increasing order, previous: ${first}, current: ${end}`);
    if (last !== undefined && last >= first)
      throw new Error(`non-increasing order, previous: ${last}, current: ${first}`);
    total += end - first + 1;
    last = end;
  }
  return total;
}

/**
 * A Job create: the spec, and that the last Indexed pod's hostname (`<name>-<completions-1>`)
 * is a DNS label (upstream ValidateJob), since the controller could not create that pod.
 */
export function validateJob(obj: { metadata?: { name?: string } }, spec: Obj): FieldError[] {
  const errs = validateJobSpec(spec, 'spec');
  const name = str(obj.metadata?.name);
  if (
    spec.completionMode === 'Indexed' &&
    isInt(spec.completions) &&
    spec.completions > 0 &&
    name
  ) {
    const host = `${name}-${spec.completions - 1}`;
    if (isDNS1123Label(host).length > 0) {
      errs.push(
        invalid(
          'metadata.name',
          name,
          `will not able to create pod with invalid DNS label: ${host}`,
        ),
      );
    }
  }
  return errs;
}

/**
 * What a Job update may not change (upstream ValidateJobSpecUpdate): selector, template,
 * completionMode, podFailurePolicy, backoffLimitPerIndex, managedBy and successPolicy; completions
 * only for an Indexed Job, and then only together with parallelism (elastic Indexed Jobs).
 */
export function validateJobUpdate(spec: Obj, old: Obj): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of [
    'selector',
    'template',
    'completionMode',
    'podFailurePolicy',
    'backoffLimitPerIndex',
    'managedBy',
    'successPolicy',
  ])
    errs.push(...immutable(`spec.${f}`, spec[f], old[f]));
  if (spec.completions !== old.completions) {
    if (spec.completionMode !== 'Indexed')
      errs.push(...immutable('spec.completions', spec.completions, old.completions));
    else if (spec.completions != null && spec.completions !== spec.parallelism) {
      errs.push(
        invalid(
          'spec.completions',
          spec.completions,
          'can only be modified in tandem with spec.parallelism',
        ),
      );
    }
  }
  return errs;
}
