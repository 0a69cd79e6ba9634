// Exponential-bucket histograms with exponentially decaying sample weights, as the VPA recommender
// keeps them (kubernetes/autoscaler vertical-pod-autoscaler/pkg/recommender/util histogram.go,
// decaying_histogram.go, histogram_options.go). Times are ms since the epoch.

/** Bucket layout: bucket n starts at firstBucketSize * (ratio^n - 1) / (ratio - 1). */
export class ExponentialBuckets {
  readonly numBuckets: number;
  readonly epsilon: number;
  #first: number;
  #ratio: number;

  constructor(opts: { maxValue: number; firstBucketSize: number; ratio: number; epsilon: number }) {
    if (opts.maxValue <= 0 || opts.firstBucketSize <= 0 || opts.ratio <= 1 || opts.epsilon <= 0) {
      throw new RangeError(
        'maxValue, firstBucketSize and epsilon must be > 0.0, ratio must be > 1.0',
      );
    }
    this.#first = opts.firstBucketSize;
    this.#ratio = opts.ratio;
    this.epsilon = opts.epsilon;
    this.numBuckets =
      Math.ceil(this.#log((opts.maxValue * (opts.ratio - 1)) / opts.firstBucketSize + 1)) + 1;
  }

  #log(x: number): number {
    return Math.log(x) / Math.log(this.#ratio);
  }

  /** The bucket a value falls in (the last one for values past the maximum). */
  findBucket(value: number): number {
    if (value < this.#first) return 0;
    const bucket = Math.floor(this.#log((value * (this.#ratio - 1)) / this.#first + 1));
    return Math.min(bucket, this.numBuckets - 1);
  }

  /** Where a bucket starts. */
  bucketStart(bucket: number): number {
    if (bucket < 0 || bucket >= this.numBuckets) {
      throw new RangeError(`Bucket index ${bucket} out of range [0..${this.numBuckets - 1}]`);
    }
    if (bucket === 0) return 0;
    return (this.#first * (this.#ratio ** bucket - 1)) / (this.#ratio - 1);
  }
}

// minSampleWeight 0.1 and epsilon = 0.001 * minSampleWeight (model/aggregations_config.go).
const histogramEpsilon = 0.0001;

/** CPU buckets in cores: 0.01 first bucket, 5% growth, up to 1000 cores. */
export const cpuBuckets = new ExponentialBuckets({
  maxValue: 1000,
  firstBucketSize: 0.01,
  ratio: 1.05,
  epsilon: histogramEpsilon,
});

/** Memory buckets in bytes: 10 MB first bucket, 5% growth, up to 1 TB. */
export const memoryBuckets = new ExponentialBuckets({
  maxValue: 1e12,
  firstBucketSize: 1e7,
  ratio: 1.05,
  epsilon: histogramEpsilon,
});

// A decaying histogram moves its reference time once samples are this many half-lives past it,
// so 2^exponent weights stay finite (maxDecayExponent).
const maxDecayExponent = 100;

/**
 * A histogram whose samples weigh 2^((t - reference) / halfLife): a sample one half-life older
 * counts half as much. Percentiles return the end of the bucket that crosses the threshold.
 */
export class DecayingHistogram {
  readonly buckets: ExponentialBuckets;
  readonly halfLifeMs: number;
  #weights: Float64Array;
  #total = 0;
  #min: number;
  #max = 0;
  #reference = 0;

  constructor(buckets: ExponentialBuckets, halfLifeMs: number) {
    this.buckets = buckets;
    this.halfLifeMs = halfLifeMs;
    this.#weights = new Float64Array(buckets.numBuckets);
    this.#min = buckets.numBuckets - 1;
  }

  /** Adds a sample of `weight` taken at `time`. */
  addSample(value: number, weight: number, time: number): void {
    if (weight < 0) throw new RangeError('Sample weight must be non-negative');
    const w = weight * this.#decayFactor(time);
    const b = this.buckets.findBucket(value);
    this.#weights[b] = (this.#weights[b] ?? 0) + w;
    this.#total += w;
    const eps = this.buckets.epsilon;
    if (b < this.#min && (this.#weights[b] ?? 0) >= eps) this.#min = b;
    if (b > this.#max && (this.#weights[b] ?? 0) >= eps) this.#max = b;
  }

  /** Takes back a sample added earlier (memory peaks replaced within their window). */
  subtractSample(value: number, weight: number, time: number): void {
    if (weight < 0) throw new RangeError('Sample weight must be non-negative');
    const w = weight * this.#decayFactor(time);
    const b = this.buckets.findBucket(value);
    const eps = this.buckets.epsilon;
    this.#total = safeSubtract(this.#total, w, eps);
    this.#weights[b] = safeSubtract(this.#weights[b] ?? 0, w, eps);
    this.#updateMinMax();
  }

  /** True when nothing (above epsilon) was recorded. */
  get isEmpty(): boolean {
    return (this.#weights[this.#min] ?? 0) < this.buckets.epsilon;
  }

  /** The value below which `p` (0..1) of the weight lies: the end of the bucket reaching it. */
  percentile(p: number): number {
    if (this.isEmpty) return 0;
    const threshold = p * this.#total;
    let partial = 0;
    let b = this.#min;
    for (; b < this.#max; b++) {
      partial += this.#weights[b] ?? 0;
      if (partial >= threshold) break;
    }
    return b < this.buckets.numBuckets - 1
      ? this.buckets.bucketStart(b + 1)
      : this.buckets.bucketStart(b);
  }

  /** The histogram as a checkpoint stores it. */
  checkpoint(): HistogramCheckpoint {
    const bucketWeights: Record<string, number> = {};
    let max = 0;
    for (let b = this.#min; b <= this.#max; b++) max = Math.max(max, this.#weights[b] ?? 0);
    const ratio = max > 0 ? maxCheckpointWeight / max : 0;
    for (let b = this.#min; b <= this.#max; b++) {
      const w = Math.round((this.#weights[b] ?? 0) * ratio);
      if (w > 0) bucketWeights[String(b)] = w;
    }
    return {
      referenceTimestamp: new Date(this.#reference).toISOString(),
      bucketWeights,
      totalWeight: this.#total,
    };
  }

  /** Adds a checkpoint's weights (LoadFromCheckpoint); throws RangeError on a bad one. */
  load(cp: HistogramCheckpoint): void {
    const total = cp.totalWeight ?? 0;
    if (total < 0) throw new RangeError(`Cannot load checkpoint with negative weight ${total}`);
    const entries = Object.entries(cp.bucketWeights ?? {}).map(([b, w]) => [Number(b), w] as const);
    let sum = 0;
    for (const [b, w] of entries) {
      if (!Number.isInteger(b) || b < 0 || b >= this.buckets.numBuckets) {
        throw new RangeError(
          `Checkpoint has bucket ${b} outside [0..${this.buckets.numBuckets - 1}]`,
        );
      }
      sum += w;
    }
    if (sum === 0) return;
    this.#reference = Date.parse(cp.referenceTimestamp ?? '') || 0;
    const ratio = total / sum;
    for (const [b, w] of entries) {
      this.#weights[b] = (this.#weights[b] ?? 0) + w * ratio;
      if (b < this.#min) this.#min = b;
      if (b > this.#max) this.#max = b;
    }
    this.#total += total;
    this.#updateMinMax();
  }

  #decayFactor(time: number): number {
    if (time > this.#reference + this.halfLifeMs * maxDecayExponent) this.#shiftReference(time);
    return 2 ** ((time - this.#reference) / this.halfLifeMs);
  }

  #shiftReference(time: number): void {
    const next = Math.round(time / this.halfLifeMs) * this.halfLifeMs;
    const exponent = Math.floor((this.#reference - next) / this.halfLifeMs + 0.5);
    const factor = 2 ** exponent;
    for (let b = this.#min; b <= this.#max; b++)
      this.#weights[b] = (this.#weights[b] ?? 0) * factor;
    this.#total *= factor;
    this.#reference = next;
    this.#updateMinMax();
  }

  #updateMinMax(): void {
    const eps = this.buckets.epsilon;
    const last = this.buckets.numBuckets - 1;
    while ((this.#weights[this.#min] ?? 0) < eps && this.#min < last) this.#min++;
    while ((this.#weights[this.#max] ?? 0) < eps && this.#max > 0) this.#max--;
  }
}

/** A histogram as a VerticalPodAutoscalerCheckpoint stores it (HistogramCheckpoint). */
export interface HistogramCheckpoint {
  referenceTimestamp?: string;
  /** Bucket index → weight, scaled so the heaviest bucket is maxCheckpointWeight. */
  bucketWeights?: Record<string, number>;
  totalWeight?: number;
}

// Upstream MaxCheckpointWeight: bucket weights are stored as integers up to this.
const maxCheckpointWeight = 10000;

function safeSubtract(value: number, sub: number, epsilon: number): number {
  const v = value - sub;
  return v < epsilon ? 0 : v;
}
