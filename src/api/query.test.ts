import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queryBool } from './query.js';

describe('queryBool', () => {
  const cases: [string, boolean][] = [
    ['', false],
    ['watch=true', true],
    ['watch=True', true],
    ['watch=TRUE', true],
    ['watch=1', true],
    ['watch=t', true],
    ['watch=', true],
    ['watch=yes', true],
    ['watch=false', false],
    ['watch=False', false],
    ['watch=FALSE', false],
    ['watch=0', false],
    ['watch=0&watch=1', false],
  ];
  for (const [query, want] of cases) {
    it(`"${query}" is ${want}`, () => {
      assert.equal(queryBool(new URLSearchParams(query), 'watch'), want);
    });
  }
});
