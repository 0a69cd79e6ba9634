import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { R } from '../../client/resources.js';
import { type ControllerEnv, cacheCaughtUp, startControllerEnv } from '../runtime/testing.js';
import {
  createVolumeController,
  selectedNodeAnnotation,
  type VolumeController,
} from './controller.js';
import { defaultStorageClass } from './provisioner.js';

describe('persistent volume controller', () => {
  let env: ControllerEnv;
  let vc: VolumeController;
  let root: string;
  before(async () => {
    env = await startControllerEnv();
    root = mkdtempSync(path.join(tmpdir(), 'skiff-pv-'));
    vc = createVolumeController({
      informers: env.informers,
      clock: env.clock,
      storageRoot: root,
      nodeName: 'node1',
    });
    await env.sync();
    await env.client.create<StorageClass>(R.storageclasses, defaultStorageClass());
    await env.client.create<StorageClass>(R.storageclasses, {
      ...defaultStorageClass(),
      metadata: { name: 'keep' },
      reclaimPolicy: 'Retain',
    });
  });
  after(async () => {
    await env.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function settle() {
    for (const r of [R.persistentvolumeclaims, R.persistentvolumes, R.storageclasses]) {
      await cacheCaughtUp(
        env.client,
        env.informers.informerFor(r),
        r.namespaced ? 'default' : undefined,
      );
    }
  }
  async function sync(name: string, times = 1) {
    for (let i = 0; i < times; i++) {
      await vc.syncClaim(`default/${name}`);
      await settle();
    }
  }
  const claim = (name: string) =>
    env.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, 'default', name);
  async function newClaim(name: string, storageClassName?: string) {
    await env.client.create<PersistentVolumeClaim>(R.persistentvolumeclaims, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'default' },
      spec: {
        storageClassName,
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '5Mi' } },
      },
    });
    await settle();
  }

  it('gives a class-less claim the default class and waits for its first consumer', async () => {
    await newClaim('a');
    await sync('a', 3);
    const c = await claim('a');
    assert.equal(c.spec?.storageClassName, 'standard');
    assert.ok(c.metadata?.finalizers?.includes('kubernetes.io/pvc-protection'));
    assert.equal(c.status?.phase, 'Pending');
    assert.equal(c.spec?.volumeName, undefined, 'WaitForFirstConsumer: nothing provisioned yet');
  });

  it('provisions a hostPath volume under the root once a node is selected, and binds both sides', async () => {
    await env.client.patch(R.persistentvolumeclaims, 'default', 'a', {
      metadata: { annotations: { [selectedNodeAnnotation]: 'node1' } },
    });
    await settle();
    await sync('a');
    const c = await claim('a');
    assert.equal(c.status?.phase, 'Bound');
    assert.equal(c.spec?.volumeName, `pvc-${c.metadata?.uid}`);
    assert.equal(c.status?.capacity?.storage, '5Mi');
    const pv = await env.client.get<PersistentVolume>(
      R.persistentvolumes,
      undefined,
      c.spec!.volumeName!,
    );
    assert.equal(pv.status?.phase, 'Bound');
    assert.equal(pv.spec?.claimRef?.uid, c.metadata?.uid);
    assert.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Delete');
    const dir = pv.spec?.hostPath?.path ?? '';
    assert.ok(dir.startsWith(root) && existsSync(dir), 'directory made under the storage root');
  });

  it('deletes a Delete-policy volume and its directory when the claim goes; Retain keeps it Released', async () => {
    await newClaim('b', 'keep');
    await env.client.patch(R.persistentvolumeclaims, 'default', 'b', {
      metadata: { annotations: { [selectedNodeAnnotation]: 'node1' } },
    });
    await settle();
    await sync('b', 3);
    const a = await claim('a');
    const b = await claim('b');
    const dirA = path.join(root, `pvc-${a.metadata?.uid}_default_a`);
    for (const name of ['a', 'b']) {
      await env.client.delete(R.persistentvolumeclaims, 'default', name);
      await settle();
      await sync(name); // drops pvc-protection: no pod uses it
    }
    await settle();
    await vc.syncVolume(a.spec!.volumeName!);
    await vc.syncVolume(b.spec!.volumeName!);
    await settle();
    await assert.rejects(env.client.get(R.persistentvolumes, undefined, a.spec!.volumeName!));
    assert.ok(!existsSync(dirA), 'Delete: directory removed');
    const kept = await env.client.get<PersistentVolume>(
      R.persistentvolumes,
      undefined,
      b.spec!.volumeName!,
    );
    assert.equal(kept.status?.phase, 'Released');
  });
});
