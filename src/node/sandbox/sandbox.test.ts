// The pod shim without namespaces (reduced mode, no root needed): config over stdin, double fork
// (re-parented to the reaper, which reaps it), container start, immediate exit report, CRI log
// lines, shutdown, and the warm spare pool.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FakeClock, realClock } from '../../lib/clock.js';
import type { ShimContainer } from '../runtime/shim-client.js';
import { waitReaped } from '../testing.js';
import { SandboxPool } from './pool.js';
import { ShimReaper } from './reaper.js';
import { launchSandbox } from './sandbox.js';

const parentOf = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);

test('a shim runs a container, reports its exit at once and stops cleanly', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'skiff-shim-'));
  const podDir = path.join(dir, 'pod');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const reaper = await ShimReaper.open({ dir });
  const sb = await launchSandbox(reaper, { isolated: false }).configure({
    podDir,
    hostname: 'p',
    isolated: false,
    mounts: [],
  });
  assert.equal(parentOf(sb.shimPid), reaper.pid, 'double fork: the reaper is its parent');
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
  await waitReaped(sb.shimPid);
  // Nothing left to reap and nobody holding it: the reaper exits and this process reaps it.
  await reaper.release(realClock);
  await waitReaped(reaper.pid);
});

test('the pool hands out a warm spare and refills later', async (t) => {
  const clock = new FakeClock();
  const dir = mkdtempSync(path.join(tmpdir(), 'skiff-pool-'));
  const pool = new SandboxPool({ dir, size: 1, clock, isolated: false, refillMs: 1000 });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await pool.open();
  const reaperPid = pool.reaper.pid;
  const first = pool.take();
  assert.equal(first.isUsable, true);
  await first.abandon();
  const second = pool.take(); // none left: a fresh one
  assert.equal(second.isUsable, true);
  await second.abandon();
  clock.advance(1000); // refill timer
  const third = pool.take();
  assert.equal(third.isUsable, true);
  await third.abandon();
  await pool.release();
  await waitReaped(reaperPid);
});
