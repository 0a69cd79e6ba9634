// The pod shim without namespaces (reduced mode, no root needed): config over stdin, double fork,
// container start, immediate exit report, CRI log lines, shutdown, and the warm spare pool.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FakeClock, realClock } from '../../lib/clock.js';
import type { ShimContainer } from '../runtime/shim-client.js';
import { readProcStat } from './proc.js';
import { launchSandbox, ShimPool } from './sandbox.js';

const parentOf = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);

test('a shim runs a container, reports its exit at once and stops cleanly', async (t) => {
  const podDir = mkdtempSync(path.join(tmpdir(), 'skiff-shim-'));
  t.after(() => rmSync(podDir, { recursive: true, force: true }));
  const sb = await launchSandbox().configure({
    podDir,
    hostname: 'p',
    isolated: false,
    mounts: [],
  });
  assert.notEqual(parentOf(sb.shimPid), process.pid, 'double fork: Skiff is not its parent');
  const exited = new Promise<ShimContainer>((resolve) => sb.client.onExit(resolve));
  const started = await sb.client.start({
    name: 'app',
    attempt: 0,
    argv: ['sh', '-c', 'echo hello; echo oops >&2; sleep 0.05; exit 4'],
    env: { PATH: '/usr/bin:/bin' },
    cwd: '/',
    cgroupProcs: [],
    logFile: 'app.log',
  });
  assert.ok(started.pid > 0);
  const c = await exited;
  const latency = realClock.now() - Date.parse(c.exit?.finishedAt ?? '');
  assert.equal(c.exit?.exitCode, 4);
  assert.ok(latency < 1000, `exit reported ${latency} ms after it happened`);
  const log = readFileSync(path.join(podDir, 'app.log'), 'utf8');
  assert.match(log, /^\S+ stdout F hello$/m);
  assert.match(log, /^\S+ stderr F oops$/m);
  const state = await sb.client.state();
  assert.equal(state['app']?.exit?.exitCode, 4);
  await sb.stop(realClock);
  const st = readProcStat(sb.shimPid);
  assert.ok(!st || st.state === 'Z' || st.state === 'X', 'shim gone');
});

test('the pool hands out a warm spare and refills later', async (t) => {
  const clock = new FakeClock();
  const pool = new ShimPool({ size: 1, clock, refillMs: 1000 });
  t.after(() => pool.close());
  pool.fill();
  const first = pool.take();
  assert.equal(first.isUsable, true);
  first.abandon();
  const second = pool.take(); // none left: a fresh one
  assert.equal(second.isUsable, true);
  second.abandon();
  clock.advance(1000); // refill timer
  const third = pool.take();
  assert.equal(third.isUsable, true);
  third.abandon();
});
