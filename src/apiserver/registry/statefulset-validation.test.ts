// StatefulSet validation through the registry's strategy, with upstream's wording.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/object.js';
import { FakeClock } from '../../lib/clock.js';
import { fieldErrorBody } from '../status-error.js';
import { registryConfig } from './config.js';
import { strategies } from './index.js';
import type { StrategyContext } from './types.js';

const ctx: StrategyContext = {
  clock: new FakeClock(),
  config: registryConfig({}),
  listStored: () => [],
};
const strategy = strategies.get('apps/statefulsets');

function sts(spec: Record<string, unknown> = {}): KObject {
  const o: KObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      serviceName: 'web',
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      },
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } },
      ],
      ...spec,
    },
  };
  strategy?.defaults?.(o, ctx);
  return o;
}

const render = (errs: { field: string }[]) =>
  errs.map((e) => `${e.field}: ${fieldErrorBody(e as Parameters<typeof fieldErrorBody>[0])}`);

describe('StatefulSet validation', () => {
  it('accepts what kubectl sends and the defaults', () => {
    assert.deepEqual(render(strategy?.validate?.(sts(), ctx) ?? []), []);
  });

  it('refuses bad pod management, strategy, partition, maxUnavailable and retention values', () => {
    const errs = render(
      strategy?.validate?.(
        sts({
          podManagementPolicy: 'Random',
          updateStrategy: {
            type: 'RollingUpdate',
            rollingUpdate: { partition: -1, maxUnavailable: 0 },
          },
          persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Keep', whenScaled: 'Delete' },
        }),
        ctx,
      ) ?? [],
    );
    assert.deepEqual(errs, [
      "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
      'spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0',
      'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: cannot be 0',
      'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"',
    ]);
    const onDelete = render(
      strategy?.validate?.(
        sts({ updateStrategy: { type: 'OnDelete', rollingUpdate: { partition: 1 } } }),
        ctx,
      ) ?? [],
    );
    assert.deepEqual(onDelete, [
      'spec.updateStrategy.rollingUpdate: Invalid value: {"partition":1}: only allowed for updateStrategy \'RollingUpdate\'',
    ]);
  });

  it('on update allows replicas, template, strategy and retention changes, and refuses the rest', () => {
    const old = sts();
    const change = (f: (spec: Record<string, unknown>) => void) => {
      const next = structuredClone(old);
      f(next.spec as Record<string, unknown>);
      return render(strategy?.validateUpdate?.(next, old, ctx) ?? []);
    };
    assert.deepEqual(
      change((s) => {
        s.replicas = 5;
        s.minReadySeconds = 3;
        s.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
      }),
      [],
    );
    const forbidden =
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
    assert.deepEqual(
      change((s) => {
        s.volumeClaimTemplates = [];
      }),
      [forbidden],
    );
    assert.deepEqual(
      change((s) => {
        s.serviceName = 'other';
      }),
      [forbidden],
    );
  });
});
