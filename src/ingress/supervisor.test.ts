// Tests of the ingress supervisor with small fake workers (plain JavaScript speaking its protocol):
// every worker accepts from the port the supervisor holds, the port stays open and queues
// connections while no worker is alive, and a dead worker is replaced.
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { realClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { freePort } from '../lib/testing-ports.js';
import type { StatsReport } from './stats.js';
import { runSupervisor } from './supervisor.js';

// A fake worker: says it booted, accepts from each server it is given and serves the connections
// passed to it, answering its pid; syncs ("ready") 300 ms after booting, and answers stats
// requests with one request counted.
const fakeWorker = `
const http = require('node:http');
const server = http.createServer((q, s) => s.end(String(process.pid)));
process.on('message', (m, handle) => {
  if (m.type === 'skiff-ingress-listen') {
    handle.on('connection', (c) => server.emit('connection', c));
  } else if (m.type === 'skiff-ingress-conn') {
    server.emit('connection', handle);
    process.send({ type: 'skiff-ingress-conn-taken', id: m.id });
  } else if (m.type === 'skiff-ingress-stats?') {
    process.send({ type: 'skiff-ingress-stats', id: m.id,
      snapshot: { requests: 1, errors: 0, status: { '2xx': 1 }, histogram: {} } });
  }
});
process.send({ type: 'skiff-ingress-booted' });
setTimeout(() => process.send({ type: 'skiff-ingress-ready' }), 300);
`;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-supervisor-'));
  writeFileSync(join(dir, 'worker.cjs'), fakeWorker);
  // No execArgv: the fake worker is plain JavaScript (tsx would only slow its start).
  cluster.setupPrimary({ exec: join(dir, 'worker.cjs'), execArgv: [], silent: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** GET on a fresh connection: the status and body, or the error code. */
function get(port: number, path = '/'): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('timeout'));
      });
  });
}

const workerPids = (): number[] =>
  Object.values(cluster.workers ?? {}).flatMap((w) => (w?.process.pid ? [w.process.pid] : []));

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined) {
  for (let i = 0; i < 200; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await realClock.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('workers accept from the held port; it stays open and queues while none is alive', async () => {
  const port = await freePort();
  const statusPort = await freePort();
  const ac = new AbortController();
  const done = runSupervisor({
    workers: 2,
    httpPort: port,
    fallbackPort: port,
    bindAddresses: async () => ['127.0.0.1'],
    statusPort,
    statusAddress: '127.0.0.1',
    log: createLogger({ component: 'supervisor-test' }),
    signal: ac.signal,
  });
  try {
    const stats = async () => {
      const r = await get(statusPort, '/stats');
      return typeof r === 'string' ? undefined : (JSON.parse(r.body) as StatsReport);
    };
    // Both workers end up listening (the second once synced) and both answer.
    await until('two listening workers', async () => {
      const s = await stats();
      return s?.supervisor?.listening === 2 ? s : undefined;
    });
    const first = workerPids();
    assert.equal(first.length, 2);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const r = await get(port);
      assert.equal(typeof r, 'object', `request ${i}: ${String(r)}`);
      if (typeof r === 'object') seen.add(r.body);
    }
    assert.ok(
      [...seen].every((p) => first.includes(Number(p))),
      `answered by ${[...seen]} of ${first}`,
    );

    // One worker dies: the other keeps serving at once.
    const [a, b] = first as [number, number];
    process.kill(a, 'SIGKILL');
    await until('the exit', () => (workerPids().includes(a) ? undefined : true));
    const r1 = await get(port);
    assert.deepEqual(r1, { status: 200, body: String(b) });

    // The counters so far reach the supervisor (workers report them periodically).
    const sent = (
      await until('the counters reported', async () => {
        const st = await stats();
        return st && st.requests >= 2 ? st : undefined;
      })
    ).requests;

    // Every worker dies: the port stays listening, the connection waits in the backlog and the
    // replacement answers it.
    const rest = workerPids();
    for (const pid of rest) process.kill(pid, 'SIGKILL');
    const queued = get(port);
    const r2 = await queued;
    assert.equal(typeof r2, 'object', `queued request: ${String(r2)}`);
    if (typeof r2 === 'object') {
      assert.equal(r2.status, 200);
      assert.ok(!first.includes(Number(r2.body)), `answered by a replacement, not ${r2.body}`);
    }
    const s = await until('two workers again', async () => {
      const st = await stats();
      return st?.supervisor?.workers === 2 && st.supervisor.synced === 2 ? st : undefined;
    });
    // a, then whoever was alive (b, and a's replacement if it was up already).
    assert.equal(s.supervisor?.restarts, 1 + rest.length, 'each death replaced');
    const after = await until('the replacement’s count', async () => {
      const st = await stats();
      return st && st.requests > sent ? st : undefined;
    });
    assert.ok(after.requests > sent, 'counters of live workers (and of the dead ones seen) add up');
  } finally {
    ac.abort();
    await done;
  }
  assert.deepEqual(workerPids(), []);
  assert.equal(await get(port), 'ECONNREFUSED', 'the port closes with the supervisor');
});
