// Table tests of the VPA's pure pieces: bucket layout and percentiles, decay, memory peaks per
// interval, the estimator chain (percentile, margin, confidence, pod minimum), policy capping,
// applying a recommendation to a container, the updater's choice and the HPA conflict check.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recommendedResources, type VerticalPodAutoscaler } from '../../api/vpa.js';
import { cpuBuckets, DecayingHistogram, memoryBuckets } from './histogram.js';
import { AggregateContainerState, ContainerState, defaultAggregationOptions } from './model.js';
import {
  confidence,
  containerRecommendation,
  defaultRecommendationOptions,
  estimateContainer,
} from './recommender.js';
import { hpaConflicts, podUpdateFor } from './updater.js';

const hour = 3_600_000;
const day = 24 * hour;
const t0 = Date.UTC(2026, 0, 1);

describe('histograms', () => {
  it('lays out cpu buckets from 10m growing by 5%', () => {
    assert.equal(cpuBuckets.findBucket(0.005), 0);
    assert.equal(cpuBuckets.bucketStart(1), 0.01);
    assert.ok(Math.abs(cpuBuckets.bucketStart(2) - 0.0205) < 1e-12);
    assert.equal(cpuBuckets.findBucket(0.021), 2);
    assert.equal(cpuBuckets.findBucket(1e9), cpuBuckets.numBuckets - 1);
    assert.equal(memoryBuckets.bucketStart(1), 1e7);
  });

  it('answers the end of the bucket holding the percentile', () => {
    const h = new DecayingHistogram(cpuBuckets, day);
    for (let i = 0; i < 100; i++) h.addSample(i < 90 ? 0.1 : 1, 1, t0);
    const b = cpuBuckets.findBucket(0.1);
    assert.equal(h.percentile(0.5), cpuBuckets.bucketStart(b + 1));
    assert.equal(h.percentile(0.9), cpuBuckets.bucketStart(b + 1));
    assert.equal(h.percentile(0.95), cpuBuckets.bucketStart(cpuBuckets.findBucket(1) + 1));
    assert.equal(new DecayingHistogram(cpuBuckets, day).percentile(0.9), 0);
  });

  it('halves the weight of a sample one half-life older', () => {
    const h = new DecayingHistogram(cpuBuckets, hour);
    // 1 old sample at 0.1 and 1 new one at 1.0, an hour apart: the new one weighs twice as much,
    // so the median moves to it.
    h.addSample(0.1, 1, t0);
    h.addSample(1, 1, t0 + hour);
    assert.equal(h.percentile(0.4), cpuBuckets.bucketStart(cpuBuckets.findBucket(1) + 1));
  });

  it('keeps working when samples move past 100 half-lives (reference shift)', () => {
    const h = new DecayingHistogram(cpuBuckets, 1000);
    h.addSample(0.5, 1, t0);
    h.addSample(0.5, 1, t0 + 500_000);
    assert.equal(h.isEmpty, false);
    assert.equal(h.percentile(0.5), cpuBuckets.bucketStart(cpuBuckets.findBucket(0.5) + 1));
  });
});

describe('container state', () => {
  it('adds only the peak of each memory interval, and drops out-of-order cpu samples', () => {
    const agg = new AggregateContainerState(defaultAggregationOptions);
    const c = new ContainerState(agg, {
      ...defaultAggregationOptions,
      memoryAggregationIntervalMs: 60_000,
    });
    assert.ok(c.addMemorySample(100e6, t0));
    assert.ok(c.addMemorySample(50e6, t0 + 1000)); // lower: same interval, no new peak
    assert.ok(c.addMemorySample(200e6, t0 + 2000)); // higher: replaces the interval's peak
    // Only one peak counts (200 MB), so every percentile is its bucket.
    const top = memoryBuckets.bucketStart(memoryBuckets.findBucket(200e6) + 1);
    assert.equal(agg.memoryPeaks.percentile(0.1), top);
    assert.ok(c.addCPUSample(0.2, t0 + 1000));
    assert.equal(c.addCPUSample(0.3, t0 + 1000), false);
    assert.equal(c.addCPUSample(0.3, t0), false);
    assert.equal(agg.totalSamplesCount, 1);
  });

  it('bumps memory after an OOM kill by 20%, at least 100 MiB', () => {
    const agg = new AggregateContainerState(defaultAggregationOptions);
    const c = new ContainerState(agg, defaultAggregationOptions);
    c.addMemorySample(50e6, t0);
    c.recordOOM(t0 + 1000, 64 * 2 ** 20);
    const needed = 64 * 2 ** 20 + 100 * 2 ** 20;
    assert.equal(
      agg.memoryPeaks.percentile(1),
      memoryBuckets.bucketStart(memoryBuckets.findBucket(needed) + 1),
    );
  });
});

