// The pod network (a bridge CNI plugin analog): bridge `skiff0` holding the gateway address of the
// pod CIDR, one network namespace per pod with a veth into the bridge, an IP from the allocator and a
// default route via the bridge. Nothing is NATed or routed off the machine.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { cidrsOverlap, parseCidr } from '../../lib/cidr.js';
import { createLogger } from '../../lib/log.js';
import { runCommand } from '../run.js';
import { IpAllocator } from './ipam.js';

const log = createLogger({ component: 'pod-network' });

/** Where `ip netns add` keeps its namespace files. */
export const netnsDir = '/run/netns';

// statfs f_type of a namespace file (linux/magic.h NSFS_MAGIC): what a bind-mounted netns reports;
// a plain file left where a namespace was (a half-done rename, a wiped mount) reports tmpfs.
const nsfsMagic = 0x6e736673;

/** True when path is a live namespace (a bind mount of nsfs), not a stale file or nothing. */
export function isNamespaceFile(path: string): boolean {
  try {
    return statfsSync(path).type === nsfsMagic;
  } catch {
    return false;
  }
}

/** What a pod sandbox gets from the network. */
export interface PodNetworkInfo {
  ip: string;
  /** Path of the network namespace file, undefined in reduced mode. */
  netnsPath?: string;
  /**
   * Set when the sandbox must bring up lo and eth0 and add the default route itself (from inside
   * the namespace, without another `ip` process): see setup's `configureInside`.
   */
  inside?: { prefixLength: number; gateway: string };
  /**
   * Set when the namespace is a spare made ahead of time: the sandbox renames this file to
   * netnsPath (a bind mount moved from inside, without an `ip` process) before joining it.
   */
  renameFrom?: string;
}

/** A network namespace with its veth already in the bridge, made before any pod needs it. */
export interface SpareNetns {
  /** Namespace name (netnsPrefix.spare-<hex>: not a pod's, whose names are netnsPrefix-<uid>). */
  name: string;
  netnsPath: string;
  /** Host side of its veth pair (in the bridge). */
  veth: string;
}

/** Options of PodNetwork. */
export interface PodNetworkOptions {
  /** Directory for the IPAM state. */
  stateDir: string;
  /** Pod CIDR, default 10.244.0.0/16. */
  podCIDR?: string;
  /** Bridge name, default skiff0 (tests use their own). */
  bridgeName?: string;
  /** Prefix of the namespace names Skiff owns, default "skiff". */
  netnsPrefix?: string;
  /** Reduced mode: loopback IPs from 127.1.0.0/16, no namespaces. */
  reducedMode?: boolean;
}

/** Sets up and tears down pod network namespaces. */
export class PodNetwork {
  readonly bridgeName: string;
  readonly netnsPrefix: string;
  readonly podCIDR: string;
  readonly isReduced: boolean;
  #ipam: IpAllocator;

  constructor(opts: PodNetworkOptions) {
    this.bridgeName = opts.bridgeName ?? 'skiff0';
    this.netnsPrefix = opts.netnsPrefix ?? 'skiff';
    this.isReduced = opts.reducedMode === true;
    this.podCIDR = this.isReduced ? '127.1.0.0/16' : (opts.podCIDR ?? '10.244.0.0/16');
    this.#ipam = new IpAllocator({ stateDir: opts.stateDir, cidr: this.podCIDR });
  }

  /** The bridge (gateway) address: the host's address as seen from pods. */
  get gatewayIP(): string {
    return this.#ipam.gateway;
  }

  /**
   * Creates the bridge when missing. Refuses a pod CIDR overlapping a route the host already has
   * (other than our own bridge's), since pods would then shadow or be shadowed by real networks.
   */
  async ensureBridge(): Promise<void> {
    if (this.isReduced) return;
    const cidr = parseCidr(this.podCIDR);
    const routes = JSON.parse(await runCommand('ip', ['-j', 'route', 'show'])) as Array<{
      dst: string;
      dev?: string;
    }>;
    for (const r of routes) {
      if (r.dst === 'default' || r.dev === this.bridgeName) continue;
      if (cidrsOverlap(cidr, parseCidr(r.dst))) {
        throw new Error(
          `pod CIDR ${this.podCIDR} overlaps the host route ${r.dst} on ${r.dev ?? '?'}; ` +
            'choose another one with --pod-cidr',
        );
      }
    }
    const links = await runCommand('ip', ['-br', 'link', 'show', 'dev', this.bridgeName], {
      allowFailure: true,
    });
    const addr = `${this.gatewayIP}/${this.#ipam.prefixLength}`;
    if (!links.trim()) {
      await runCommand('ip', ['-batch', '-'], {
        input: [
          `link add ${this.bridgeName} type bridge`,
          `addr add ${addr} dev ${this.bridgeName}`,
          `link set ${this.bridgeName} up`,
        ].join('\n'),
      });
      log.info('created bridge', { bridge: this.bridgeName, addr });
      return;
    }
    const shown = await runCommand('ip', ['-br', 'addr', 'show', 'dev', this.bridgeName]);
    if (!shown.includes(addr)) {
      await runCommand('ip', ['addr', 'add', addr, 'dev', this.bridgeName]);
    }
    await runCommand('ip', ['link', 'set', this.bridgeName, 'up']);
  }

