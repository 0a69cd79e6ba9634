import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Event, Node, Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  startControllerEnv,
} from '../runtime/testing.js';
import { fitErrorMessage } from './predicates.js';
import { createScheduler, type Scheduler } from './scheduler.js';

describe('scheduler', () => {
  let env: ControllerEnv;
  let sched: Scheduler;
  let n = 0;
  before(async () => {
    env = await startControllerEnv();
    sched = createScheduler({ informers: env.informers, clock: env.clock });
    await env.client.create<Node>(R.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node1', labels: { disk: 'ssd', 'kubernetes.io/hostname': 'node1' } },
      spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
      status: {
        allocatable: { cpu: '1', memory: '1Gi', pods: '110' },
        capacity: { cpu: '1', memory: '1Gi', pods: '110' },
      },
    });
    await env.sync();
  });
  after(() => env.close());

  const caught = async () => {
    await cacheCaughtUp(env.client, env.informers.informerFor(R.pods));
    await cacheCaughtUp(env.client, env.informers.informerFor(R.nodes));
  };
  const tolerateDb = [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }];
  async function newPod(
    extra: Partial<NonNullable<Pod['spec']>> = {},
    cpu = '100m',
  ): Promise<string> {
    const name = `p${++n}`;
    await env.client.create<Pod>(R.pods, {
      metadata: { name, namespace: 'default' },
      spec: podSpec({
        containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu } } }],
        tolerations: tolerateDb,
        ...extra,
      }),
    });
    await caught();
    return name;
  }
  const get = (name: string) => env.client.get<Pod>(R.pods, 'default', name);
  const eventsFor = async (name: string) => {
    await sched.recorder.flush();
    const list = await env.client.list<Event>(R.events, { namespace: 'default' });
    return list.items.filter((e) => e.involvedObject.name === name);
  };

  it('binds a pod that fits and records a Scheduled event', async () => {
    const name = await newPod();
    await sched.schedulePod(`default/${name}`);
    const pod = await get(name);
    assert.equal(pod.spec?.nodeName, 'node1');
    assert.equal(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
    const ev = (await eventsFor(name)).find((e) => e.reason === 'Scheduled');
    assert.equal(ev?.message, `Successfully assigned default/${name} to node1`);
    assert.equal(ev?.source?.component, 'default-scheduler');
  });

  it('leaves a pod Pending with PodScheduled=False and FailedScheduling when cpu does not fit', async () => {
    const name = await newPod({}, '2');
    const res = await sched.schedulePod(`default/${name}`);
    assert.ok(res?.requeueAfter, 'retried later');
    const pod = await get(name);
    assert.equal(pod.spec?.nodeName, undefined);
    const msg =
      '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.';
    const cond = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.deepEqual([cond?.status, cond?.reason, cond?.message], ['False', 'Unschedulable', msg]);
    const ev = (await eventsFor(name)).find((e) => e.reason === 'FailedScheduling');
    assert.deepEqual([ev?.type, ev?.message], ['Warning', msg]);
  });

  it('counts requests of pods already bound (and just assumed) against allocatable', async () => {
    // 100m is bound from the first test; 850m more fits, then 100m does not (950m + 100m > 1).
    const big = await newPod({}, '850m');
    await sched.schedulePod(`default/${big}`);
    const small = await newPod({}, '100m');
    await sched.schedulePod(`default/${small}`);
    assert.equal((await get(big)).spec?.nodeName, 'node1');
    assert.equal((await get(small)).spec?.nodeName, undefined);
  });

  it('binds a Pending pod once room appears', async () => {
    const waiting = `p${n}`; // the small pod of the previous test
    await env.client.delete(R.pods, 'default', `p${n - 1}`, { gracePeriodSeconds: 0 });
    await caught();
    assert.equal(sched.controller.queue.length > 0, true, 'the deletion requeued the waiting pod');
    await sched.schedulePod(`default/${waiting}`);
    assert.equal((await get(waiting)).spec?.nodeName, 'node1');
  });

  const unschedulableCases: {
    name: string;
    spec: Partial<NonNullable<Pod['spec']>>;
    msg: string;
  }[] = [
    {
      name: 'honours nodeSelector',
      spec: { nodeSelector: { disk: 'hdd' } },
      msg: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    },
    {
      name: 'honours NoSchedule taints without a toleration',
      spec: { tolerations: [] },
      msg: '0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
    },
  ];
  for (const c of unschedulableCases) {
    it(c.name, async () => {
      const name = await newPod(c.spec, '0');
      await sched.schedulePod(`default/${name}`);
      const pod = await get(name);
      assert.equal(pod.spec?.nodeName, undefined);
      assert.equal(pod.status?.conditions?.find((x) => x.type === 'PodScheduled')?.message, c.msg);
    });
  }

  it('ignores pods that already have a nodeName or another scheduler', async () => {
    const name = await newPod({ schedulerName: 'other' }, '0');
    await sched.schedulePod(`default/${name}`);
    assert.equal((await get(name)).spec?.nodeName, undefined);
    assert.equal((await get(name)).status?.conditions, undefined);
  });
});

describe('fitErrorMessage', () => {
  it('sorts and counts reasons like upstream', () => {
    assert.equal(
      fitErrorMessage(1, [
        { reasons: ['Insufficient memory', 'Insufficient cpu'], resolvable: true },
      ]),
      '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
    );
    assert.equal(fitErrorMessage(0, []), 'no nodes available to schedule pods');
  });
});
