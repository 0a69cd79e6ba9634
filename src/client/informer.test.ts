import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { findResource } from '../api/resources.js';
import { Informer } from './informer.js';
import { KubeClient } from './rest.js';

const pods = findResource('', 'v1', 'pods')!;

interface Obj {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion: string;
    labels?: Record<string, string>;
  };
}
const pod = (name: string, rv: string, labels?: Record<string, string>): Obj => ({
  metadata: { name, namespace: 'default', resourceVersion: rv, labels },
});

/** A scripted API server: each list answers the next list script, each watch the next watch script. */
function fakeServer(script: {
  lists: { rv: string; items: Obj[] }[];
  watches: ((res: http.ServerResponse, url: URL) => void)[];
}) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(url.search);
    if (url.searchParams.get('watch') === 'true') {
      const next = script.watches.shift();
      if (!next) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return; // hang until the client aborts
      }
      next(res, url);
      return;
    }
    const list = script.lists.shift() ?? { rv: '999', items: [] };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'PodList',
        metadata: { resourceVersion: list.rv },
        items: list.items,
      }),
    );
  });
  return { server, seen };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not reached');
}

describe('Informer', () => {
  const ctrl = new AbortController();
  const servers: http.Server[] = [];
  after(() => {
    ctrl.abort();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('lists, applies watch events and relists on 410, reporting deletes found by the relist', async () => {
    const { server, seen } = fakeServer({
      lists: [
        { rv: '10', items: [pod('a', '5', { app: 'web' }), pod('b', '6')] },
        { rv: '20', items: [pod('a', '15', { app: 'web' }), pod('c', '18')] },
      ],
      watches: [
        (res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write(
            `${JSON.stringify({ type: 'MODIFIED', object: pod('a', '11', { app: 'web' }) })}\n`,
          );
          res.end();
        },
        (res) => {
          res.writeHead(410, { 'Content-Type': 'application/json' });
          res.end(
            JSON.stringify({
              kind: 'Status',
              status: 'Failure',
              reason: 'Expired',
              code: 410,
              message: 'too old resource version',
            }),
          );
        },
      ],
    });
    servers.push(server);
    const client = new KubeClient({ config: { server: await listen(server) } });
    const inf = new Informer<Obj & { [k: string]: unknown }>({
      client,
      resource: pods,
      backoff: { initialMs: 1, maxMs: 2 },
    });
    const events: string[] = [];
    inf.addEventHandler({
      onAdd: (o) => events.push(`add ${o.metadata.name}`),
      onUpdate: (_o, n) => events.push(`update ${n.metadata.name}@${n.metadata.resourceVersion}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    assert.equal(inf.hasSynced(), false);
    inf.start(ctrl.signal);
    await inf.waitForSync(ctrl.signal);
    assert.equal(inf.lister.list('default').length, 2);
    await until(() => seen.filter((q) => q.includes('watch=true')).length >= 3);
    assert.deepEqual(events, ['add a', 'add b', 'update a@11', 'update a@15', 'add c', 'delete b']);
    assert.equal(inf.lister.get('default', 'b'), undefined);
    assert.deepEqual(
      inf.lister.list('default', 'app=web').map((o) => o.metadata.name),
      ['a'],
    );
    assert.deepEqual(inf.lister.list('other'), []);
    // The first watch resumes from the list RV; the second from the event RV; then a relist.
    const watches = seen.filter((q) => q.includes('watch=true'));
    assert.match(watches[0] ?? '', /resourceVersion=10/);
    assert.match(watches[1] ?? '', /resourceVersion=11/);
    assert.match(watches[2] ?? '', /resourceVersion=20/);
    client.close();
  });

  it('relists after an ERROR watch event', async () => {
    const { server } = fakeServer({
      lists: [
        { rv: '1', items: [pod('x', '1')] },
        { rv: '9', items: [pod('y', '9')] },
      ],
      watches: [
        (res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(
            `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'gone' } })}\n`,
          );
        },
      ],
    });
    servers.push(server);
    const client = new KubeClient({ config: { server: await listen(server) } });
    const inf = new Informer<Obj & { [k: string]: unknown }>({
      client,
      resource: pods,
      backoff: { initialMs: 1, maxMs: 2 },
    });
    inf.start(ctrl.signal);
    await inf.waitForSync();
    await until(() => inf.lister.get('default', 'y') !== undefined);
    assert.equal(inf.lister.get('default', 'x'), undefined);
    assert.equal(inf.lastSyncResourceVersion, '9');
    client.close();
  });
});
