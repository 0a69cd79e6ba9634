// Table tests for quantity parsing (rendering: exact-quantity.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isQuantity, parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  const cases: [string, number][] = [
    ['100m', 0.1],
    ['1', 1],
    ['2.5', 2.5],
    ['100Mi', 100 * 2 ** 20],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['129M', 129e6],
    ['123Ki', 123 * 1024],
    ['500u', 0.0005],
    ['-1', -1],
    ['.5', 0.5],
  ];
  for (const [input, want] of cases) {
    it(`parses ${input}`, () => assert.ok(Math.abs(parseQuantity(input) - want) < 1e-12));
  }
  for (const bad of ['', 'abc', '1.2.3', '10 Mi', 'Mi', '1Ti5']) {
    it(`rejects "${bad}"`, () => {
      assert.equal(isQuantity(bad), false);
      assert.throws(() => parseQuantity(bad), SyntaxError);
    });
  }
});
