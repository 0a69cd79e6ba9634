import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Event } from 'kubernetes-types/core/v1.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { FakeClock } from '../lib/clock.js';
import { EventRecorder } from './events.js';
import { R } from './resources.js';
import type { KObject } from './rest.js';

describe('EventRecorder', () => {
  let api: TestApiServer;
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  before(async () => {
    api = await startTestApiServer({ clock });
  });
  after(() => api.close());

  const obj = (name: string): KObject => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
  });
  const eventsOf = async (name: string) =>
    (await api.client.list<Event>(R.events, { namespace: 'default' })).items.filter(
      (e) => e.involvedObject.name === name,
    );

  it('writes upstream fields and counts identical repeats on one Event', async () => {
    const rec = new EventRecorder({
      client: api.client,
      component: 'replicaset-controller',
      clock,
    });
    rec.event(obj('a'), 'Normal', 'SuccessfulCreate', 'Created pod: a-1');
    clock.advance(2000);
    rec.event(obj('a'), 'Normal', 'SuccessfulCreate', 'Created pod: a-1');
    await rec.flush();
    const [ev, ...rest] = await eventsOf('a');
    assert.equal(rest.length, 0);
    assert.match(ev!.metadata!.name!, /^a\.[0-9a-f]+$/);
    assert.deepEqual(
      [ev!.type, ev!.reason, ev!.message, ev!.count, ev!.source?.component, ev!.reportingComponent],
      [
        'Normal',
        'SuccessfulCreate',
        'Created pod: a-1',
        2,
        'replicaset-controller',
        'replicaset-controller',
      ],
    );
    assert.deepEqual(
      [ev!.firstTimestamp, ev!.lastTimestamp],
      ['2026-01-01T00:00:00Z', '2026-01-01T00:00:02Z'],
    );
    assert.deepEqual(
      [ev!.involvedObject.kind, ev!.involvedObject.uid, ev!.involvedObject.apiVersion],
      ['ReplicaSet', 'uid-a', 'apps/v1'],
    );
  });

  it('combines the 10th and later similar messages into one "(combined from similar events)" Event', async () => {
    const rec = new EventRecorder({
      client: api.client,
      component: 'replicaset-controller',
      clock,
    });
    for (let i = 1; i <= 12; i++)
      rec.event(obj('b'), 'Normal', 'SuccessfulCreate', `Created pod: b-${i}`);
    await rec.flush();
    const events = await eventsOf('b');
    assert.equal(events.length, 10, '9 individual Events and one combined');
    const combined = events.find((e) => e.message?.startsWith('(combined from similar events): '));
    assert.equal(combined?.message, '(combined from similar events): Created pod: b-12');
    assert.equal(combined?.count, 3);
  });

  it('drops writes about one object beyond a burst of 25 until tokens refill', async () => {
    const rec = new EventRecorder({ client: api.client, component: 'scheduler', clock });
    for (let i = 0; i < 30; i++) rec.event(obj('c'), 'Warning', 'FailedScheduling', 'no room');
    await rec.flush();
    assert.equal((await eventsOf('c'))[0]?.count, 25);
    clock.advance(300_000);
    rec.event(obj('c'), 'Warning', 'FailedScheduling', 'no room');
    await rec.flush();
    assert.equal((await eventsOf('c'))[0]?.count, 26, 'one token back after 5 minutes');
  });

  it('forgets churned objects once their entries can no longer change an outcome', async () => {
    const rec = new EventRecorder({
      client: api.client,
      component: 'replicaset-controller',
      clock,
    });
    for (let i = 0; i < 50; i++)
      rec.event(obj(`churn-${i}`), 'Normal', 'SuccessfulCreate', `Created pod: churn-${i}-x`);
    await rec.flush();
    // Per object: the Event, its similar-message record and its spam bucket.
    assert.equal(rec.cacheSize, 150);
    // Eleven minutes on: the buckets are full again and the aggregation interval is over; the
    // Events themselves are still alive (an hour's TTL), so a repeat still counts on its Event.
    clock.advance(11 * 60_000);
    rec.event(obj('churn-0'), 'Normal', 'SuccessfulCreate', 'Created pod: churn-0-x');
    await rec.flush();
    assert.equal(rec.cacheSize, 52, '50 Events remembered, churn-0 aggregated and throttled again');
    assert.equal((await eventsOf('churn-0'))[0]?.count, 2);
    clock.advance(61 * 60_000);
    rec.event(obj('late'), 'Normal', 'SuccessfulCreate', 'Created pod: late-x');
    await rec.flush();
    assert.equal(rec.cacheSize, 3, 'only the new object is left');
  });
});
