// Pod IP allocation from the pod CIDR (the host-local IPAM plugin's role), persisted under the data
// dir so that IPs survive a Skiff restart and adopted pods keep their addresses.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Cidr, formatIPv4, parseCidr } from '../../lib/cidr.js';

interface IpamState {
  cidr: string;
  /** Next offset to try, so a released IP is not handed out again at once. */
  next: number;
  /** ip → owner key (the pod uid). */
  allocated: Record<string, string>;
}

/** Allocates pod IPs; offset 1 (the gateway) and the broadcast address are never handed out. */
export class IpAllocator {
  #file: string;
  #cidr: Cidr;
  #state: IpamState;

  constructor(opts: { stateDir: string; cidr: string }) {
    this.#cidr = parseCidr(opts.cidr);
    mkdirSync(opts.stateDir, { recursive: true });
    this.#file = path.join(opts.stateDir, 'ipam.json');
    const loaded = existsSync(this.#file)
      ? (JSON.parse(readFileSync(this.#file, 'utf8')) as IpamState)
      : undefined;
    // A changed CIDR invalidates every old lease.
    this.#state =
      loaded && loaded.cidr === opts.cidr ? loaded : { cidr: opts.cidr, next: 2, allocated: {} };
  }

  /** The gateway (bridge) address: the first address of the block. */
  get gateway(): string {
    return formatIPv4(this.#cidr.base + 1);
  }

  /** The prefix length of the pod CIDR. */
  get prefixLength(): number {
    return this.#cidr.bits;
  }

  /** Returns the IP held by owner, allocating one when it has none. */
  allocate(owner: string): string {
    const held = this.ipOf(owner);
    if (held) return held;
    const usable = this.#cidr.size - 3; // network, gateway, broadcast
    for (let i = 0; i < usable; i++) {
      const offset = ((this.#state.next - 2 + i) % usable) + 2;
      const ip = formatIPv4(this.#cidr.base + offset);
      if (this.#state.allocated[ip] === undefined) {
        this.#state.allocated[ip] = owner;
        this.#state.next = offset + 1;
        this.#save();
        return ip;
      }
    }
    throw new Error(`no free IP left in pod CIDR ${this.#state.cidr}`);
  }

  /** The IP currently held by owner, if any. */
  ipOf(owner: string): string | undefined {
    for (const [ip, o] of Object.entries(this.#state.allocated)) if (o === owner) return ip;
    return undefined;
  }

  /** Releases every IP held by owner. */
  release(owner: string): void {
    let changed = false;
    for (const [ip, o] of Object.entries(this.#state.allocated)) {
      if (o === owner) {
        delete this.#state.allocated[ip];
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  /** Owners holding an IP. */
  owners(): string[] {
    return [...new Set(Object.values(this.#state.allocated))];
  }

  #save(): void {
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#state));
    renameSync(tmp, this.#file);
  }
}
