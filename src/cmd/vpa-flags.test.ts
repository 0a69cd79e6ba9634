// The VPA fraction flags: upstream's defaults parse, values out of range or not numbers are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { marginFraction, percentileFraction } from './vpa-flags.js';

test('margin fraction: 0 or more', () => {
  assert.equal(marginFraction('0.15'), 0.15);
  assert.equal(marginFraction('0'), 0);
  assert.equal(marginFraction('1.5'), 1.5);
  for (const bad of ['-0.1', 'abc', '', ' ', 'Infinity', 'NaN'])
    assert.throws(() => marginFraction(bad), InvalidArgumentError, bad);
});

test('percentile: above 0, at most 1', () => {
  assert.equal(percentileFraction('0.9'), 0.9);
  assert.equal(percentileFraction('1'), 1);
  assert.equal(percentileFraction('0.5'), 0.5);
  for (const bad of ['0', '-0.5', '1.01', '90', 'p90', '', 'NaN'])
    assert.throws(() => percentileFraction(bad), InvalidArgumentError, bad);
});
