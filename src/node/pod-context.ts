// What every pod worker of the node agent shares: API client, clock, host network, cgroups,
// image catalog, warm shims and node facts.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EventRecorder } from '../client/events.js';
import type { KubeClient } from '../client/rest.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { CgroupManager } from './cgroups/cgroups.js';
import type { ImageManager } from './lifecycle/image-pull.js';
import type { PodNetwork } from './network/pod-network.js';
import type { SandboxPool } from './sandbox/pool.js';
import type { RootfsMode } from './sandbox/rootfs.js';

/** What every worker shares. */
export interface NodeContext {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  events: EventRecorder;
  network: PodNetwork;
  cgroups?: CgroupManager;
  /** Where container images come from (folder images, the store and its pulls, stand-ins). */
  images: ImageManager;
  /** Where shims and spare namespaces come from (warm, shims started through the reaper). */
  shims: SandboxPool;
  podsDir: string;
  nodeName: string;
  hostIP: string;
  clusterDNS: string;
  clusterDomain: string;
  isolated: boolean;
  /** How containers of images with layers get their root (overlay, or a copy). */
  rootfsMode: RootfsMode;
  caCert?: string;
  services: () => Service[];
  nodeCapacity: { cpu: number; memory: number };
  /** Jitter source in [0, 1) (tests pin it); Math.random by default. */
  random?: () => number;
}
