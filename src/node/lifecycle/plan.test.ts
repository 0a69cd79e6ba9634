import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { computePodActions, type ObservedContainer } from './plan.js';

const pod = (restartPolicy?: string, deleting = false): Pod => ({
  metadata: { name: 'p', ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { containers: [], ...(restartPolicy ? { restartPolicy } : {}) },
});
const c = (
  name: string,
  state: ObservedContainer['state'],
  exitCode?: number,
  isUnhealthy?: boolean,
): ObservedContainer => ({ name, state, exitCode, isUnhealthy });

const cases: Array<{
  name: string;
  pod: Pod;
  hasSandbox?: boolean;
  init?: ObservedContainer[];
  containers: ObservedContainer[];
  ephemeral?: ObservedContainer[];
  want: Partial<ReturnType<typeof computePodActions>>;
}> = [
  {
    name: 'a new pod gets a sandbox and starts every container',
    pod: pod(),
    hasSandbox: false,
    containers: [c('a', 'never'), c('b', 'never')],
    want: { createSandbox: true, containersToStart: ['a', 'b'], isInitialized: true },
  },
  {
    name: 'the first init container runs alone before the app containers',
    pod: pod(),
    init: [c('i1', 'never'), c('i2', 'never')],
    containers: [c('a', 'never')],
    want: { nextInit: 'i1', containersToStart: [], isInitialized: false },
  },
  {
    name: 'a running init container blocks everything after it',
    pod: pod(),
    init: [c('i1', 'exited', 0), c('i2', 'running')],
    containers: [c('a', 'never')],
    want: { nextInit: undefined, containersToStart: [], isInitialized: false },
  },
  {
    name: 'the next init container starts once the previous one succeeded',
    pod: pod(),
    init: [c('i1', 'exited', 0), c('i2', 'never')],
    containers: [c('a', 'never')],
    want: { nextInit: 'i2', containersToStart: [] },
  },
  {
    name: 'app containers start when every init container succeeded',
    pod: pod(),
    init: [c('i1', 'exited', 0)],
    containers: [c('a', 'never')],
    want: { isInitialized: true, containersToStart: ['a'] },
  },
  {
    name: 'a failed init container is retried under OnFailure',
    pod: pod('OnFailure'),
    init: [c('i1', 'exited', 3)],
    containers: [c('a', 'never')],
    want: { nextInit: 'i1', hasInitFailed: false, containersToStart: [] },
  },
  {
    name: 'a failed init container fails the pod under Never',
    pod: pod('Never'),
    init: [c('i1', 'exited', 3)],
    containers: [c('a', 'never')],
    want: { nextInit: undefined, hasInitFailed: true, containersToStart: [] },
  },
  {
    name: 'Always restarts any exited container, a busy one is left alone',
    pod: pod('Always'),
    containers: [c('a', 'exited', 0), c('b', 'exited', 1), c('c', 'busy'), c('d', 'running')],
    want: { containersToStart: ['a', 'b'], containersToKill: [] },
  },
  {
    name: 'OnFailure restarts only failures',
    pod: pod('OnFailure'),
    containers: [c('a', 'exited', 0), c('b', 'exited', 1)],
    want: { containersToStart: ['b'] },
  },
  {
    name: 'Never restarts nothing',
    pod: pod('Never'),
    containers: [c('a', 'exited', 0), c('b', 'exited', 1)],
    want: { containersToStart: [] },
  },
  {
    name: 'an unhealthy running container is killed (its exit then restarts it)',
    pod: pod(),
    containers: [c('a', 'running', undefined, true), c('b', 'running')],
    want: { containersToKill: ['a'], containersToStart: [] },
  },
  {
    name: 'a deleted pod is killed and nothing starts, Initialized stays as observed',
    pod: pod('Always', true),
    hasSandbox: false,
    init: [c('i1', 'exited', 0)],
    containers: [c('a', 'exited', 1)],
    want: { killPod: true, createSandbox: false, containersToStart: [], isInitialized: true },
  },
  {
    name: 'an ephemeral container starts once, even while init containers run, never again',
    pod: pod('Always'),
    init: [c('i1', 'running')],
    containers: [c('a', 'never')],
    ephemeral: [c('dbg', 'never'), c('old', 'exited', 1), c('busy', 'busy')],
    want: { ephemeralContainersToStart: ['dbg'], containersToStart: [] },
  },
  {
    name: 'an ephemeral container waits for the sandbox',
    pod: pod(),
    hasSandbox: false,
    containers: [c('a', 'never')],
    ephemeral: [c('dbg', 'never')],
    want: { createSandbox: true, ephemeralContainersToStart: [] },
  },
  {
    name: 'a deleted pod starts no ephemeral container',
    pod: pod('Always', true),
    containers: [c('a', 'running')],
    ephemeral: [c('dbg', 'never')],
    want: { killPod: true, ephemeralContainersToStart: [] },
  },
];

for (const tc of cases) {
  test(tc.name, () => {
    const got = computePodActions({
      pod: tc.pod,
      hasSandbox: tc.hasSandbox ?? true,
      init: tc.init ?? [],
      containers: tc.containers,
      ephemeral: tc.ephemeral,
    });
    for (const [k, v] of Object.entries(tc.want))
      assert.deepEqual(got[k as keyof typeof got], v, k);
  });
}
