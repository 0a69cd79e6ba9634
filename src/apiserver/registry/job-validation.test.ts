// Job and CronJob validation through the registry's strategies, with upstream's wording
// (pkg/apis/batch/validation).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/object.js';
import { FakeClock } from '../../lib/clock.js';
import { fieldErrorBody } from '../status-error.js';
import { registryConfig } from './config.js';
import { strategies } from './index.js';
import type { FieldError, StrategyContext } from './types.js';

const ctx: StrategyContext = {
  clock: new FakeClock(),
  config: registryConfig({}),
  listStored: () => [],
};

const rendered = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);

/** A job as `kubectl create job` sends it, with `spec` fields merged in. */
function job(spec: Record<string, unknown>, name = 'j'): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default', uid: 'u-1' },
    spec: {
      template: {
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
      },
      ...spec,
    },
  };
}

function createErrors(key: string, obj: KObject): string[] {
  const s = strategies.get(key);
  assert.ok(s);
  const o = structuredClone(obj);
  s.defaults?.(o, ctx);
  s.prepareForCreate?.(o, ctx);
  return rendered(s.validate?.(o, ctx) ?? []);
}

describe('Job validation', () => {
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    [
      'a valid Indexed job with a success policy',
      {
        completionMode: 'Indexed',
        completions: 5,
        successPolicy: { rules: [{ succeededIndexes: '0,2-4', succeededCount: 2 }] },
      },
      [],
    ],
    [
      'negative parallelism and backoffLimit',
      { parallelism: -1, backoffLimit: -2 },
      [
        'spec.parallelism: Invalid value: -1: must be greater than or equal to 0',
        'spec.backoffLimit: Invalid value: -2: must be greater than or equal to 0',
      ],
    ],
    [
      'Indexed without completions',
      { completionMode: 'Indexed', completions: null },
      ['spec.completions: Required value: when completion mode is Indexed'],
    ],
    [
      'an unknown completion mode',
      { completionMode: 'Sorted' },
      [
        'spec.completionMode: Unsupported value: "Sorted": supported values: "NonIndexed", "Indexed"',
      ],
    ],
    [
      'a per-index limit on a NonIndexed job',
      { backoffLimitPerIndex: 1 },
      ['spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode'],
    ],
    [
      'maxFailedIndexes without a per-index limit, above completions',
      { completionMode: 'Indexed', completions: 3, maxFailedIndexes: 4 },
      [
        'spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified',
        'spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions',
      ],
    ],
    [
      'a success policy on a NonIndexed job',
      { successPolicy: { rules: [{ succeededCount: 1 }] } },
      [
        'spec.successPolicy: Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed completion mode',
      ],
    ],
    [
      'success policy rules that are empty, unparsable or too large',
      {
        completionMode: 'Indexed',
        completions: 3,
        successPolicy: {
          rules: [
            {},
            { succeededIndexes: '2-1' },
            { succeededIndexes: '0-1', succeededCount: 3 },
            { succeededIndexes: 'x' },
          ],
        },
      },
      [
        'spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified',
        'spec.successPolicy.rules[1].succeededIndexes: Invalid value: "2-1": error parsing succeededIndexes: non-increasing order, previous: 2, current: 1',
        'spec.successPolicy.rules[2].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)',
        'spec.successPolicy.rules[3].succeededIndexes: Invalid value: "x": error parsing succeededIndexes: cannot convert string to integer for index: "x"',
      ],
    ],
    [
      'an empty success policy',
      { completionMode: 'Indexed', completions: 3, successPolicy: { rules: [] } },
      [
        'spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified',
      ],
    ],
    [
      'a pod failure policy with FailIndex, a 0 exit code for In, unordered values, no requirement',
      {
        podFailurePolicy: {
          rules: [
            { action: 'FailIndex', onExitCodes: { operator: 'In', values: [3, 0, 1] } },
            { action: 'Ignore' },
            {
              action: 'Count',
              onExitCodes: { operator: 'In', values: [1], containerName: 'nope' },
            },
          ],
        },
      },
      [
        'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
        'spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 0: must not be 0 for the In operator',
        'spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [3,0,1]: must be ordered',
        'spec.podFailurePolicy.rules[1]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required',
        'spec.podFailurePolicy.rules[2].onExitCodes.containerName: Invalid value: "nope": must be one of the container or initContainer names in the pod template',
      ],
    ],
    [
      'a pod failure policy with restartPolicy OnFailure',
      {
        podFailurePolicy: {
          rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }],
        },
        template: {
          spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
      [
        'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
      ],
    ],
    [
      'restartPolicy left to its default (Always)',
      { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'],
    ],
  ];
  for (const [what, spec, want] of cases) {
    it(what, () => assert.deepEqual(createErrors('batch/jobs', job(spec)), want));
  }

  it('refuses an Indexed job whose last pod hostname would not be a DNS label', () => {
    const name = 'a'.repeat(62);
    assert.deepEqual(
      createErrors('batch/jobs', job({ completionMode: 'Indexed', completions: 10 }, name)),
      [
        `metadata.name: Invalid value: "${name}": will not able to create pod with invalid DNS label: ${name}-9`,
      ],
    );
  });

  it('on update keeps the template, completion mode and per-index limit; completions move only with parallelism when Indexed', () => {
    const s = strategies.get('batch/jobs');
    assert.ok(s?.validateUpdate);
    const old = job({
      completionMode: 'Indexed',
      completions: 3,
      parallelism: 3,
      backoffLimitPerIndex: 1,
    });
    s.defaults?.(old, ctx);
    s.prepareForCreate?.(old, ctx);
    const change = (f: (spec: Record<string, unknown>) => void) => {
      const next = structuredClone(old);
      f(next.spec as Record<string, unknown>);
      return rendered(s.validateUpdate?.(next, old, ctx) ?? []);
    };
    assert.deepEqual(
      change((spec) => {
        spec.suspend = true;
      }),
      [],
    );
    assert.deepEqual(
      change((spec) => {
        spec.completions = 5;
        spec.parallelism = 5;
      }),
      [],
    );
    assert.deepEqual(
      change((spec) => {
        spec.completions = 5;
      }),
      ['spec.completions: Invalid value: 5: can only be modified in tandem with spec.parallelism'],
    );
    const errs = change((spec) => {
      spec.backoffLimitPerIndex = 2;
      spec.completionMode = 'NonIndexed';
    });
    assert.ok(
      errs.includes('spec.completionMode: Invalid value: "NonIndexed": field is immutable'),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) =>
        e.startsWith('spec.backoffLimitPerIndex: Invalid value: 2: field is immutable'),
      ),
      errs.join('\n'),
    );
  });
});

describe('CronJob job template validation', () => {
  const cron = (jobSpec: Record<string, unknown>): KObject => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'c', namespace: 'default' },
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: { spec: { ...(job({}).spec as object), ...jobSpec } },
    },
  });
  it('checks the job template like a Job, and refuses a selector of its own', () => {
    assert.deepEqual(
      createErrors(
        'batch/cronjobs',
        cron({ backoffLimitPerIndex: 1, selector: { matchLabels: { a: 'b' } } }),
      ),
      [
        'spec.jobTemplate.spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode',
        'spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"a":"b"}}: `selector` will be auto-generated',
      ],
    );
    assert.deepEqual(createErrors('batch/cronjobs', cron({})), []);
  });
});
