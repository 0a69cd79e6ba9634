// The shim reaper across a killed Skiff (no root needed): a stand-in Skiff starts a shim through
// the reaper and is killed with -9; the next one adopts the same reaper, stops the shim and no
// zombie remains. A small subreaper stands in for a host init that reaps, so the test leaks nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { realClock } from '../../lib/clock.js';
import { waitReaped } from '../testing.js';
import { isProcessAlive } from './proc.js';
import { python, ShimReaper } from './reaper.js';
import { attachSandbox, launchSandbox } from './sandbox.js';

const fixture = fileURLToPath(new URL('testdata/doomed-skiff.ts', import.meta.url));
const parentOf = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);

// Runs argv as its child and reaps every orphan below it until none is left.
const hostInit = `import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
if os.fork() == 0:
    os.execv(sys.argv[1], sys.argv[1:])
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
`;

test('shims of a Skiff killed with -9 are reaped after the next one adopts the reaper', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'skiff-reaper-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const podDir = path.join(dir, 'pods', 'doomed');
  const init = spawn(
    python,
    ['-c', hostInit, process.execPath, '--import', 'tsx', fixture, dir, podDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const initExited = new Promise((resolve) => init.once('exit', resolve));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    init.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    init.once('exit', () => reject(new Error(`stand-in Skiff exited: ${out}`)));
  });
  const { shimPid, reaperPid } = JSON.parse(line) as { shimPid: number; reaperPid: number };
  assert.equal(parentOf(shimPid), reaperPid, 'the shim is the reaper’s child');
  const doomed = parentOf(reaperPid);
  process.kill(doomed, 'SIGKILL');
  await waitReaped(doomed);
  assert.ok(isProcessAlive(reaperPid), 'the reaper outlives the killed Skiff');
  assert.ok(isProcessAlive(shimPid), 'so does the pod');

  const reaper = await ShimReaper.open({ dir });
  assert.equal(reaper.pid, reaperPid, 'the next Skiff adopts the same reaper');
  const sb = await attachSandbox(podDir);
  assert.equal(sb?.shimPid, shimPid);
  await sb?.stop(realClock);
  await waitReaped(shimPid);
  // New shims come from the adopted reaper too.
  const fresh = await launchSandbox(reaper, { isolated: false }).configure({
    podDir: path.join(dir, 'pods', 'fresh'),
    hostname: 'fresh',
    isolated: false,
    mounts: [],
  });
  assert.equal(parentOf(fresh.shimPid), reaperPid);
  await fresh.stop(realClock);
  await waitReaped(fresh.shimPid);
  // Released with nothing left to reap, the reaper exits; the stand-in init reaps it and ends.
  await reaper.release(realClock);
  await initExited;
  await waitReaped(reaperPid);
});
