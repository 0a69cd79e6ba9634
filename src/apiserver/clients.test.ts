// Issue 15's API surface, driven by clients nobody on this project wrote: the real kubectl and the
// official Python client (Debian's python3-kubernetes) against a TLS API server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type KubectlTestServer, startKubectlTestServer } from './testing.js';

const run = promisify(execFile);
/** Debian's python3 (python3-kubernetes lives there, not in a pyenv one earlier on PATH). */
const python = '/usr/bin/python3';

/** Runs a Python snippet with the kubeconfig path as argv[1]; returns stdout. */
async function py(t: KubectlTestServer, code: string): Promise<string> {
  const { stdout } = await run(python, ['-c', code, join(t.dir, 'kubeconfig')], {
    timeout: 30_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return stdout;
}

describe('API surface for every client', { timeout: 120_000 }, () => {
  let t: KubectlTestServer;
  before(async () => {
    t = await startKubectlTestServer();
  });
  after(() => t?.close());

  it('the Python client watches (it sends watch=True)', async () => {
    const c = await t.kubectl('create', 'configmap', 'py-watch', '--from-literal=k=v');
    assert.equal(c.code, 0, c.err);
    const out = await py(
      t,
      `
import sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
w = watch.Watch()
for ev in w.stream(v1.list_namespaced_config_map, namespace='default', timeout_seconds=10):
    print(ev['type'], ev['object'].metadata.name, flush=True)
    if ev['object'].metadata.name == 'py-watch':
        w.stop()
`,
    );
    assert.match(out, /^ADDED py-watch$/m);
  });
});
