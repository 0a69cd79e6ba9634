// Tests for the bearer-token authenticator: static tokens, bound SA tokens and their objects.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../lib/clock.js';
import { createAuthenticator, type ObjectLookup } from './authenticator.js';
import { testPki } from './test-pki.js';
import { issueServiceAccountToken } from './tokens.js';

const pki = testPki();

function setup() {
  const clock = new FakeClock();
  const objects = new Map<string, { uid: string }>([
    ['ServiceAccount/team/builder', { uid: 'sa-1' }],
    ['Pod/team/web-0', { uid: 'pod-1' }],
  ]);
  const lookup: ObjectLookup = async (kind, ns, name) => objects.get(`${kind}/${ns}/${name}`);
  const authn = createAuthenticator({ pki, clock, lookup, nodeName: 'node-a' });
  const token = issueServiceAccountToken(pki, {
    namespace: 'team',
    serviceAccountName: 'builder',
    serviceAccountUid: 'sa-1',
    pod: { name: 'web-0', uid: 'pod-1' },
    expirationSeconds: 600,
    now: clock.now(),
  });
  const auth = (value: string) => authn.authenticate({ headers: { authorization: value } });
  return { clock, objects, authn, token, auth };
}

test('the admin token authenticates as kubernetes-admin in system:masters', async () => {
  const { auth } = setup();
  assert.deepEqual(await auth(`Bearer ${pki.adminToken}`), {
    username: 'kubernetes-admin',
    groups: ['system:masters', 'system:authenticated'],
  });
  assert.equal((await auth(`bearer ${pki.adminToken}`))?.username, 'kubernetes-admin');
});

test('the kubelet token authenticates as the node', async () => {
  const { auth } = setup();
  assert.deepEqual(await auth(`Bearer ${pki.kubeletToken}`), {
    username: 'system:node:node-a',
    groups: ['system:nodes', 'system:authenticated'],
  });
});

test('missing, malformed or wrong credentials give undefined', async () => {
  const { authn, auth } = setup();
  assert.equal(await authn.authenticate({ headers: {} }), undefined);
  assert.equal(await auth(`Basic ${pki.adminToken}`), undefined);
  assert.equal(await auth('Bearer'), undefined);
  assert.equal(await auth(`Bearer ${pki.adminToken}x`), undefined);
  assert.equal(await auth(`Bearer ${pki.adminToken.slice(1)}`), undefined);
  assert.equal(await auth('Bearer not.a.jwt'), undefined);
});

test('a bound SA token authenticates while its pod and service account exist', async () => {
  const { auth, token } = setup();
  const user = await auth(`Bearer ${token}`);
  assert.ok(user);
  assert.equal(user.username, 'system:serviceaccount:team:builder');
  assert.equal(user.uid, 'sa-1');
  assert.deepEqual(user.groups, [
    'system:serviceaccounts',
    'system:serviceaccounts:team',
    'system:authenticated',
  ]);
  assert.deepEqual(user.extra?.['authentication.kubernetes.io/pod-name'], ['web-0']);
});

test('deleting the bound pod rejects the token; a re-created pod does not revive it', async () => {
  const { auth, token, objects } = setup();
  objects.delete('Pod/team/web-0');
  assert.equal(await auth(`Bearer ${token}`), undefined);
  objects.set('Pod/team/web-0', { uid: 'pod-2' });
  assert.equal(await auth(`Bearer ${token}`), undefined);
});

test('deleting the service account rejects the token', async () => {
  const { auth, token, objects } = setup();
  objects.delete('ServiceAccount/team/builder');
  assert.equal(await auth(`Bearer ${token}`), undefined);
});

test('an expired SA token is rejected', async () => {
  const { auth, token, clock } = setup();
  clock.advance(599_000);
  assert.ok(await auth(`Bearer ${token}`));
  clock.advance(1_000);
  assert.equal(await auth(`Bearer ${token}`), undefined);
});

test('a token in the websocket subprotocol is accepted', async () => {
  const { authn } = setup();
  const proto = `base64url.bearer.authorization.k8s.io.${Buffer.from(pki.adminToken).toString('base64url')}`;
  const user = await authn.authenticate({
    headers: { 'sec-websocket-protocol': `v5.channel.k8s.io, ${proto}` },
  });
  assert.equal(user?.username, 'kubernetes-admin');
});
