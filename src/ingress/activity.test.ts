// Tests of the ingress's activity reporting (scale to zero) against a real test API server and a
// FakeClock: which Services count, renewals paced by the interval, the immediate wake-up renewal
// of a held request at zero, cold-start counting, and renewals while requests are held.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import {
  activityLeaseName,
  activityServiceLabel,
  activityWorkloadLabel,
} from '../api/scale-to-zero.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import type { KObject } from '../client/rest.js';
import { FakeClock } from '../lib/clock.js';
import { ActivityReporter } from './activity.js';
import { TrafficStats } from './stats.js';

let api: TestApiServer;
const clock = new FakeClock();
const stats = new TrafficStats({ clock });
let reporter: ActivityReporter;
const ac = new AbortController();

const renewTime = async (svc: string): Promise<number | undefined> => {
  const l = await api.client.get<Lease & KObject>(R.leases, 'default', activityLeaseName(svc));
  const t = l.spec?.renewTime ? Date.parse(l.spec.renewTime) : undefined;
  return t;
};

/** Lets the patches the reporter sent reach the API (real I/O, bounded). */
async function settled(svc: string, want: number | undefined): Promise<number | undefined> {
  let got: number | undefined;
  for (let i = 0; i < 200; i++) {
    got = await renewTime(svc);
    if (got === want) return got;
    await new Promise((r) => setTimeout(r, 5));
  }
  return got;
}

before(async () => {
  api = await startTestApiServer({ clock });
  await api.client.create(R.leases, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: activityLeaseName('web'),
      namespace: 'default',
      labels: { [activityServiceLabel]: 'web', [activityWorkloadLabel]: 'web' },
    },
    spec: { leaseDurationSeconds: 60 },
  });
  reporter = new ActivityReporter({ client: api.client, clock, stats, intervalMs: 1000 });
  await reporter.start(ac.signal);
});
after(async () => {
  ac.abort();
  await api.close();
});

test('only Services with an activity Lease count', () => {
  assert.equal(reporter.scalesFromZero('default', 'web'), true);
  assert.equal(reporter.scalesFromZero('default', 'other'), false);
  assert.equal(reporter.active, true);
  // Nothing to write for a Service without a Lease (its patch would fail: no such Lease).
  reporter.seen('default', 'other');
});

test('requests renew the Lease once per interval, with the latest request time', async () => {
  const t0 = clock.now();
  reporter.seen('default', 'web');
  clock.advance(300);
  reporter.seen('default', 'web');
  assert.equal(await renewTime('web'), undefined, 'not before the interval');
  clock.advance(700);
  assert.equal(await settled('web', t0 + 300), t0 + 300);
  // An older time (nginx's per-second counter) never moves it back.
  reporter.seen('default', 'web', t0);
  clock.advance(1000);
  assert.equal(await settled('web', t0 + 300), t0 + 300);
});

test('a request held at zero renews at once and counts one cold start per episode', async () => {
  const before = stats.snapshot().events?.coldStart ?? 0;
  clock.advance(50);
  const at = clock.now();
  reporter.held('default', 'web');
  reporter.held('default', 'web');
  clock.advance(0);
  assert.equal(await settled('web', at), at, 'written without waiting for the interval');
  assert.equal((stats.snapshot().events?.coldStart ?? 0) - before, 1);
  // While they are held, the Lease keeps being renewed (a cold start longer than the window).
  clock.advance(1000);
  assert.equal(await settled('web', at + 1000), at + 1000);
  reporter.holding('default', 'web', -1);
  reporter.holding('default', 'web', -1);
  reporter.endpointsAppeared('default', 'web');
  clock.advance(1000);
  assert.equal(await settled('web', at + 1000), at + 1000, 'no renewal once nothing is held');
  reporter.held('default', 'web');
  reporter.holding('default', 'web', -1);
  assert.equal((stats.snapshot().events?.coldStart ?? 0) - before, 2, 'a new episode');
});
