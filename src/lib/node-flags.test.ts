import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { UP_MALLOC_ENV, UP_NODE_FLAGS, withUpEnv, withUpNodeFlags } from './node-flags.js';

test('adds the skiff up flags to an execArgv without them, keeping what is there', () => {
  assert.deepEqual(withUpNodeFlags(['--import', 'tsx']), ['--import', 'tsx', ...UP_NODE_FLAGS]);
});

test('a flag the user already set wins over the default', () => {
  assert.deepEqual(withUpNodeFlags(['--max-semi-space-size=16']), [
    '--max-semi-space-size=16',
    ...UP_NODE_FLAGS.filter((f) => !f.startsWith('--max-semi-space-size=')),
  ]);
});

test('adds the malloc settings to an environment; a value already set wins', () => {
  const env = withUpEnv({ PATH: '/bin', MALLOC_MMAP_THRESHOLD_: '65536' });
  assert.equal(env['PATH'], '/bin');
  assert.equal(env['MALLOC_MMAP_THRESHOLD_'], '65536');
  assert.equal(env['MALLOC_TRIM_THRESHOLD_'], UP_MALLOC_ENV['MALLOC_TRIM_THRESHOLD_']);
});

test('the skiff shebang and npm start pass the same flags and settings', () => {
  const settings = [
    ...Object.entries(UP_MALLOC_ENV).map(([k, v]) => `${k}=${v}`),
    'node',
    ...UP_NODE_FLAGS,
  ].join(' ');
  const bin = new URL('../../bin/skiff.js', import.meta.url);
  const shebang = readFileSync(bin, 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S ${settings}`);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.equal(pkg.scripts['start'], `${settings} bin/skiff.js up`);
});
