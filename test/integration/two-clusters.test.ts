// Two clusters on one host (issue 18): a second `skiff up` on another data dir but the pod or
// service CIDR of a running one is refused with who holds it, and `skiff down` of a stopped data
// dir whose record names a range a running cluster now holds leaves that cluster alone. Before,
// the second node agent took the first one's pods (same bridge, netns and cgroup names) for
// orphans of a crash and killed them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { bootCluster, type ChaosCluster } from '../chaos/lib/cluster.js';
import { untilServing, type WebPod, webManifest } from '../chaos/lib/restart.js';
import { run, startSkiff } from './harness.js';

const skiffBin = resolve(import.meta.dirname, '..', '..', 'bin', 'skiff.js');

let c: ChaosCluster;
let pods: Map<string, WebPod>;

before(async () => {
  c = await bootCluster();
  await c.skiff.kubectlOk(['apply', '-f', '-'], { input: webManifest(2) });
  pods = (await untilServing(c, 2, 60_000)).pods;
});

after(async () => {
  await c?.skiff.stop();
});

/** The first cluster still serves with the very same pods, none restarted. */
async function firstClusterUntouched(): Promise<void> {
  const now = (await untilServing(c, 2, 30_000)).pods;
  assert.deepEqual(now, pods, 'same pod objects, same restart counts');
  const bridge = await run('ip', ['-br', 'link', 'show', 'dev', c.bridgeName]);
  assert.equal(bridge.code, 0, `bridge ${c.bridgeName} still there`);
}

function refusedBy(flag: string, what: string, cidr: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(
    `error: ${what} ${esc(cidr)} is in use by skiff \\(pid \\d+, data dir "${esc(c.skiff.dataDir)}"\\): ` +
      `stop it with "skiff down" or pick another ${flag}`,
  );
}

/** Starts a second cluster that must be refused; one that starts is stopped, then fails the test. */
async function refusedStart(args: string[]): Promise<string> {
  const second = await startSkiff({ args }).catch((err: Error) => err);
  if (second instanceof Error) return second.message;
  await second.stop();
  assert.fail(`a second skiff up with ${args.join(' ')} started`);
}

test('skiff up on the pod CIDR of a running cluster: refused, saying which; its pods untouched', async () => {
  const message = await refusedStart(['--pod-cidr', c.podCIDR]);
  assert.match(message, /skiff up exited with 1/);
  assert.match(message, refusedBy('--pod-cidr', 'pod CIDR', c.podCIDR));
  await firstClusterUntouched();
});

test('skiff up on the service CIDR of a running cluster: refused the same way', async () => {
  const message = await refusedStart(['--service-cidr', c.serviceCIDR]);
  assert.match(message, refusedBy('--service-cidr', 'service CIDR', c.serviceCIDR));
  await firstClusterUntouched();
});

test('skiff down of a crashed data dir whose pod CIDR a running cluster now holds: left alone', async (t) => {
  // What a run that crashed on this pod CIDR leaves: its record, no running skiff.
  const dir = mkdtempSync(join(tmpdir(), 'skiff-crashed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'cluster.json'),
    JSON.stringify({ nodeName: 'skiff', podCIDR: c.podCIDR }),
  );
  const r = await run(process.execPath, [skiffBin, 'down', '--data-dir', dir], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /pod CIDR \S+ is in use by skiff \(pid \d+, data dir "[^"]+"\): its pods and network were left alone/,
  );
  await firstClusterUntouched();
});
