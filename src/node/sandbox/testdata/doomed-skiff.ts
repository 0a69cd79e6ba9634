// Test fixture of reaper.test.ts: a stand-in Skiff that holds (or starts) the data dir's shim
// reaper, starts one pod shim running `sleep`, prints the pids and waits to be killed with -9.
import { realClock } from '../../../lib/clock.js';
import { ShimReaper } from '../reaper.js';
import { launchSandbox } from '../sandbox.js';

const [dir, podDir] = process.argv.slice(2);
if (!dir || !podDir) throw new Error('usage: doomed-skiff.ts <data dir> <pod dir>');
const reaper = await ShimReaper.open({ dir });
const sb = await launchSandbox(reaper, { isolated: false }).configure({
  podDir,
  hostname: 'doomed',
  isolated: false,
  mounts: [],
});
await sb.client.start({
  name: 'app',
  attempt: 0,
  argv: ['sleep', '60'],
  env: { PATH: '/usr/bin:/bin' },
  cwd: '/',
  cgroupProcs: [],
  logFile: 'app.log',
});
process.stdout.write(`${JSON.stringify({ shimPid: sb.shimPid, reaperPid: reaper.pid })}\n`);
// Stay until killed: the timer keeps the event loop alive.
realClock.setTimeout(() => process.exit(3), 60_000);
