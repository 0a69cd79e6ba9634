// The Node object and its Lease (kubelet_node_status.go registerWithAPIServer/setNodeStatus and the
// node lease controller): registration with capacity, conditions and node info, then a heartbeat.
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import type { Node } from 'kubernetes-types/core/v1.js';
import { R } from '../client/resources.js';
import { isAlreadyExists, isNotFound, type KubeClient } from '../client/rest.js';
import type { Clock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

/** What the node's own status is made of. */
export interface NodeStatusOptions {
  client: KubeClient;
  clock: Clock;
  nodeName: string;
  dataDir: string;
  podCIDR: string;
  hostIP: string;
  /** The kubelet server's port (known once it listens). */
  port: () => number;
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function nodeObject(opts: NodeStatusOptions): Node {
  let storage = 0;
  try {
    const s = statfsSync(existsSync(opts.dataDir) ? opts.dataDir : '/');
    storage = s.blocks * s.bsize;
  } catch {
    storage = 0;
  }
  const capacity = {
    cpu: String(os.cpus().length),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': `${Math.floor(storage / 1024)}Ki`,
  };
  const now = new Date(opts.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: opts.nodeName,
      labels: {
        'kubernetes.io/hostname': opts.nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
        'node-role.kubernetes.io/control-plane': '',
      },
    },
    spec: { podCIDR: opts.podCIDR, podCIDRs: [opts.podCIDR] },
    status: {
      capacity,
      allocatable: capacity,
      conditions: [
        cond(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond(
          'PIDPressure',
          'False',
          'KubeletHasSufficientPID',
          'kubelet has sufficient PID available',
        ),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: opts.hostIP },
        { type: 'Hostname', address: opts.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: opts.port() } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: os.release(),
        osImage: osImage(),
        containerRuntimeVersion: 'skiff://0.1.0',
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        operatingSystem: 'linux',
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      },
    },
  };
}

/** Creates the Node object (or keeps the existing one) and writes its status. */
export async function registerNode(opts: NodeStatusOptions): Promise<void> {
  const node = nodeObject(opts);
  try {
    await opts.client.create(R.nodes, node);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  await opts.client.patch(
    R.nodes,
    undefined,
    opts.nodeName,
    { status: node.status },
    { type: 'merge', subresource: 'status' },
  );
}

/** Renews (or creates) the node's Lease in kube-node-lease: the heartbeat the node controller reads. */
export async function renewLease(opts: NodeStatusOptions): Promise<void> {
  const now = new Date(opts.clock.now()).toISOString().replace('Z', '000Z');
  const lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: opts.nodeName, namespace: 'kube-node-lease' },
    spec: { holderIdentity: opts.nodeName, leaseDurationSeconds: 40, renewTime: now },
  };
  try {
    await opts.client.patch(
      R.leases,
      'kube-node-lease',
      opts.nodeName,
      { spec: lease.spec },
      { type: 'merge' },
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await opts.client.create(R.leases, lease);
  }
}

/** Renews the Lease every 10 s until the signal aborts (failures are logged and retried). */
export function startHeartbeat(
  opts: NodeStatusOptions & { log: Logger; signal: AbortSignal },
): void {
  // The pending timer is cancelled on abort: left running it would hold a stopped Skiff's
  // process open for up to 10 s (`skiff down` waits for that exit).
  let timer = opts.clock.setTimeout(() => void beat(), 10_000);
  const beat = async () => {
    if (opts.signal.aborted) return;
    try {
      await renewLease(opts);
    } catch (err) {
      opts.log.warn('lease renewal failed', { err: errorMessage(err) });
    }
    if (!opts.signal.aborted) timer = opts.clock.setTimeout(() => void beat(), 10_000);
  };
  opts.signal.addEventListener('abort', () => timer.cancel(), { once: true });
}
