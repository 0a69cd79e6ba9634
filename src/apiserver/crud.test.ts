// CRUD, selectors, resourceVersion semantics and watch of the API server over a MemoryBackend.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { R } from '../client/resources.js';
import { ApiError, type KObject, type WatchEvent } from '../client/rest.js';
import { startTestApiServer, type TestApiServer } from './testing.js';

const cm = (
  name: string,
  labels: Record<string, string> = {},
  data: Record<string, string> = {},
): KObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', labels },
  data,
});

async function rejects(p: Promise<unknown>, code: number, message?: string): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.equal(err.message, message);
    return err;
  }
  assert.fail('expected an error');
}

describe('API server CRUD', () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(() => api.close());

  it('seeds the system namespaces with the metadata.name label', async () => {
    const list = await api.client.list(R.namespaces);
    const names = list.items.map((n) => n.metadata?.name).sort();
    assert.deepEqual(names, ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    const ns = list.items.find((n) => n.metadata?.name === 'kube-system')!;
    assert.equal(ns.metadata?.labels?.['kubernetes.io/metadata.name'], 'kube-system');
    assert.deepEqual((ns as KObject & { status: unknown }).status, { phase: 'Active' });
  });

  it('creates with server-owned metadata and gets it back', async () => {
    const created = await api.client.create(R.configmaps, cm('a', { app: 'x' }, { k: 'v' }));
    const m = created.metadata!;
    assert.match(m.uid!, /^[0-9a-f-]{36}$/);
    assert.match(m.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Number(m.resourceVersion) > 0);
    const got = await api.client.get(R.configmaps, 'default', 'a');
    assert.deepEqual(got, created);
  });

  it('generates names from generateName with the upstream alphabet', async () => {
    const created = await api.client.create<KObject>(R.configmaps, {
      metadata: { generateName: 'gen-', namespace: 'default' },
    });
    assert.match(created.metadata!.name!, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('answers upstream errors for missing, duplicate and invalid objects', async () => {
    await rejects(
      api.client.get(R.configmaps, 'default', 'nope'),
      404,
      'configmaps "nope" not found',
    );
    await rejects(
      api.client.get(R.deployments, 'default', 'nope'),
      404,
      'deployments.apps "nope" not found',
    );
    await rejects(api.client.create(R.configmaps, cm('a')), 409, 'configmaps "a" already exists');
    await rejects(
      api.client.create(R.configmaps, { metadata: { name: 'x', namespace: 'ghost' } }),
      404,
      'namespaces "ghost" not found',
    );
    const e = await rejects(api.client.create(R.configmaps, cm('Bad_Name')), 422);
    assert.match(
      e.message,
      /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    assert.equal(e.status.details?.causes?.[0]?.field, 'metadata.name');
    const mismatch = await rejects(
      api.client.requestJSON('POST', '/api/v1/namespaces/default/configmaps', {
        body: { metadata: { name: 'm', namespace: 'kube-system' } },
      }),
      400,
    );
    assert.equal(
      mismatch.message,
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  });

  it('updates with CAS on resourceVersion and keeps no-op updates unwritten', async () => {
    const cur = await api.client.get(R.configmaps, 'default', 'a');
    const same = await api.client.update(R.configmaps, cur);
    assert.equal(same.metadata?.resourceVersion, cur.metadata?.resourceVersion);
    const changed = await api.client.update(R.configmaps, { ...cur, data: { k: 'v2' } });
    assert.notEqual(changed.metadata?.resourceVersion, cur.metadata?.resourceVersion);
    assert.equal(changed.metadata?.uid, cur.metadata?.uid);
    const err = await rejects(api.client.update(R.configmaps, { ...cur, data: { k: 'v3' } }), 409);
    assert.equal(err.reason, 'Conflict');
    assert.equal(
      err.message,
      'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('filters lists with label and field selectors', async () => {
    await api.client.create(R.configmaps, cm('l1', { tier: 'web', env: 'prod' }));
    await api.client.create(R.configmaps, cm('l2', { tier: 'db', env: 'prod' }));
    await api.client.create(R.configmaps, cm('l3', { tier: 'web' }));
    const names = async (opts: { labelSelector?: string; fieldSelector?: string }) =>
      (await api.client.list(R.configmaps, { namespace: 'default', ...opts })).items
        .map((o) => o.metadata?.name)
        .filter((n) => n?.startsWith('l'));
    assert.deepEqual(await names({ labelSelector: 'tier=web' }), ['l1', 'l3']);
    assert.deepEqual(await names({ labelSelector: 'tier==web,env' }), ['l1']);
    assert.deepEqual(await names({ labelSelector: 'tier!=web' }), ['l2']);
    assert.deepEqual(await names({ labelSelector: 'tier in (db, web),!env' }), ['l3']);
    assert.deepEqual(await names({ labelSelector: 'tier notin (web)' }), ['l2']);
    assert.deepEqual(await names({ fieldSelector: 'metadata.name=l2' }), ['l2']);
    assert.deepEqual(
      await names({ fieldSelector: 'metadata.name!=l2,metadata.namespace==default' }),
      ['l1', 'l3'],
    );
    await rejects(api.client.list(R.configmaps, { labelSelector: 'a in (' }), 400);
    await rejects(api.client.list(R.configmaps, { fieldSelector: 'nonsense' }), 400);
    const all = await api.client.list(R.configmaps);
    assert.ok(all.items.length >= 4);
    assert.ok(Number(all.metadata.resourceVersion) > 0);
  });

  it('watches from a resourceVersion, delivering only later changes', async () => {
    const list = await api.client.list(R.configmaps, { namespace: 'default' });
    const events: WatchEvent[] = [];
    const ac = new AbortController();
    const done = api.client
      .watch(
        R.configmaps,
        {
          namespace: 'default',
          resourceVersion: list.metadata.resourceVersion,
          signal: ac.signal,
          labelSelector: 'w=1',
        },
        (ev) => {
          events.push(ev);
          if (events.length === 3) ac.abort();
        },
      )
      .catch((err: unknown) => {
        // Aborting the request ends the stream with an abort/reset error: expected here.
        if (!ac.signal.aborted) throw err;
      });
    await new Promise((r) => setTimeout(r, 50));
    const w = await api.client.create(R.configmaps, cm('w', { w: '1' }));
    await api.client.patch(R.configmaps, 'default', 'w', { data: { x: 'y' } });
    await api.client.delete(R.configmaps, 'default', 'w');
    await done;
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    assert.equal(events[0]!.object.metadata?.uid, w.metadata?.uid);
    const deleted = events[2]!.object;
    assert.deepEqual((deleted as KObject & { data: unknown }).data, { x: 'y' });
    assert.ok(
      Number(deleted.metadata?.resourceVersion) >
        Number(events[1]!.object.metadata?.resourceVersion),
    );
  });

  it('watches without resourceVersion: current state first as ADDED', async () => {
    const events: WatchEvent[] = [];
    const ac = new AbortController();
    await api.client
      .watch(R.namespaces, { signal: ac.signal, fieldSelector: 'metadata.name=default' }, (ev) => {
        events.push(ev);
        ac.abort();
      })
      .catch(() => undefined);
    assert.equal(events[0]?.type, 'ADDED');
    assert.equal(events[0]?.object.metadata?.name, 'default');
  });

  it('ends a watch after timeoutSeconds', async () => {
    const res = await api.client.request('GET', '/api/v1/namespaces/default/configmaps', {
      query: {
        watch: 'true',
        resourceVersion: String(api.backend.currentRevision()),
        timeoutSeconds: 1,
      },
    });
    assert.equal(res.status, 200);
  });

  it('sends 410 Expired in-stream for a compacted resourceVersion', async () => {
    await api.client.create(R.configmaps, cm('c1'));
    await api.client.create(R.configmaps, cm('c2'));
    api.backend.compact(api.backend.currentRevision());
    const res = await api.client.request('GET', '/api/v1/namespaces/default/configmaps', {
      query: { watch: 'true', resourceVersion: '1' },
    });
    assert.equal(res.status, 200);
    const ev = JSON.parse(res.body.toString()) as WatchEvent<{ code: number; reason: string }>;
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
    assert.equal(ev.object.reason, 'Expired');
  });

  it('deletes with a Status answer naming the object', async () => {
    const created = await api.client.create(R.configmaps, cm('del'));
    const status = await api.client.delete<
      KObject & { status: string; details: Record<string, string> }
    >(R.configmaps, 'default', 'del');
    assert.equal(status.kind, 'Status');
    assert.equal(status.status, 'Success');
    assert.deepEqual(status.details, {
      name: 'del',
      kind: 'configmaps',
      uid: created.metadata?.uid,
    });
    await rejects(api.client.get(R.configmaps, 'default', 'del'), 404);
  });
});
