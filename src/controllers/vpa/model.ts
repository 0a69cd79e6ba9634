// The recommender's model of usage (kubernetes/autoscaler vertical-pod-autoscaler/pkg/recommender/
// model aggregate_container_state.go and container.go): one AggregateContainerState per (VPA,
// container name) with a CPU usage histogram and a histogram of memory peaks, fed by one
// ContainerState per running container. Times are ms since the epoch; CPU in cores, memory in bytes.
import {
  cpuBuckets,
  DecayingHistogram,
  type HistogramCheckpoint,
  memoryBuckets,
} from './histogram.js';

/** status of a VerticalPodAutoscalerCheckpoint (upstream VerticalPodAutoscalerCheckpointStatus). */
export interface CheckpointStatus {
  lastUpdateTime?: string;
  version?: string;
  cpuHistogram?: HistogramCheckpoint;
  memoryHistogram?: HistogramCheckpoint;
  firstSampleStart?: string;
  lastSampleStart?: string;
  totalSamplesCount?: number;
}

// Upstream's SupportedCheckpointVersion.
const checkpointVersion = 'v3';

/** Settings of the aggregation (upstream AggregationsConfig; defaults in brackets). */
export interface AggregationOptions {
  /** Half-life of CPU samples [24 h]. */
  cpuHalfLifeMs: number;
  /** Half-life of memory peaks [24 h]. */
  memoryHalfLifeMs: number;
  /** Length of one memory-peak interval [24 h]. */
  memoryAggregationIntervalMs: number;
  /** Memory is bumped by this ratio after an OOM kill [1.2]. */
  oomBumpUpRatio: number;
  /** ... and by at least this many bytes [100 MiB]. */
  oomMinBumpUpBytes: number;
}

/** Upstream's defaults (model.Default*). */
export const defaultAggregationOptions: AggregationOptions = {
  cpuHalfLifeMs: 24 * 3_600_000,
  memoryHalfLifeMs: 24 * 3_600_000,
  memoryAggregationIntervalMs: 24 * 3_600_000,
  oomBumpUpRatio: 1.2,
  oomMinBumpUpBytes: 100 * 1024 * 1024,
};

// Every CPU sample weighs the same (upstream minSampleWeight); memory peaks weigh 1.
const cpuSampleWeight = 0.1;

/** Usage histograms of all containers of one name under one VPA. */
export class AggregateContainerState {
  readonly cpu: DecayingHistogram;
  readonly memoryPeaks: DecayingHistogram;
  firstSampleStart = 0;
  lastSampleStart = 0;
  totalSamplesCount = 0;

  constructor(opts: AggregationOptions) {
    this.cpu = new DecayingHistogram(cpuBuckets, opts.cpuHalfLifeMs);
    this.memoryPeaks = new DecayingHistogram(memoryBuckets, opts.memoryHalfLifeMs);
  }

  /** The state as a checkpoint's status stores it (SaveToCheckpoint). */
  saveToCheckpoint(now: number): CheckpointStatus {
    const iso = (t: number) => new Date(t).toISOString();
    return {
      lastUpdateTime: iso(now),
      version: checkpointVersion,
      cpuHistogram: this.cpu.checkpoint(),
      memoryHistogram: this.memoryPeaks.checkpoint(),
      firstSampleStart: iso(this.firstSampleStart),
      lastSampleStart: iso(this.lastSampleStart),
      totalSamplesCount: this.totalSamplesCount,
    };
  }

  /** Restores a checkpoint (LoadFromCheckpoint); throws RangeError for another version. */
  loadFromCheckpoint(cp: CheckpointStatus): void {
    if (cp.version !== checkpointVersion) {
      throw new RangeError(`Unsupported checkpoint version ${cp.version}`);
    }
    this.totalSamplesCount = cp.totalSamplesCount ?? 0;
    this.firstSampleStart = Date.parse(cp.firstSampleStart ?? '') || 0;
    this.lastSampleStart = Date.parse(cp.lastSampleStart ?? '') || 0;
    if (cp.cpuHistogram) this.cpu.load(cp.cpuHistogram);
    if (cp.memoryHistogram) this.memoryPeaks.load(cp.memoryHistogram);
  }

  /** Records a CPU usage sample (cores) measured from `time`. */
  addCPUSample(cores: number, time: number): void {
    this.cpu.addSample(cores, cpuSampleWeight, time);
    if (time > this.lastSampleStart) this.lastSampleStart = time;
    if (this.firstSampleStart === 0 || time < this.firstSampleStart) this.firstSampleStart = time;
    this.totalSamplesCount++;
  }
}

/**
 * One running container's sampling state: the last CPU sample time (duplicates and out-of-order
 * samples are dropped) and the memory peak of the current aggregation interval, which replaces
 * the interval's earlier peak in the aggregate when it grows.
 */
export class ContainerState {
  #aggregate: AggregateContainerState;
  #opts: AggregationOptions;
  #lastCPUSampleStart = 0;
  #lastMemorySampleStart = 0;
  #windowEnd = 0;
  #memoryPeak = 0;
  #oomPeak = 0;

  constructor(aggregate: AggregateContainerState, opts: AggregationOptions) {
    this.#aggregate = aggregate;
    this.#opts = opts;
  }

  /** Adds a CPU sample; false when it is a duplicate or older than the last one. */
  addCPUSample(cores: number, time: number): boolean {
    if (cores < 0 || time <= this.#lastCPUSampleStart) return false;
    this.#aggregate.addCPUSample(cores, time);
    this.#lastCPUSampleStart = time;
    return true;
  }

  /** Adds a memory sample (bytes); only the interval's peak reaches the aggregate. */
  addMemorySample(bytes: number, time: number, isOOM = false): boolean {
    if (bytes < 0 || (!isOOM && time < this.#lastMemorySampleStart)) return false;
    this.#lastMemorySampleStart = time;
    if (this.#windowEnd === 0) this.#windowEnd = time;
    const peaks = this.#aggregate.memoryPeaks;
    let addNewPeak = false;
    if (time < this.#windowEnd) {
      const oldMax = Math.max(this.#memoryPeak, this.#oomPeak);
      if (oldMax !== 0 && bytes > oldMax) {
        peaks.subtractSample(oldMax, 1, this.#windowEnd);
        addNewPeak = true;
      }
    } else {
      // A new interval: the window end moves past the sample by whole intervals.
      const interval = this.#opts.memoryAggregationIntervalMs;
      const shift = Math.floor((time - this.#windowEnd) / interval) * interval + interval;
      this.#windowEnd += shift;
      this.#memoryPeak = 0;
      this.#oomPeak = 0;
      addNewPeak = true;
    }
    if (addNewPeak) {
      peaks.addSample(bytes, 1, this.#windowEnd);
      if (isOOM) this.#oomPeak = bytes;
      else this.#memoryPeak = bytes;
    }
    return true;
  }

  /** Records an OOM kill: memory needed = max(used + minBumpUp, used * bumpUpRatio). */
  recordOOM(time: number, requestedBytes: number): boolean {
    const used = Math.max(requestedBytes, this.#memoryPeak);
    const needed = Math.max(used + this.#opts.oomMinBumpUpBytes, used * this.#opts.oomBumpUpRatio);
    return this.addMemorySample(needed, time, true);
  }
}
