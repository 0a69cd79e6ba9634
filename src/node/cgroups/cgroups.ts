// Pod and container cgroups (the kubelet's cgroup manager, cgroupfs driver): v1 cpu/cpuacct/memory/
// pids or the v2 unified hierarchy, placed under the cgroup Skiff itself runs in.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Container } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../../api/quantity.js';

/** Resource settings of one container cgroup (from requests/limits). */
export interface CgroupResources {
  cpuRequestMilli?: number;
  cpuLimitMilli?: number;
  memoryLimitBytes?: number;
  pidsLimit?: number;
}

/** cgroup settings from a container's requests and limits. */
export function cgroupResources(c: Container): CgroupResources {
  const q = (v: string | number | undefined) => (v === undefined ? undefined : parseQuantity(v));
  const cpuReq = q(c.resources?.requests?.['cpu'] ?? c.resources?.limits?.['cpu']);
  const cpuLim = q(c.resources?.limits?.['cpu']);
  const mem = q(c.resources?.limits?.['memory']);
  return {
    cpuRequestMilli: cpuReq !== undefined ? Math.round(cpuReq * 1000) : undefined,
    cpuLimitMilli: cpuLim !== undefined ? Math.round(cpuLim * 1000) : undefined,
    memoryLimitBytes: mem !== undefined ? Math.round(mem) : undefined,
  };
}

/** Usage read from a cgroup. */
export interface CgroupUsage {
  cpuUsageNanos: number;
  memoryUsageBytes: number;
  memoryWorkingSetBytes: number;
  oomKills: number;
}

const root = '/sys/fs/cgroup';
const v1Controllers = ['cpu', 'cpuacct', 'memory', 'pids'] as const;

function selfPaths(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (ctrls === undefined || p === undefined) continue;
    for (const c of ctrls.split(',')) out.set(c, p);
  }
  return out;
}

/** Which hierarchy this machine offers; undefined when neither is usable. */
export function detectCgroupVersion(): 'v1' | 'v2' | undefined {
  if (v1Controllers.every((c) => existsSync(path.join(root, c, 'cgroup.procs')))) return 'v1';
  const ctrl = path.join(root, 'cgroup.controllers');
  if (existsSync(ctrl)) {
    const have = readFileSync(ctrl, 'utf8').split(/\s+/);
    if (have.includes('cpu') && have.includes('memory')) return 'v2';
  }
  return undefined;
}

/** Milli-CPU → cpu.shares as upstream MilliCPUToShares (minimum 2). */
export function milliCPUToShares(milli: number | undefined): number {
  if (!milli) return 2;
  return Math.max(2, Math.floor((milli * 1024) / 1000));
}

/** cgroup v2 cpu.weight from milli-CPU: 1 + ((shares - 2) * 9999) / 262142, as runc converts shares. */
export function cpuWeight(milli: number | undefined): number {
  return 1 + Math.floor(((milliCPUToShares(milli) - 2) * 9999) / 262142);
}

/** Creates, configures, reads and removes cgroups under `<own cgroup>/<name>`. */
export class CgroupManager {
  readonly version: 'v1' | 'v2';
  /** Base directory per controller (v2: a single 'unified' entry). */
  #bases: Map<string, string>;

  constructor(opts: { name?: string; version?: 'v1' | 'v2' } = {}) {
    const version = opts.version ?? detectCgroupVersion();
    if (!version)
      throw new Error('no usable cgroup hierarchy (need v1 cpu+memory or v2 with controllers)');
    this.version = version;
    const name = opts.name ?? 'skiff';
    const self = selfPaths();
    this.#bases = new Map();
    if (version === 'v1') {
      for (const c of v1Controllers) {
        this.#bases.set(c, path.join(root, c, self.get(c) ?? '/', name));
      }
    } else {
      this.#bases.set('unified', path.join(root, self.get('') ?? '/', name));
    }
  }

  /** The cgroup.procs files a container process writes itself into before exec. */
  procsFiles(podUID: string, container: string): string[] {
    return this.#dirs(podUID, container).map((d) => path.join(d, 'cgroup.procs'));
  }

  /** Creates the pod and container cgroups and applies the container's limits. */
  create(podUID: string, container: string, res: CgroupResources): void {
    if (this.version === 'v2') this.#enableV2Controllers(podUID);
    for (const d of this.#dirs(podUID, container)) mkdirSync(d, { recursive: true });
    this.update(podUID, container, res);
  }

  /**
   * Writes a container cgroup's cpu and memory settings (and pids.max) in place: the processes
   * keep running (in-place pod resize; the kubelet's UpdateContainerResources).
   */
  update(podUID: string, container: string, res: CgroupResources): void {
    const quota = res.cpuLimitMilli ? Math.max(1000, Math.floor(res.cpuLimitMilli * 100)) : -1;
    if (this.version === 'v1') {
      this.#write('cpu', podUID, container, 'cpu.shares', milliCPUToShares(res.cpuRequestMilli));
      this.#write('cpu', podUID, container, 'cpu.cfs_period_us', 100000);
      this.#write('cpu', podUID, container, 'cpu.cfs_quota_us', quota);
      this.#write('memory', podUID, container, 'memory.limit_in_bytes', res.memoryLimitBytes ?? -1);
      this.#write('pids', podUID, container, 'pids.max', res.pidsLimit ?? 'max');
    } else {
      this.#write('unified', podUID, container, 'cpu.weight', cpuWeight(res.cpuRequestMilli));
      this.#write(
        'unified',
        podUID,
        container,
        'cpu.max',
        quota < 0 ? 'max 100000' : `${quota} 100000`,
      );
      this.#write('unified', podUID, container, 'memory.max', res.memoryLimitBytes ?? 'max');
      this.#write('unified', podUID, container, 'pids.max', res.pidsLimit ?? 'max');
    }
  }

