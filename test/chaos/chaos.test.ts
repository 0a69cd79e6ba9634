// Chaos under load, short CI version of bench/chaos.ts: 15 s of paced load through the ingress
// while apps are killed every second, pods deleted every 2 s and the ingress controller SIGKILLed
// once; no transport failure and no 5xx outside the ingress outage, every replica restored. A
// request whose reused keep-alive connection died before any byte is sent again (as browsers and
// curl do) and reported as retried.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatFigureTable } from '../../bench/lib/figures.js';
import { chaosFigures, runChaos } from './lib/chaos.js';
import { bootCluster, type ChaosCluster, deploySeedApp } from './lib/cluster.js';

let c: ChaosCluster | undefined;

before(async () => {
  c = await bootCluster();
  await deploySeedApp(c, { replicas: 3 });
});
after(async () => {
  await c?.skiff.stop();
});

test('chaos under load: no failed request outside the ingress outage, replicas restored', async () => {
  assert.ok(c);
  const r = await runChaos(c, {
    durationMs: 15_000,
    rate: 50,
    killIngressAtMs: 5_000,
    log: (l) => process.stdout.write(`# ${l}\n`),
  });
  process.stdout.write(
    formatFigureTable(chaosFigures(r))
      .split('\n')
      .map((l) => `# ${l}`)
      .join('\n'),
  );
  assert.ok(r.load.sent > 500, `sent ${r.load.sent}`);
  assert.ok(r.appKills.done >= 1, `app kills ${r.appKills.done}`);
  // Deletes run every 2 s; a slow kubectl on a loaded machine may fit fewer into 15 s.
  assert.ok(r.podDeletes.done >= 3, `pod deletes ${r.podDeletes.done}`);
  assert.equal(r.replicas.ready, r.replicas.desired, 'every replica ready again');
  assert.ok(r.ingressOutageMs !== undefined, 'the ingress came back after its kill');
  // Outside the ingress kill no request may fail: the ingress holds requests while no endpoint
  // is ready, retries another endpoint after a connect error or a reset before the answer, and
  // reads small answers whole (a killed app between its headers and its body was the source of
  // the 1-3 resets per run of issue #8). Requests in flight in the killed ingress worker are
  // counted inside the outage.
  const outside = r.outsideIngressOutage;
  const transport =
    outside.byKind.connect + outside.byKind.reset + outside.byKind.timeout + outside.byKind.other;
  const fiveXX = Object.entries(outside.statusCodes)
    .filter(([code]) => code.startsWith('5'))
    .reduce((n, [, v]) => n + v, 0);
  // Every ingress worker accepts from the port the supervisor holds, so a worker's death leaves
  // the others serving and its clients' reconnections go straight to them (no hand-off queue).
  assert.equal(
    transport,
    0,
    `transport failures outside the outage: ${JSON.stringify(outside.byKind)} of ${r.load.sent}`,
  );
  assert.equal(fiveXX, 0, `5xx outside the outage: ${JSON.stringify(outside.statusCodes)}`);
});
