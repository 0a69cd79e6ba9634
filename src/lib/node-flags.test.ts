import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UP_NODE_FLAGS, withUpNodeFlags } from './node-flags.js';

test('adds the skiff up flags to an execArgv without them, keeping what is there', () => {
  assert.deepEqual(withUpNodeFlags(['--import', 'tsx']), ['--import', 'tsx', ...UP_NODE_FLAGS]);
});

test('a flag the user already set wins over the default', () => {
  assert.deepEqual(withUpNodeFlags(['--max-semi-space-size=16']), ['--max-semi-space-size=16']);
});