function steady(cores: number, bytes: number, minutes: number): AggregateContainerState {
  const agg = new AggregateContainerState(defaultAggregationOptions);
  const c = new ContainerState(agg, defaultAggregationOptions);
  for (let m = 0; m < minutes; m++) {
    c.addCPUSample(cores, t0 + m * 60_000);
    c.addMemorySample(bytes, t0 + m * 60_000);
  }
  return agg;
}

describe('estimator', () => {
  it('target = p90 bucket end + 15%, at least the pod minimum split over containers', () => {
    const agg = steady(0.5, 300 * 2 ** 20, 60);
    const e = estimateContainer(agg, { containersInPod: 1 });
    const p90 = Math.trunc(cpuBuckets.bucketStart(cpuBuckets.findBucket(0.5) + 1) * 1000);
    assert.equal(e.target.cpu, p90 + Math.trunc(p90 * 0.15));
    const idle = estimateContainer(steady(0.001, 1e6, 60), { containersInPod: 2 });
    assert.equal(idle.target.cpu, 12); // 25m / 2 containers
    assert.equal(idle.target.memory, 125 * 2 ** 20);
  });

  it('takes the margin and the target percentiles from its options (the skiff up flags)', () => {
    // Half the samples at 0.1 core / 100 MB, half at 1 core / 1 GB; one memory peak a minute.
    const aggregation = { ...defaultAggregationOptions, memoryAggregationIntervalMs: 60_000 };
    const agg = new AggregateContainerState(aggregation);
    const c = new ContainerState(agg, aggregation);
    for (let i = 0; i < 60; i++) {
      const high = i % 2 === 1;
      c.addCPUSample(high ? 1 : 0.1, t0 + i * 60_000);
      c.addMemorySample(high ? 1e9 : 1e8, t0 + i * 60_000);
    }
    const options = {
      ...defaultRecommendationOptions,
      podMinCPUMillicores: 0,
      podMinMemoryMb: 0,
      safetyMarginFraction: 0,
      targetCPUPercentile: 0.4,
      targetMemoryPercentile: 0.4,
    };
    const end = (b: typeof cpuBuckets, v: number) => b.bucketStart(b.findBucket(v) + 1);
    const low = estimateContainer(agg, { containersInPod: 1, options });
    assert.equal(low.target.cpu, Math.trunc(end(cpuBuckets, 0.1) * 1000), 'p40, no margin');
    assert.equal(low.target.memory, Math.trunc(end(memoryBuckets, 1e8)));
    const high = estimateContainer(agg, {
      containersInPod: 1,
      options: { ...options, safetyMarginFraction: 0.5, targetCPUPercentile: 0.9 },
    });
    const p90 = Math.trunc(end(cpuBuckets, 1) * 1000);
    assert.equal(high.target.cpu, p90 + Math.trunc(p90 * 0.5), 'p90 + 50%');
    // The memory percentile is its own flag: still p40, now with the 50% margin.
    const m40 = Math.trunc(end(memoryBuckets, 1e8));
    assert.equal(high.target.memory, m40 + Math.trunc(m40 * 0.5));
  });

  it('widens the bounds by the confidence of a short history', () => {
    const agg = steady(0.5, 300 * 2 ** 20, 60);
    // An hour of history against a day: lifespan 59 min / 1440 min.
    assert.ok(Math.abs(confidence(agg, day) - 59 / 1440) < 1e-9);
    const e = estimateContainer(agg, { containersInPod: 1 });
    assert.ok(e.upperBound.cpu > 20 * e.target.cpu, `${e.upperBound.cpu}`);
    assert.ok(e.lowerBound.cpu < e.target.cpu);
    const week = steady(0.5, 300 * 2 ** 20, 7 * 1440);
    const w = estimateContainer(week, { containersInPod: 1 });
    assert.ok(w.upperBound.cpu < 1.3 * w.target.cpu);
  });
});

