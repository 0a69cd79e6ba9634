// Tests for service-account JWTs: round trip, expiry, tampering, foreign keys.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testPki } from './test-pki.js';
import {
  issueServiceAccountToken,
  keyId,
  serviceAccountIssuer,
  verifyServiceAccountToken,
} from './tokens.js';

const pki = testPki();
const now = Date.UTC(2026, 0, 1);
const base = {
  namespace: 'default',
  serviceAccountName: 'default',
  serviceAccountUid: 'sa-uid',
  pod: { name: 'web-1', uid: 'pod-uid' },
  expirationSeconds: 3600,
  now,
};

function decodePart(token: string, i: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[i]!, 'base64url').toString('utf8'));
}

test('issued token has upstream header and claims and verifies', () => {
  const token = issueServiceAccountToken(pki, base);
  assert.deepEqual(decodePart(token, 0), { alg: 'ES256', kid: keyId(pki.saPublicKey) });
  const claims = verifyServiceAccountToken(pki, token, now + 1000);
  assert.ok(claims);
  assert.equal(claims.iss, serviceAccountIssuer);
  assert.equal(claims.sub, 'system:serviceaccount:default:default');
  assert.deepEqual(claims.aud, [serviceAccountIssuer]);
  assert.equal(claims.iat, now / 1000);
  assert.equal(claims.nbf, now / 1000);
  assert.equal(claims.exp, now / 1000 + 3600);
  assert.deepEqual(claims['kubernetes.io'], {
    namespace: 'default',
    pod: { name: 'web-1', uid: 'pod-uid' },
    serviceaccount: { name: 'default', uid: 'sa-uid' },
  });
  assert.equal(Buffer.from(token.split('.')[2]!, 'base64url').length, 64);
});

test('a token without a pod binding has no pod claim', () => {
  const token = issueServiceAccountToken(pki, { ...base, pod: undefined });
  const claims = verifyServiceAccountToken(pki, token, now);
  assert.equal(claims?.['kubernetes.io'].pod, undefined);
});

test('expired and not-yet-valid tokens are rejected', () => {
  const token = issueServiceAccountToken(pki, base);
  assert.ok(verifyServiceAccountToken(pki, token, now + 3599_000));
  assert.equal(verifyServiceAccountToken(pki, token, now + 3600_000), undefined);
  assert.ok(verifyServiceAccountToken(pki, token, now - 30_000), 'small skew is tolerated');
  assert.equal(verifyServiceAccountToken(pki, token, now - 120_000), undefined);
});

test('tampered payload, header or signature is rejected', () => {
  const token = issueServiceAccountToken(pki, base);
  const [h, p, s] = token.split('.') as [string, string, string];
  const claims = decodePart(token, 1);
  const forged = Buffer.from(
    JSON.stringify({ ...claims, sub: 'system:serviceaccount:kube-system:admin' }),
  ).toString('base64url');
  assert.equal(verifyServiceAccountToken(pki, `${h}.${forged}.${s}`, now), undefined);
  const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
  assert.equal(verifyServiceAccountToken(pki, `${none}.${p}.`, now), undefined);
  const sig = Buffer.from(s, 'base64url');
  sig[10] = sig[10]! ^ 1;
  assert.equal(
    verifyServiceAccountToken(pki, `${h}.${p}.${sig.toString('base64url')}`, now),
    undefined,
  );
  for (const junk of ['', 'a.b', 'a.b.c', '...', `${h}.${p}`]) {
    assert.equal(verifyServiceAccountToken(pki, junk, now), undefined, junk);
  }
});

test('a token signed by another cluster key is rejected', () => {
  const other = testPki();
  const token = issueServiceAccountToken(other, base);
  assert.equal(verifyServiceAccountToken(pki, token, now), undefined);
});

test('a token for another audience is rejected', () => {
  const token = issueServiceAccountToken(pki, { ...base, audiences: ['vault'] });
  assert.equal(verifyServiceAccountToken(pki, token, now), undefined);
});
