import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import { isNotFound } from '../../client/rest.js';
import { type ControllerEnv, cacheCaughtUp, startControllerEnv } from '../runtime/testing.js';
import { createServiceAccountController, type ServiceAccountController } from './controller.js';

describe('service account controller', () => {
  let env: ControllerEnv;
  let sac: ServiceAccountController;
  before(async () => {
    env = await startControllerEnv();
    sac = createServiceAccountController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  const caught = async () => {
    await cacheCaughtUp(env.client, env.informers.informerFor(R.namespaces));
    await cacheCaughtUp(env.client, env.informers.informerFor(R.serviceaccounts));
  };

  it('creates the default ServiceAccount in a new namespace and recreates it when deleted', async () => {
    await env.client.create<Namespace>(R.namespaces, { metadata: { name: 'team' } });
    await caught();
    await sac.syncNamespace('team');
    assert.ok(await env.client.get<ServiceAccount>(R.serviceaccounts, 'team', 'default'));
    await env.client.delete(R.serviceaccounts, 'team', 'default');
    await caught();
    await sac.syncNamespace('team');
    assert.ok(await env.client.get<ServiceAccount>(R.serviceaccounts, 'team', 'default'));
  });

  it('does nothing in a terminating namespace', async () => {
    await env.client.create<Namespace>(R.namespaces, { metadata: { name: 'leaving' } });
    await env.client.delete(R.namespaces, undefined, 'leaving');
    await caught();
    await sac.syncNamespace('leaving');
    await assert.rejects(env.client.get(R.serviceaccounts, 'leaving', 'default'), (err) =>
      isNotFound(err),
    );
  });
});
