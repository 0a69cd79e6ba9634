import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SuccessPolicy } from 'kubernetes-types/batch/v1.js';
import { parseIndexes } from './indexes.js';
import { matchSuccessPolicy } from './success-policy.js';

const policy = (...rules: SuccessPolicy['rules']): SuccessPolicy => ({ rules });

describe('Job successPolicy', () => {
  const cases: [string, SuccessPolicy | undefined, string, string | undefined][] = [
    ['no policy never matches', undefined, '0-9', undefined],
    ['nothing succeeded never matches', policy({ succeededCount: 1 }), '', undefined],
    [
      'succeededIndexes needs every listed index',
      policy({ succeededIndexes: '0,2-3' }),
      '0,2',
      undefined,
    ],
    [
      'succeededIndexes met',
      policy({ succeededIndexes: '0,2-3' }),
      '0-3',
      'Matched rules at index 0',
    ],
    [
      'succeededIndexes with succeededCount needs only that many of them',
      policy({ succeededIndexes: '1-5', succeededCount: 2 }),
      '0,3,5',
      'Matched rules at index 0',
    ],
    [
      'indexes outside the rule do not count toward its succeededCount',
      policy({ succeededIndexes: '1-5', succeededCount: 2 }),
      '0,3,7-9',
      undefined,
    ],
    [
      'succeededCount alone counts any indexes',
      policy({ succeededCount: 3 }),
      '0,7,9',
      'Matched rules at index 0',
    ],
    [
      'the first matching rule is named',
      policy({ succeededIndexes: '9' }, { succeededCount: 2 }),
      '0-1',
      'Matched rules at index 1',
    ],
    [
      'an index list past completions never matches',
      policy({ succeededIndexes: '10-12' }),
      '0-9',
      undefined,
    ],
  ];
  for (const [name, p, done, want] of cases) {
    it(name, () => assert.equal(matchSuccessPolicy(p, 10, parseIndexes(done, 10)), want));
  }
});
