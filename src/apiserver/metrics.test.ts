// How requests are labelled in apiserver_request_total (upstream cleanVerb and scope).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestLabels } from './metrics.js';

describe('requestLabels', () => {
  const cases: [string, string, string | undefined, string, string][] = [
    ['GET', '/api/v1/namespaces/default/pods', undefined, 'LIST', 'namespace'],
    ['GET', '/api/v1/pods?watch=True', undefined, 'WATCH', 'cluster'],
    ['GET', '/api/v1/watch/namespaces/default/pods', undefined, 'WATCH', 'namespace'],
    ['GET', '/apis/apps/v1/namespaces/default/deployments/web', undefined, 'GET', 'resource'],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/d/deployments/web',
      'application/apply-patch+yaml',
      'APPLY',
      'resource',
    ],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/d/deployments/web',
      'application/merge-patch+json',
      'PATCH',
      'resource',
    ],
    ['DELETE', '/api/v1/namespaces/default/configmaps', undefined, 'DELETECOLLECTION', 'namespace'],
    ['POST', '/api/v1/namespaces/default/pods/web/exec', undefined, 'CONNECT', 'resource'],
    ['GET', '/version', undefined, 'GET', ''],
    ['GET', '/api/v1/namespaces/%ZZ/pods', undefined, 'GET', ''],
  ];
  for (const [method, path, type, verb, scope] of cases) {
    it(`${method} ${path} is ${verb} at ${scope || 'no'} scope`, () => {
      const l = requestLabels(method, new URL(path, 'https://x'), type);
      assert.equal(l.verb, verb);
      assert.equal(l.scope, scope);
    });
  }
});
