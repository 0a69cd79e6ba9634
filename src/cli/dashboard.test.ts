// Tests of `skiff dashboard`: the URL comes from the running cluster's pid file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readDashboardUrl } from './dashboard.js';

describe('readDashboardUrl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-dash-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('says how to start a cluster when none runs', () => {
    const r = readDashboardUrl(dir);
    assert.ok('error' in r);
    assert.match(r.error, /no Skiff cluster is running .*skiff up --data-dir/);
  });

  test('ignores a pid file left by a dead process', () => {
    writeFileSync(join(dir, 'skiff.pid'), JSON.stringify({ pid: 2 ** 22 + 1, dashboardUrl: 'x' }));
    assert.ok('error' in readDashboardUrl(dir));
  });

  test('returns the dashboardUrl of the live process', () => {
    const url = 'http://127.0.0.1:8090/';
    writeFileSync(join(dir, 'skiff.pid'), JSON.stringify({ pid: process.pid, dashboardUrl: url }));
    assert.deepEqual(readDashboardUrl(dir), { url });
  });

  test('reports a live cluster without a dashboard', () => {
    writeFileSync(join(dir, 'skiff.pid'), JSON.stringify({ pid: process.pid }));
    const r = readDashboardUrl(dir);
    assert.ok('error' in r && /serves no dashboard/.test(r.error));
  });
});
