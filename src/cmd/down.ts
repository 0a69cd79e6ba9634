// `skiff down`: stops the cluster of a data dir (SIGTERM to the running `skiff up`, which stops its
// pods and network) or, when none runs, removes what a crashed run left behind.
import { dataDirLayout, isProcessAlive, runningPid } from '../lib/data-dir.js';
import { errorMessage } from '../lib/errors.js';

/** Runs `skiff down`; returns the exit code. */
export async function downCommand(opts: { dataDir?: string }): Promise<number> {
  const layout = dataDirLayout(opts.dataDir);
  const pid = runningPid(layout);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (isProcessAlive(pid) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    if (isProcessAlive(pid)) {
      process.stderr.write(`error: skiff (pid ${pid}) did not stop within 60 s\n`);
      return 1;
    }
    process.stdout.write(`Skiff stopped (pid ${pid}).\n`);
    return 0;
  }
  try {
    // Loaded only here: the server's module graph costs most of a second to load, which a
    // `skiff down` of a running cluster never needs.
    const { cleanupLeftovers } = await import('./server.js');
    const removed = await cleanupLeftovers({ dataDir: layout.root });
    process.stdout.write(
      removed
        ? 'Skiff was not running; removed the pods and network it left behind.\n'
        : 'Skiff is not running.\n',
    );
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
}