const vpa = (
  extra: Partial<NonNullable<VerticalPodAutoscaler['spec']>> = {},
): VerticalPodAutoscaler => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { targetRef: { kind: 'Deployment', name: 'web' }, ...extra },
});

describe('policy', () => {
  const estimate = {
    target: { cpu: 600, memory: 300 * 2 ** 20 },
    lowerBound: { cpu: 10, memory: 100 * 2 ** 20 },
    upperBound: { cpu: 5000, memory: 2 ** 31 },
  };

  it('caps to minAllowed/maxAllowed, keeps the uncapped target, filters controlled resources', () => {
    const v = vpa({
      resourcePolicy: {
        containerPolicies: [
          {
            containerName: '*',
            minAllowed: { cpu: '50m' },
            maxAllowed: { cpu: '500m' },
            controlledResources: ['cpu'],
          },
        ],
      },
    });
    const r = containerRecommendation(v, 'app', estimate);
    assert.deepEqual(r, {
      containerName: 'app',
      target: { cpu: '500m' },
      lowerBound: { cpu: '50m' },
      upperBound: { cpu: '500m' },
      uncappedTarget: { cpu: '600m' },
    });
  });

  it('leaves out containers whose mode is Off', () => {
    const v = vpa({
      resourcePolicy: { containerPolicies: [{ containerName: 'app', mode: 'Off' }] },
    });
    assert.equal(containerRecommendation(v, 'app', estimate), undefined);
    assert.ok(containerRecommendation(v, 'sidecar', estimate));
  });

  it('sets requests to the target and keeps the limit/request ratio (RequestsAndLimits)', () => {
    const c = {
      name: 'app',
      resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '400m' } },
    };
    const rec = { containerName: 'app', target: { cpu: '250m', memory: '128Mi' } };
    assert.deepEqual(recommendedResources(c, rec, undefined), {
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { cpu: '1' },
    });
    assert.deepEqual(
      recommendedResources(c, rec, {
        controlledValues: 'RequestsOnly',
        controlledResources: ['cpu'],
      }),
      {
        requests: { cpu: '250m', memory: '64Mi' },
        limits: { cpu: '400m' },
      },
    );
    assert.equal(
      recommendedResources(
        c,
        { containerName: 'app', target: { cpu: '100m', memory: '64Mi' } },
        undefined,
      ),
      undefined,
    );
  });
});

describe('updater', () => {
  const withRec = (target: string, lower: string, upper: string): VerticalPodAutoscaler => ({
    ...vpa(),
    status: {
      recommendation: {
        containerRecommendations: [
          {
            containerName: 'app',
            target: { cpu: target },
            lowerBound: { cpu: lower },
            upperBound: { cpu: upper },
          },
        ],
      },
    },
  });
  const pod = { spec: { containers: [{ name: 'app', resources: { requests: { cpu: '100m' } } }] } };
  const cases = [
    {
      name: 'a request below the lower bound is updated at once',
      v: withRec('300m', '200m', '1'),
      ageMs: 0,
      want: true,
    },
    {
      name: 'a request in range of a young pod waits',
      v: withRec('300m', '50m', '1'),
      ageMs: 0,
      want: false,
    },
    {
      name: 'a 10% difference is applied once the pod lived the threshold',
      v: withRec('300m', '50m', '1'),
      ageMs: 13 * hour,
      want: true,
    },
    {
      name: 'a difference under 10% is left alone',
      v: withRec('105m', '50m', '1'),
      ageMs: 13 * hour,
      want: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const u = podUpdateFor(c.v, pod, { podAgeMs: c.ageMs, lifetimeThresholdMs: 12 * hour });
      assert.equal(u !== undefined, c.want);
    });
  }

  it('finds an HPA on a resource the VPA controls', () => {
    const hpa = (name: string) => ({
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web' },
        metrics: [{ type: 'Resource', resource: { name } }],
      },
    });
    assert.deepEqual(hpaConflicts(vpa(), hpa('cpu')), ['cpu']);
    const memOnly = vpa({
      resourcePolicy: {
        containerPolicies: [{ containerName: '*', controlledResources: ['memory'] }],
      },
    });
    assert.deepEqual(hpaConflicts(memOnly, hpa('cpu')), []);
    assert.deepEqual(
      hpaConflicts(vpa({ targetRef: { kind: 'Deployment', name: 'other' } }), hpa('cpu')),
      [],
    );
  });
});
