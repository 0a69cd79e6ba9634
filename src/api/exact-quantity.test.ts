// Tests of quantity parsing and canonical rendering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatMilli, formatNanoCores } from './exact-quantity.js';
import { milliValue, nanoValue, parseQuantity, wholeValue } from './quantity.js';

test('milliValue parses exactly and rounds up like MilliValue', () => {
  const cases: [string, number][] = [
    ['100m', 100],
    ['0.1', 100],
    ['1', 1000],
    ['1.5', 1500],
    ['2e3', 2_000_000],
    ['123456n', 1],
    ['1234567n', 2],
    ['1u', 1],
    ['100Mi', 104857600000],
    ['1k', 1_000_000],
    ['0', 0],
  ];
  for (const [text, want] of cases) assert.equal(milliValue(text), want, text);
});

test('nanoValue, wholeValue and parseQuantity', () => {
  assert.equal(nanoValue('12m'), 12_000_000);
  assert.equal(nanoValue('123456n'), 123456);
  assert.equal(wholeValue('1Ki'), 1024);
  assert.equal(wholeValue('20484Ki'), 20975616);
  assert.equal(wholeValue('1.5Gi'), 1610612736);
  assert.equal(parseQuantity('250m'), 0.25);
  assert.throws(() => parseQuantity('abc'), SyntaxError);
  assert.throws(() => parseQuantity('1 m'), SyntaxError);
});

test('formatNanoCores renders canonical DecimalSI', () => {
  const cases: [number, string][] = [
    [12_000_000, '12m'],
    [123456, '123456n'],
    [2_000_000_000, '2'],
    [1_500_000_000, '1500m'],
    [0, '0'],
    [1_000, '1u'],
    [52_345_678, '52345678n'],
  ];
  for (const [n, want] of cases) assert.equal(formatNanoCores(n), want, String(n));
});

test('formatBytes renders canonical BinarySI', () => {
  assert.equal(formatBytes(20975616), '20484Ki');
  assert.equal(formatBytes(1048576 * 1024), '1Gi');
  assert.equal(formatBytes(1025), '1025');
  assert.equal(formatBytes(512), '512');
  assert.equal(formatBytes(1000), '1k');
});

test('formatMilli renders NewMilliQuantity DecimalSI', () => {
  assert.equal(formatMilli(150), '150m');
  assert.equal(formatMilli(2000), '2');
  assert.equal(formatMilli(104857600000), '104857600');
  assert.equal(formatMilli(0), '0');
});
