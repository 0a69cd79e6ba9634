// Field ownership (pure): leaf paths with keyed lists, FieldsV1 round trips, apply conflicts and
// removals, update ownership transfer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../../api/object.js';
import {
  formatPath,
  fromFieldsV1,
  leafPaths,
  managedAfterUpdate,
  pathKey,
  planApply,
  toFieldsV1,
} from './field-sets.js';

const pod = (containers: object[], labels: Record<string, string> = {}): KObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', labels },
    spec: { containers },
  }) as KObject;
const opts = (manager: string) => ({ manager, kind: 'Pod', time: '2026-01-01T00:00:00Z' });

test('leaf paths: keyed list items by merge key, FieldsV1 round trip, upstream path text', () => {
  const paths = leafPaths(pod([{ name: 'a', image: 'x', args: ['1'] }], { app: 'p' }), 'Pod');
  assert.deepEqual(paths.map(formatPath).sort(), [
    '.metadata.labels.app',
    '.spec.containers[name="a"].args',
    '.spec.containers[name="a"].image',
    '.spec.containers[name="a"].name',
  ]);
  assert.deepEqual(fromFieldsV1(toFieldsV1(paths)).map(pathKey).sort(), paths.map(pathKey).sort());
});

test('apply: a changed field owned by another manager conflicts; an equal one does not', () => {
  const live = pod([{ name: 'a', image: 'x' }]);
  live.metadata!.managedFields = managedAfterUpdate(undefined, live, opts('creator')) as never;
  const same = planApply(live, pod([{ name: 'a', image: 'x' }]), opts('ssa'));
  assert.equal(same.conflicts.length, 0);
  const changed = planApply(live, pod([{ name: 'a', image: 'y' }]), opts('ssa'));
  assert.deepEqual(
    changed.conflicts.map((c) => [c.manager, formatPath(c.path)]),
    [['"creator" using v1', '.spec.containers[name="a"].image']],
  );
});

test('apply: what the applier stops applying is removed unless another manager owns it', () => {
  let live = pod(
    [
      { name: 'a', image: 'x' },
      { name: 'b', image: 'x' },
    ],
    { keep: '1', drop: '1' },
  );
  live.metadata!.managedFields = planApply(live, live, opts('m')).entries as never;
  const next = pod([{ name: 'a', image: 'x' }], { keep: '1' });
  const plan = planApply(live, next, opts('m'));
  assert.deepEqual(plan.removals.map(formatPath).sort(), [
    '.metadata.labels.drop',
    '.spec.containers[name="b"]',
  ]);
  // Another manager owning container b keeps it.
  live = structuredClone(live);
  live.metadata!.managedFields = [
    ...(live.metadata!.managedFields ?? []),
    ...(planApply(live, pod([{ name: 'b', image: 'x' }]), opts('other')).entries.slice(
      -1,
    ) as never[]),
  ];
  assert.deepEqual(planApply(live, next, opts('m')).removals.map(formatPath), [
    '.metadata.labels.drop',
  ]);
});

test('update: the updater takes over the fields it changed', () => {
  const before = pod([{ name: 'a', image: 'x' }]);
  before.metadata!.managedFields = managedAfterUpdate(undefined, before, opts('creator')) as never;
  const after = structuredClone(before);
  (after['spec'] as { containers: { image: string }[] }).containers[0]!.image = 'y';
  const entries = managedAfterUpdate(before, after, opts('editor'));
  const owned = (m: string) =>
    fromFieldsV1(entries.find((e) => e.manager === m)?.fieldsV1)
      .map(formatPath)
      .sort();
  assert.deepEqual(owned('editor'), ['.spec.containers[name="a"].image']);
  // An empty map is a field of its own.
  assert.deepEqual(owned('creator'), ['.metadata.labels', '.spec.containers[name="a"].name']);
});