  /** Reads back a container cgroup's cpu.max / cpu.weight / memory.max (v2) or v1 equivalents. */
  settings(podUID: string, container: string): Record<string, string> {
    const files =
      this.version === 'v2'
        ? [
            ['unified', 'cpu.max'],
            ['unified', 'cpu.weight'],
            ['unified', 'memory.max'],
          ]
        : [
            ['cpu', 'cpu.cfs_quota_us'],
            ['cpu', 'cpu.shares'],
            ['memory', 'memory.limit_in_bytes'],
          ];
    const out: Record<string, string> = {};
    for (const [ctrl = '', file = ''] of files) {
      out[file] = this.#read(ctrl, podUID, container, file).trim();
    }
    return out;
  }

  /** Usage of a container cgroup, or of the whole pod when container is undefined. */
  usage(podUID: string, container?: string): CgroupUsage | undefined {
    try {
      if (this.version === 'v1') {
        const cpu = this.#read('cpuacct', podUID, container, 'cpuacct.usage');
        const mem = Number(this.#read('memory', podUID, container, 'memory.usage_in_bytes'));
        const stat = parseKV(this.#read('memory', podUID, container, 'memory.stat'));
        const oom = parseKV(this.#read('memory', podUID, container, 'memory.oom_control'));
        const inactive = stat.get('total_inactive_file') ?? 0;
        return {
          cpuUsageNanos: Number(cpu),
          memoryUsageBytes: mem,
          memoryWorkingSetBytes: Math.max(0, mem - inactive),
          oomKills: oom.get('oom_kill') ?? 0,
        };
      }
      const cpu = parseKV(this.#read('unified', podUID, container, 'cpu.stat'));
      const mem = Number(this.#read('unified', podUID, container, 'memory.current'));
      const stat = parseKV(this.#read('unified', podUID, container, 'memory.stat'));
      const events = parseKV(this.#read('unified', podUID, container, 'memory.events'));
      return {
        cpuUsageNanos: (cpu.get('usage_usec') ?? 0) * 1000,
        memoryUsageBytes: mem,
        memoryWorkingSetBytes: Math.max(0, mem - (stat.get('inactive_file') ?? 0)),
        oomKills: events.get('oom_kill') ?? 0,
      };
    } catch {
      return undefined; // the cgroup is gone (pod removed between listing and reading)
    }
  }

  /** Removes a pod's cgroups; processes must have exited (retries briefly while they die). */
  remove(podUID: string): void {
    for (const base of this.#bases.values()) removeTree(path.join(base, `pod${podUID}`));
  }

  /** UIDs of the pods that have a cgroup. */
  knownPods(): string[] {
    const uids = new Set<string>();
    for (const base of this.#bases.values()) {
      if (!existsSync(base)) continue;
      for (const d of readdirSync(base)) if (d.startsWith('pod')) uids.add(d.slice(3));
    }
    return [...uids];
  }

  /** Removes every cgroup this manager made, including its base. */
  cleanupAll(): void {
    for (const base of this.#bases.values()) removeTree(base);
  }

  #dirs(podUID: string, container: string): string[] {
    return [...this.#bases.values()].map((b) => path.join(b, `pod${podUID}`, container));
  }

  #file(ctrl: string, podUID: string, container: string | undefined, file: string): string {
    const base = this.#bases.get(ctrl) ?? '';
    return path.join(base, `pod${podUID}`, container ?? '', file);
  }

  #write(ctrl: string, podUID: string, container: string, file: string, value: number | string) {
    writeFileSync(this.#file(ctrl, podUID, container, file), String(value));
  }

  #read(ctrl: string, podUID: string, container: string | undefined, file: string): string {
    return readFileSync(this.#file(ctrl, podUID, container, file), 'utf8');
  }

  #enableV2Controllers(podUID: string): void {
    const base = this.#bases.get('unified') ?? '';
    for (const dir of [path.dirname(base), base, path.join(base, `pod${podUID}`)]) {
      mkdirSync(dir, { recursive: true });
      const ctl = path.join(dir, 'cgroup.subtree_control');
      try {
        writeFileSync(ctl, '+cpu +memory +pids');
      } catch {
        // Already enabled, or the parent delegates fewer controllers: limits then do not apply.
      }
    }
  }
}

function parseKV(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  // cgroup directories cannot be removed recursively: remove the leaves first.
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) removeTree(path.join(dir, e.name));
  }
  rmdirSync(dir);
}