  /** Name of the network namespace of a pod. */
  netnsName(podUID: string): string {
    return `${this.netnsPrefix}-${podUID}`;
  }

  /** The pod's IP (allocated now when it has none), known before its namespace exists. */
  allocateIP(podUID: string): string {
    return this.#ipam.allocate(podUID);
  }

  /**
   * Sets up (or, for an adopted pod, finds) the network of one pod; idempotent. With
   * configureInside only the namespace and the veth pair are made (one `ip` process); the caller
   * then configures eth0 from inside the namespace (the pod shim does, with ioctls).
   */
  async setup(podUID: string, opts: { configureInside?: boolean } = {}): Promise<PodNetworkInfo> {
    const ip = this.#ipam.allocate(podUID);
    if (this.isReduced) return { ip };
    const ns = this.netnsName(podUID);
    const netnsPath = path.join(netnsDir, ns);
    if (existsSync(netnsPath)) {
      // Adopting a pod from a previous run: keep its namespace if it is fully set up.
      const shown = await runCommand('ip', ['-n', ns, '-br', 'addr', 'show', 'dev', 'eth0'], {
        allowFailure: true,
      });
      if (shown.includes(`${ip}/`)) return { ip, netnsPath };
      await this.#deleteNetns(ns);
    }
    const veth = this.#vethName(podUID);
    try {
      await runCommand('ip', ['-batch', '-'], {
        input: [
          `netns add ${ns}`,
          `link add ${veth} type veth peer name eth0 netns ${ns}`,
          `link set ${veth} master ${this.bridgeName} up`,
        ].join('\n'),
      });
      if (opts.configureInside) {
        return {
          ip,
          netnsPath,
          inside: { prefixLength: this.#ipam.prefixLength, gateway: this.gatewayIP },
        };
      }
      await runCommand('ip', ['-n', ns, '-batch', '-'], {
        input: [
          'link set lo up',
          'link set eth0 up',
          `addr add ${ip}/${this.#ipam.prefixLength} dev eth0`,
          `route add default via ${this.gatewayIP}`,
        ].join('\n'),
      });
    } catch (err) {
      await this.teardown(podUID);
      throw err;
    }
    return { ip, netnsPath };
  }

  /**
   * Makes a spare namespace and veth (one `ip` process), off any pod's critical path; a pod then
   * gets it through adoptSpare. Spares left by an earlier run are removed by removeStaleSpares.
   */
  async makeSpare(): Promise<SpareNetns> {
    const name = `${this.#sparePrefix}${randomBytes(6).toString('hex')}`;
    const veth = vethFor(name);
    const spare = { name, netnsPath: path.join(netnsDir, name), veth };
    try {
      await runCommand('ip', ['-batch', '-'], {
        input: [
          `netns add ${name}`,
          `link add ${veth} type veth peer name eth0 netns ${name}`,
          `link set ${veth} master ${this.bridgeName} up`,
        ].join('\n'),
      });
    } catch (err) {
      await this.discardSpare(spare);
      throw err;
    }
    return spare;
  }

  /**
   * True when a spare can still be handed out: its namespace file is a live namespace and its
   * veth is still a port of this bridge. Spares are never trusted blindly: something outside this
   * process (a `skiff down` of the same data dir, a reboot, an admin's `ip netns del`) may have
   * removed either since it was made. Costs two syscalls, no `ip` process.
   */
  isSpareUsable(spare: SpareNetns): boolean {
    if (!isNamespaceFile(spare.netnsPath)) return false;
    try {
      const master = readlinkSync(`/sys/class/net/${spare.veth}/master`);
      return path.basename(master) === this.bridgeName;
    } catch {
      return false;
    }
  }

  /**
   * The network of a pod built on a spare namespace: its IP, and the rename the sandbox performs
   * (spare → the pod's own namespace name, so teardown and adoption find it as usual);
   * undefined when the pod has a namespace already.
   */
  adoptSpare(podUID: string, spare: SpareNetns): PodNetworkInfo | undefined {
    const netnsPath = path.join(netnsDir, this.netnsName(podUID));
    if (existsSync(netnsPath)) return undefined; // a retried start: setup() checks and reuses it
    return {
      ip: this.#ipam.allocate(podUID),
      netnsPath,
      inside: { prefixLength: this.#ipam.prefixLength, gateway: this.gatewayIP },
      renameFrom: spare.netnsPath,
    };
  }

  /** Removes a spare (unused, or handed out but never renamed); its veth goes with it. */
  async discardSpare(spare: SpareNetns): Promise<void> {
    await this.#deleteNetns(spare.name);
    // A namespace deleted behind our back leaves its veth pair gone too, but a half-made spare
    // (the batch failed between its lines) can hold the host side alone.
    if (existsSync(`/sys/class/net/${spare.veth}`))
      await runCommand('ip', ['link', 'del', spare.veth], { allowFailure: true });
  }

  /**
   * Removes every spare namespace of this prefix. Only while no spare is in use: before the sandbox
   * pool fills, or after it closed (a spare handed to a pod keeps its spare name until the pod's
   * shim renames it, and must not vanish meanwhile: issue 12).
   */
  async removeStaleSpares(): Promise<void> {
    if (this.isReduced || !existsSync(netnsDir)) return;
    for (const f of readdirSync(netnsDir)) {
      if (f.startsWith(this.#sparePrefix)) await this.#deleteNetns(f);
    }
  }

  get #sparePrefix(): string {
    return `${this.netnsPrefix}.spare-`;
  }

  /** Removes a pod's namespace (its veth goes with it) and releases its IP. */
  async teardown(podUID: string): Promise<void> {
    if (!this.isReduced) {
      const ns = this.netnsName(podUID);
      await this.#deleteNetns(ns);
      // A half-made setup may have left the host side of the pair behind.
      const veth = this.#vethName(podUID);
      if (existsSync(`/sys/class/net/${veth}`))
        await runCommand('ip', ['link', 'del', veth], { allowFailure: true });
    }
    this.#ipam.release(podUID);
  }

  /** UIDs of pods with a namespace or an IP (to find leftovers of a previous run). */
  knownPods(): string[] {
    const uids = new Set(this.#ipam.owners());
    if (!this.isReduced && existsSync(netnsDir)) {
      for (const f of readdirSync(netnsDir)) {
        if (f.startsWith(`${this.netnsPrefix}-`)) uids.add(f.slice(this.netnsPrefix.length + 1));
      }
    }
    return [...uids];
  }

  /** Removes everything this network made: every pod namespace, every IP, the bridge. */
  async cleanupAll(): Promise<void> {
    const uids = this.knownPods();
    if (!this.isReduced) {
      // One `ip` process for every namespace (a pod's veth pair goes with it) and the bridge:
      // `skiff down` with 10 pods would otherwise spawn two processes per pod (issue 18).
      const names = existsSync(netnsDir)
        ? readdirSync(netnsDir).filter(
            (f) => f.startsWith(`${this.netnsPrefix}-`) || f.startsWith(this.#sparePrefix),
          )
        : [];
      const bridge = existsSync(`/sys/class/net/${this.bridgeName}`);
      const lines = [
        ...names.map((n) => `netns del ${n}`),
        ...(bridge ? [`link del ${this.bridgeName}`] : []),
      ];
      if (lines.length)
        await runCommand('ip', ['-force', '-batch', '-'], {
          input: `${lines.join('\n')}\n`,
          allowFailure: true,
        });
    }
    // What the batch left (stacked mounts, a half-made veth) goes one by one, as before.
    for (const uid of uids) await this.teardown(uid);
    await this.removeStaleSpares();
    if (this.isReduced) return;
    if (existsSync(`/sys/class/net/${this.bridgeName}`))
      await runCommand('ip', ['link', 'del', this.bridgeName]);
  }

  async #deleteNetns(ns: string): Promise<void> {
    // A namespace file can carry stacked mounts (a racing `ip netns add`, or mount propagation
    // from another mount namespace): each `ip netns del` removes one layer.
    for (let i = 0; i < 4 && existsSync(path.join(netnsDir, ns)); i++) {
      await runCommand('ip', ['netns', 'del', ns], { allowFailure: true });
    }
  }

  #vethName(podUID: string): string {
    return vethFor(this.netnsName(podUID));
  }
}

// Interface names are limited to 15 characters: hash the namespace name.
function vethFor(netnsName: string): string {
  return `vs${createHash('sha1').update(netnsName).digest('hex').slice(0, 11)}`;
}
