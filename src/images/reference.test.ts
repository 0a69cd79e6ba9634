import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  familiarName,
  formatReference,
  InvalidReferenceError,
  isLatestTag,
  parseReference,
} from './reference.js';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  const cases: Array<[string, string]> = [
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1'],
    ['localhost/x', 'localhost/x:latest'],
    ['127.0.0.1:5001/busybox-httpd:v1', '127.0.0.1:5001/busybox-httpd:v1'],
    ['ghcr.io/a/b/c:2', 'ghcr.io/a/b/c:2'],
    [`nginx@${digest}`, `docker.io/library/nginx@${digest}`],
    [`nginx:1@${digest}`, `docker.io/library/nginx:1@${digest}`],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
  ];
  for (const [input, want] of cases) {
    test(`normalises ${input}`, () => assert.equal(formatReference(parseReference(input)), want));
  }

  for (const bad of ['', 'Nginx', 'nginx:', 'a//b', 'nginx@sha256:xyz', ':tag', 'a b']) {
    test(`rejects ${JSON.stringify(bad)}`, () =>
      assert.throws(() => parseReference(bad), InvalidReferenceError));
  }

  test('says why an uppercase name is refused', () =>
    assert.throws(() => parseReference('Nginx'), /repository name must be lowercase/));

  test('familiar names drop docker.io/library', () => {
    assert.equal(familiarName(parseReference('nginx:1')), 'nginx');
    assert.equal(familiarName(parseReference('user/app')), 'user/app');
    assert.equal(familiarName(parseReference('127.0.0.1:5001/x')), '127.0.0.1:5001/x');
  });

  test('latest means no tag or :latest, never a digest', () => {
    assert.equal(isLatestTag('nginx'), true);
    assert.equal(isLatestTag('nginx:latest'), true);
    assert.equal(isLatestTag('nginx:1'), false);
    assert.equal(isLatestTag(`nginx@${digest}`), false);
  });
});
