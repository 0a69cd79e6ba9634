// Unit tests for paths.ts: the package root is found from src/ and from a dist/src/-shaped copy.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { packageRoot } from './paths.js';

test('packageRoot finds the checkout from this module', () => {
  const root = packageRoot(import.meta.url);
  assert.equal(root, path.resolve(import.meta.dirname, '..', '..'));
});

test('packageRoot walks past dist/src/ to the directory holding package.json', () => {
  const top = mkdtempSync(path.join(tmpdir(), 'skiff-paths-'));
  try {
    writeFileSync(path.join(top, 'package.json'), '{}');
    const deep = path.join(top, 'dist', 'src', 'images');
    mkdirSync(deep, { recursive: true });
    const from = pathToFileURL(path.join(deep, 'catalog.js'));
    assert.equal(packageRoot(from), top);
    assert.equal(packageRoot(from.href), top);
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});

test('packageRoot throws outside any package', () => {
  const top = mkdtempSync(path.join(tmpdir(), 'skiff-paths-'));
  try {
    assert.throws(() => packageRoot(pathToFileURL(path.join(top, 'x.js'))), /No package.json/);
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});
