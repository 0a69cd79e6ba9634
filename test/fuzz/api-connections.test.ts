// Connection abuse against the API server (issue #8): slowloris clients must not block others and
// must be cut off; 2,000 concurrent watches must all get events, and closing them must return
// file descriptors and memory to the baseline.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { countFds } from '../../bench/lib/proc.js';
import { startTestApiServer, type TestApiServer } from '../../src/apiserver/testing.js';
import { realClock } from '../../src/lib/clock.js';
import { closeAgent, send } from './lib.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** A client that sends the request head one byte at a time and never finishes it. */
function slowloris(port: number, intervalMs: number): { socket: net.Socket; stop(): void } {
  const head = `GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\n${'X-Slow: a\r\n'.repeat(500)}`;
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let i = 0;
  const tick = () => {
    if (socket.destroyed || i >= head.length) return;
    socket.write(head[i++]!);
    timer = realClock.setTimeout(tick, intervalMs);
  };
  let timer = realClock.setTimeout(tick, 0);
  return {
    socket,
    stop() {
      timer.cancel();
      socket.destroy();
    },
  };
}

async function settle(probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = realClock.now() + timeoutMs;
  while (realClock.now() < deadline) {
    if (probe()) return true;
    await realClock.sleep(50);
  }
  return probe();
}

describe('API server connection abuse', () => {
  let api: TestApiServer;

  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    closeAgent();
    await api.close();
  });

  it('keeps serving other clients while 100 slowloris clients trickle headers', async () => {
    const slow = Array.from({ length: 100 }, () => slowloris(api.port, 100));
    try {
      for (let i = 0; i < 20; i++) {
        const t0 = realClock.now();
        const a = await send(api.url, { path: '/api/v1/namespaces/default', timeoutMs: 2000 });
        assert.equal(a.status, 200);
        assert.ok(realClock.now() - t0 < 1000, 'a normal request waited behind slow clients');
        await realClock.sleep(100);
      }
      assert.ok(
        slow.filter((s) => !s.socket.destroyed).length > 0,
        'slow clients were cut after 2 s (unexpectedly early)',
      );
    } finally {
      for (const s of slow) s.stop();
    }
  });

  // The production limit is Node's 60 s; a server of its own with 3 s keeps this test short.
  it('cuts off a client whose request head never completes', async () => {
    const quick = await startTestApiServer({ headersTimeoutMs: 3000 });
    const s = slowloris(quick.port, 200);
    try {
      const closed = new Promise<number>((resolve) => {
        const t0 = realClock.now();
        s.socket.on('close', () => resolve(realClock.now() - t0));
      });
      const ms = await Promise.race([closed, realClock.sleep(10_000).then(() => -1)]);
      assert.ok(ms >= 0, 'the server kept a slow header read open for 10 s (limit 3 s)');
      assert.ok(ms >= 2500, `cut after ${ms} ms, before the 3 s limit`);
    } finally {
      s.stop();
      await quick.close();
    }
  });

  it('serves 2,000 concurrent watches and frees their fds and memory when they close', async (t) => {
    const fds0 = countFds();
    // Round 1 also pays one-time costs (parser pools, lazily grown caches); round 2 must not grow.
    const heap1 = await watchRound(api, 2000, 'r1');
    assert.ok(
      await settle(() => countFds() <= fds0 + 10, 10_000),
      `fds: ${fds0} before, ${countFds()} after closing 2,000 watches`,
    );
    const heap2 = await watchRound(api, 2000, 'r2');
    const grown = (heap2 - heap1) / 1024 / 1024;
    t.diagnostic(
      `fds ${fds0} → ${countFds()}; heap after round 1 ${(heap1 / 1048576).toFixed(1)} MB, round 2 ${(heap2 / 1048576).toFixed(1)} MB`,
    );
    assert.ok(
      await settle(() => countFds() <= fds0 + 10, 10_000),
      `fds: ${fds0} before, ${countFds()} after the second round`,
    );
    assert.ok(grown < 4, `heap grew by ${grown.toFixed(1)} MB between two rounds of 2,000 watches`);
    const a = await send(api.url, { path: '/api/v1/namespaces/default/configmaps/r2' });
    assert.equal(a.status, 200);
  });
});

/**
 * Opens n watches (one socket each), writes one ConfigMap every watcher must see, closes them all
 * and returns the heap used after a GC.
 */
async function watchRound(api: TestApiServer, n: number, name: string): Promise<number> {
  const path = '/api/v1/namespaces/default/configmaps';
  const list = JSON.parse((await send(api.url, { path })).body.toString()) as {
    metadata: { resourceVersion: string };
  };
  const reqs: http.ClientRequest[] = [];
  const got = new Set<number>();
  const opened: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    opened.push(
      new Promise<void>((resolve, reject) => {
        const r = http.get(
          `${api.url}${path}?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
          { agent: false },
          (res) => {
            if (res.statusCode !== 200) reject(new Error(`watch ${i}: ${res.statusCode}`));
            res.on('data', () => got.add(i));
            res.on('error', () => undefined);
            resolve();
          },
        );
        r.on('error', (err) => {
          if (!r.destroyed) reject(err);
        });
        reqs.push(r);
      }),
    );
    // Open in batches so the accept queue is not the thing under test.
    if (i % 200 === 199) await Promise.all(opened.slice(i - 199));
  }
  await Promise.all(opened);
  const created = await send(api.url, {
    method: 'POST',
    path,
    body: { metadata: { name }, data: { a: 'b' } },
  });
  assert.equal(created.status, 201);
  assert.ok(await settle(() => got.size === n, 10_000), `only ${got.size}/${n} watchers got it`);
  for (const r of reqs) r.destroy();
  await realClock.sleep(1500);
  gc();
  await realClock.sleep(200);
  gc();
  return process.memoryUsage().heapUsed;
}
