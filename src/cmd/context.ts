// What the wiring modules of cmd/ share about the cluster being started.
import type { Pki } from '../apiserver/auth/pki.js';
import type { KubeClient } from '../client/rest.js';
import type { ImageService } from '../images/service.js';
import type { DataDirLayout } from '../lib/data-dir.js';
import type { Logger } from '../lib/log.js';

/** The running cluster's facts, handed to each wiring function. */
export interface WiringContext {
  opts: ClusterOptions;
  pki: Pki;
  client: KubeClient;
  apiPort: number;
  apiUrl: string;
  layout: DataDirLayout;
  log: Logger;
  signal: AbortSignal;
  notice(message: string): void;
  /** The image store and puller the node agent resolves images with (set before the node starts). */
  images?: ImageService;
}

/** Settings of the HPA controller that `skiff up` exposes as flags. */
export interface HPASettings {
  syncPeriodMs: number;
  downscaleStabilizationMs: number;
  tolerance: number;
  cpuInitializationPeriodMs: number;
  initialReadinessDelayMs: number;
}

/** Settings of the VPA recommender/updater that `skiff up` exposes as flags. */
export interface VPASettings {
  /** Sampling and recommendation interval (upstream --recommender-interval 1m). */
  recommenderIntervalMs: number;
  /** Length of one memory-peak interval (upstream --memory-aggregation-interval 24h). */
  memoryAggregationIntervalMs: number;
  /** Pod age after which a 10% difference is applied (upstream podLifetimeUpdateThreshold 12h). */
  podLifetimeUpdateThresholdMs: number;
  /** Smallest recommendation per pod (upstream --pod-recommendation-min-cpu-millicores 25). */
  podMinCPUMillicores: number;
  /** Smallest recommendation per pod (upstream --pod-recommendation-min-memory-mb 250). */
  podMinMemoryMb: number;
  /** Safety margin over the percentile (upstream --recommendation-margin-fraction 0.15). */
  safetyMarginFraction: number;
  /** Base of the cpu target (upstream --target-cpu-percentile 0.9). */
  targetCPUPercentile: number;
  /** Base of the memory target (upstream --target-memory-percentile 0.9). */
  targetMemoryPercentile: number;
}

/** Everything `skiff up` configures. */
export interface ClusterOptions {
  dataDir: string;
  apiPort: number;
  ingressPort: number;
  ingressStatusPort: number;
  /** The ingress add-on's data plane (its INGRESS_DATA_PLANE); default auto. */
  ingressDataPlane?: 'auto' | 'nginx' | 'node';
  kubeletPort: number;
  metricsPort: number;
  dashboardPort: number;
  kubeVersion: string;
  podCIDR: string;
  serviceCIDR: string;
  nodeName: string;
  hpa: HPASettings;
  /** VPA settings; Skiff's defaults when absent. */
  vpa?: VPASettings;
  metricResolutionMs: number;
  /** How long an Event is kept after its last write (kube-apiserver --event-ttl; default 1h). */
  eventTtlMs?: number;
  /**
   * Test knob: the CronJob controller's clock runs this many times faster than real time (1 =
   * real time), so tests see schedules fire in seconds. Its timestamps (lastScheduleTime, the
   * scheduled-time annotation, event times) are then in that faster time.
   */
  cronJobTimeScale: number;
  reduced: boolean;
  mergeKubeconfig: boolean;
  /** `--registry-mirror REGISTRY=URL` values. */
  registryMirrors?: string[];
  /** `--insecure-registry HOST[:PORT]` values (plain http allowed). */
  insecureRegistries?: string[];
  /** Port of the local registry on 127.0.0.1 (default 5001); 0 disables it. */
  localRegistryPort?: number;
  /** Built-in add-ons `skiff up` leaves out (k3s --disable): "ingress", "metrics-server". */
  disable?: string[];
  /** Where LoadBalancer Services listen on their own ports; default 127.0.0.1. */
  loadBalancerIP?: string;
  onProgress?: (step: string, ms: number) => void;
  onNotice?: (message: string) => void;
}
