// Test helpers around a real registry: Debian's `docker-registry` on 127.0.0.1 with a config of
// its own, images pushed into it with skopeo from an OCI layout the test wrote.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../lib/testing-ports.js';

const run = promisify(execFile);

/** A free TCP port (src/lib/testing-ports.ts says why not port 0). */
export { freePort };
/** A running docker-registry. */
export interface TestRegistry {
  /** host:port */
  host: string;
  stop(): Promise<void>;
}

/** Starts `docker-registry serve` on a free loopback port with storage under dir. */
export async function startDockerRegistry(dir: string): Promise<TestRegistry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: error }',
      `storage: { filesystem: { rootdirectory: ${path.join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null) throw new Error('docker-registry exited at start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    stop: async () => {
      if (child.exitCode === null) child.kill();
      // A registry draining connections must not hold the test file open.
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** Pushes `oci:<layout>:<ref>` to `docker://<host>/<repo>` with skopeo (all platforms). */
export async function skopeoPush(layout: string, ref: string, dest: string): Promise<void> {
  await run('skopeo', [
    'copy',
    '--quiet',
    '--all',
    '--preserve-digests',
    '--dest-tls-verify=false',
    `oci:${layout}:${ref}`,
    `docker://${dest}`,
  ]);
}
