import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { calculateFailedIndexes, isIndexFailed, newIndexFailureCounts } from './per-index.js';

const job: Job = {
  spec: {
    completions: 4,
    completionMode: 'Indexed',
    backoffLimitPerIndex: 1,
    podFailurePolicy: {
      rules: [
        { action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } },
        { action: 'Ignore', onExitCodes: { operator: 'In', values: [3] } },
      ],
    },
    template: {},
  },
  status: { failedIndexes: '3' },
};
const failedPod = (ix: number, exitCode: number, priorFailures = 0, priorIgnored = 0): Pod => ({
  metadata: {
    name: `p${ix}-${priorFailures}`,
    annotations: {
      'batch.kubernetes.io/job-completion-index': String(ix),
      'batch.kubernetes.io/job-index-failure-count': String(priorFailures),
      'batch.kubernetes.io/job-index-ignored-failure-count': String(priorIgnored),
    },
  },
  status: {
    phase: 'Failed',
    containerStatuses: [
      {
        name: 'c',
        image: 'x',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode } },
      },
    ],
  },
});
const isFailed = (p: Pod) => p.status?.phase === 'Failed';

describe('Job backoffLimitPerIndex', () => {
  it('fails an index once a counted failure finds its budget used up', () => {
    assert.equal(isIndexFailed(job, failedPod(0, 1, 0), isFailed), false, 'first failure retries');
    assert.equal(isIndexFailed(job, failedPod(0, 1, 1), isFailed), true, 'second one fails it');
  });
  it('FailIndex fails the index at once; Ignore never does', () => {
    assert.equal(isIndexFailed(job, failedPod(1, 42, 0), isFailed), true);
    assert.equal(isIndexFailed(job, failedPod(1, 3, 5), isFailed), false);
  });
  it('adds newly failed indexes to status.failedIndexes', () => {
    const pods = [failedPod(0, 1, 1), failedPod(1, 1, 0), failedPod(2, 42)];
    const got = calculateFailedIndexes(job, pods, isFailed);
    assert.deepEqual(got, [
      [0, 0],
      [2, 3],
    ]);
  });
  it("gives a replacement pod its index's counted and ignored failures", () => {
    const pods = [failedPod(0, 1, 0), failedPod(0, 3, 1, 0), failedPod(1, 1, 0)];
    assert.deepEqual(newIndexFailureCounts(job, pods, 0, isFailed), {
      'batch.kubernetes.io/job-index-failure-count': '1',
      'batch.kubernetes.io/job-index-ignored-failure-count': '1',
    });
    assert.deepEqual(newIndexFailureCounts(job, [], 2, isFailed), {
      'batch.kubernetes.io/job-index-failure-count': '0',
    });
  });
});
