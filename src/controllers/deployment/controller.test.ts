import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Event } from 'kubernetes-types/core/v1.js';
import { R } from '../../client/resources.js';
import { getControllerOf } from '../runtime/owner.js';
import {
  type ControllerEnv,
  cacheCaughtUp,
  podSpec,
  startControllerEnv,
} from '../runtime/testing.js';
import { createDeploymentController, type DeploymentController } from './controller.js';

describe('Deployment controller', () => {
  let env: ControllerEnv;
  let dc: DeploymentController;
  let n = 0;
  before(async () => {
    env = await startControllerEnv();
    dc = createDeploymentController({ informers: env.informers, clock: env.clock });
    await env.sync();
  });
  after(() => env.close());

  const ns = 'default';
  const caught = async () => {
    await cacheCaughtUp(env.client, env.informers.informerFor(R.deployments), ns);
    await cacheCaughtUp(env.client, env.informers.informerFor(R.replicasets), ns);
  };
  const sync = async (name: string) => {
    await caught();
    return dc.syncDeployment(`${ns}/${name}`);
  };
  const get = (name: string) => env.client.get<Deployment>(R.deployments, ns, name);
  const rsOf = async (d: Deployment): Promise<ReplicaSet[]> => {
    const all = await env.client.list<ReplicaSet>(R.replicasets, { namespace: ns });
    return all.items
      .filter((rs) => getControllerOf(rs)?.uid === d.metadata?.uid)
      .sort(
        (a, b) =>
          Number(a.metadata?.annotations?.['deployment.kubernetes.io/revision']) -
          Number(b.metadata?.annotations?.['deployment.kubernetes.io/revision']),
      );
  };
  // Plays the ReplicaSet controller: every RS has all its replicas, ready and available.
  const makeAvailable = async (d: Deployment) => {
    for (const rs of await rsOf(d)) {
      const r = rs.spec?.replicas ?? 0;
      await env.client.updateStatus(R.replicasets, {
        ...rs,
        status: {
          replicas: r,
          fullyLabeledReplicas: r,
          readyReplicas: r,
          availableReplicas: r,
          observedGeneration: rs.metadata?.generation,
        },
      });
    }
  };
  const setImage = (name: string, image: string) =>
    env.client.patch(R.deployments, ns, name, {
      spec: { template: { spec: { containers: [{ name: 'c', image }] } } },
    });

  async function newDeployment(
    replicas: number,
    spec: Partial<NonNullable<Deployment['spec']>> = {},
  ): Promise<Deployment> {
    const name = `web${++n}`;
    return env.client.create<Deployment>(R.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: podSpec() },
        ...spec,
      },
    });
  }

  it('creates one ReplicaSet <deploy>-<pod-template-hash> with revision annotations and an event', async () => {
    const d = await newDeployment(2);
    const name = d.metadata!.name!;
    await sync(name);
    const [rs, ...rest] = await rsOf(d);
    assert.equal(rest.length, 0);
    const hash = rs!.metadata!.labels!['pod-template-hash']!;
    assert.match(hash, /^[456789bcdf]{1,10}$/);
    assert.equal(rs!.metadata!.name, `${name}-${hash}`);
    assert.equal(rs!.spec?.selector?.matchLabels?.['pod-template-hash'], hash);
    assert.equal(rs!.spec?.template?.metadata?.labels?.['pod-template-hash'], hash);
    assert.equal(rs!.spec?.replicas, 2);
    assert.deepEqual(
      {
        rev: rs!.metadata!.annotations!['deployment.kubernetes.io/revision'],
        desired: rs!.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'],
        max: rs!.metadata!.annotations!['deployment.kubernetes.io/max-replicas'],
      },
      { rev: '1', desired: '2', max: '3' },
    );
    const got = await get(name);
    assert.equal(got.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
    const progressing = got.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(progressing?.reason, 'NewReplicaSetCreated');
    assert.equal(progressing?.message, `Created new replica set "${rs!.metadata!.name}"`);
    await dc.recorder.flush();
    const events = await env.client.list<Event>(R.events, { namespace: ns });
    const scaling = events.items.filter(
      (e) => e.involvedObject.name === name && e.reason === 'ScalingReplicaSet',
    );
    assert.deepEqual(
      scaling.map((e) => e.message),
      [`Scaled up replica set ${rs!.metadata!.name} from 0 to 2`],
    );
  });

  it('reports status and completes with Available and NewReplicaSetAvailable once pods are available', async () => {
    const d = await newDeployment(2);
    const name = d.metadata!.name!;
    await sync(name);
    await sync(name);
    let got = await get(name);
    assert.equal(
      got.status?.conditions?.find((c) => c.type === 'Available')?.reason,
      'MinimumReplicasUnavailable',
    );
    await makeAvailable(d);
    await sync(name);
    got = await get(name);
    const [rs] = await rsOf(d);
    assert.equal(got.status?.observedGeneration, got.metadata?.generation);
    assert.deepEqual(
      [
        got.status?.replicas,
        got.status?.updatedReplicas,
        got.status?.readyReplicas,
        got.status?.availableReplicas,
      ],
      [2, 2, 2, 2],
    );
    const available = got.status?.conditions?.find((c) => c.type === 'Available');
    assert.deepEqual(
      [available?.status, available?.reason, available?.message],
      ['True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'],
    );
    const progressing = got.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.deepEqual(
      [progressing?.status, progressing?.reason, progressing?.message],
      [
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${rs!.metadata!.name}" has successfully progressed.`,
      ],
    );
  });

  it('rolls out a template change within maxSurge and maxUnavailable (25% of 4: +1/-1)', async () => {
    const d = await newDeployment(4);
    const name = d.metadata!.name!;
    await sync(name);
    await makeAvailable(d);
    await sync(name);
    await setImage(name, 'busybox:2');
    await sync(name);
    let [oldRS, newRS] = await rsOf(d);
    assert.notEqual(newRS, undefined, 'a new RS for the new template');
    assert.notEqual(newRS!.metadata!.name, oldRS!.metadata!.name);
    assert.equal(newRS!.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
    // One surge pod is created and, as 3 of 4 must stay available, one old pod goes at once.
    assert.deepEqual([oldRS!.spec?.replicas, newRS!.spec?.replicas], [3, 1]);
    await sync(name);
    [oldRS, newRS] = await rsOf(d);
    assert.deepEqual(
      [oldRS!.spec?.replicas, newRS!.spec?.replicas],
      [3, 2],
      'surge back to 5 pods',
    );
    await sync(name);
    [oldRS, newRS] = await rsOf(d);
    assert.deepEqual(
      [oldRS!.spec?.replicas, newRS!.spec?.replicas],
      [3, 2],
      'no progress until new pods are available',
    );
    await makeAvailable(d);
    await sync(name);
    [oldRS, newRS] = await rsOf(d);
    assert.deepEqual(
      [oldRS!.spec?.replicas, newRS!.spec?.replicas],
      [1, 2],
      'old scaled down keeping 3 available',
    );
    await sync(name);
    [oldRS, newRS] = await rsOf(d);
    assert.deepEqual([oldRS!.spec?.replicas, newRS!.spec?.replicas], [1, 4]);
    const got = await get(name);
    assert.equal(
      got.status?.conditions?.find((c) => c.type === 'Progressing')?.reason,
      'ReplicaSetUpdated',
    );
  });

  it('Recreate scales old ReplicaSets to zero before creating the new one', async () => {
    const d = await newDeployment(2, { strategy: { type: 'Recreate' } });
    const name = d.metadata!.name!;
    await sync(name);
    await makeAvailable(d);
    await setImage(name, 'busybox:2');
    await sync(name);
    let list = await rsOf(d);
    assert.equal(list.length, 1, 'no new RS while old pods run');
    assert.equal(list[0]!.spec?.replicas, 0);
    await sync(name);
    assert.equal((await rsOf(d)).length, 1, 'old RS still reports replicas');
    await makeAvailable(d); // the old RS now reports 0 replicas
    await sync(name);
    list = await rsOf(d);
    assert.equal(list.length, 2);
    assert.deepEqual(
      list.map((rs) => rs.spec?.replicas),
      [0, 2],
    );
  });

  it('rolls back by template match: the old ReplicaSet becomes new with the next revision', async () => {
    const d = await newDeployment(1);
    const name = d.metadata!.name!;
    await sync(name);
    await makeAvailable(d);
    await setImage(name, 'busybox:2');
    await sync(name);
    const [first] = await rsOf(d);
    await setImage(name, 'busybox');
    await sync(name);
    const list = await rsOf(d);
    assert.equal(list.length, 2, 'no third RS');
    const back = list.find((rs) => rs.metadata?.uid === first!.metadata?.uid)!;
    assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(
      (await get(name)).metadata?.annotations?.['deployment.kubernetes.io/revision'],
      '3',
    );
  });

  it('deletes scaled-down ReplicaSets beyond revisionHistoryLimit, oldest revision first', async () => {
    const d = await newDeployment(1, { revisionHistoryLimit: 1, strategy: { type: 'Recreate' } });
    const name = d.metadata!.name!;
    await sync(name);
    for (const image of ['busybox:2', 'busybox:3']) {
      await makeAvailable(d);
      await setImage(name, image);
      await sync(name); // scale old down
      await makeAvailable(d);
      await sync(name); // create new
    }
    await makeAvailable(d);
    await sync(name); // status shows the rollout complete
    await sync(name); // cleanup runs on a complete Deployment
    const revisions = (await rsOf(d)).map(
      (rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    );
    assert.deepEqual(revisions, ['2', '3']);
  });

  it('marks ProgressDeadlineExceeded once progressDeadlineSeconds pass without progress', async () => {
    const d = await newDeployment(1, { progressDeadlineSeconds: 10 });
    const name = d.metadata!.name!;
    await sync(name);
    await sync(name);
    env.clock.advance(11_000);
    await sync(name);
    const cond = (await get(name)).status?.conditions?.find((c) => c.type === 'Progressing');
    assert.deepEqual([cond?.status, cond?.reason], ['False', 'ProgressDeadlineExceeded']);
    assert.match(cond?.message ?? '', /has timed out progressing\.$/);
  });

  it('a paused Deployment gets no new ReplicaSet and reports DeploymentPaused; resume rolls out', async () => {
    const d = await newDeployment(1);
    const name = d.metadata!.name!;
    await sync(name);
    await env.client.patch(R.deployments, ns, name, { spec: { paused: true } });
    await setImage(name, 'busybox:2');
    await sync(name);
    assert.equal((await rsOf(d)).length, 1);
    assert.equal(
      (await get(name)).status?.conditions?.find((c) => c.type === 'Progressing')?.reason,
      'DeploymentPaused',
    );
    await env.client.patch(R.deployments, ns, name, { spec: { paused: false } });
    await sync(name);
    assert.equal((await rsOf(d)).length, 2);
  });

  it('scaling the Deployment scales its only active ReplicaSet', async () => {
    const d = await newDeployment(2);
    const name = d.metadata!.name!;
    await sync(name);
    await env.client.patch(R.deployments, ns, name, { spec: { replicas: 5 } });
    await sync(name);
    const [rs] = await rsOf(d);
    assert.equal(rs!.spec?.replicas, 5);
    assert.equal(rs!.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'], '5');
  });
});
