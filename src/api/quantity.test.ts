// Table tests for quantity parsing and formatting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatQuantity, isQuantity, parseQuantity } from './quantity.js';

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

describe('formatQuantity', () => {
  const cases: [number, 'DecimalSI' | 'BinarySI', string][] = [
    [0.25, 'DecimalSI', '250m'],
    [2, 'DecimalSI', '2'],
    [0.0015, 'DecimalSI', '1500u'],
    [1500, 'DecimalSI', '1500'],
    [2000, 'DecimalSI', '2k'],
    [67108864, 'BinarySI', '64Mi'],
    [1024 * 20484, 'BinarySI', '20484Ki'],
    [100, 'BinarySI', '100'],
    [0, 'BinarySI', '0'],
  ];
  for (const [value, format, want] of cases) {
    it(`formats ${value} as ${want}`, () => assert.equal(formatQuantity(value, format), want));
  }
});
