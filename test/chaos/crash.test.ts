// Control-plane crash, short CI version of bench/crash.ts: kill -9 of `skiff up` while ConfigMaps
// are written and load flows through the ingress, then a restart on the same data dir.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatFigureTable } from '../../bench/lib/figures.js';
import { bootCluster, type ChaosCluster, deploySeedApp } from './lib/cluster.js';
import { crashFigures, runCrash } from './lib/crash.js';

let c: ChaosCluster | undefined;

before(async () => {
  c = await bootCluster();
  await deploySeedApp(c, { replicas: 2 });
});
after(async () => {
  await c?.skiff.stop();
});

test('kill -9 of skiff up: no acknowledged write lost, pods keep running and serving', async () => {
  assert.ok(c);
  const r = await runCrash(c, {
    rate: 50,
    beforeMs: 3000,
    outageMs: 3000,
    afterMs: 5000,
    log: (l) => process.stdout.write(`# ${l}\n`),
  });
  process.stdout.write(
    formatFigureTable(crashFigures(r))
      .split('\n')
      .map((l) => `# ${l}`)
      .join('\n'),
  );
  assert.ok(r.acknowledged > 5, `acknowledged ${r.acknowledged}`);
  assert.deepEqual(r.missing, [], 'every acknowledged ConfigMap is present');
  assert.deepEqual(r.mismatched, [], 'no duplicate or missing pods per ReplicaSet');
  for (const p of r.pods) {
    assert.equal(p.restartsAfter, p.restartsBefore, `${p.name} kept its restart count`);
    assert.ok(p.readyAfter, `${p.name} still ready`);
  }
  assert.ok(r.duringOutage.sent > 50, `requests during the outage ${r.duringOutage.sent}`);
  assert.equal(
    r.duringOutage.failed,
    0,
    `no failed request during the outage: ${JSON.stringify(r.duringOutage.byKind)}`,
  );
});
