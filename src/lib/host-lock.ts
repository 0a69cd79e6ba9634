// Host-wide locks on the address ranges a cluster claims (its pod and service CIDRs).
//
// Two `skiff up` on different data dirs but one pod CIDR would share a bridge, netns prefix and
// cgroup (their names derive from the CIDR): each node agent would take the other's pods for
// orphans of a crashed run and kill them, and `skiff down` of either would remove the other's
// network. The data dir's pid file cannot see that; a lock keyed by the range can.
//
// The lock is a listening Unix socket in the abstract namespace: the kernel drops it when its
// process exits, even by kill -9, so there is no stale lock file to judge. Whoever fails to take
// it connects and reads the holder's pid and data dir, to say who has the range.
import net from 'node:net';

/** Who holds a range. */
export interface RangeHolder {
  pid: number;
  dataDir: string;
}

/** What a cluster claims: a name for messages, the range, and the flag that picks another. */
export interface RangeClaim {
  what: string;
  cidr: string;
  flag: string;
}

/** Raised when another running Skiff holds a range this one claims. */
export class RangeInUseError extends Error {
  /** "pod CIDR 10.244.0.0/16 is in use by skiff (pid 12, data dir "/root/.skiff")". */
  readonly inUse: string;
  constructor(
    readonly claim: RangeClaim,
    readonly holder: RangeHolder | undefined,
  ) {
    const by = holder
      ? `skiff (pid ${holder.pid}, data dir "${holder.dataDir}")`
      : 'another skiff process';
    const inUse = `${claim.what} ${claim.cidr} is in use by ${by}`;
    super(`${inUse}: stop it with "skiff down" or pick another ${claim.flag}`);
    this.name = 'RangeInUseError';
    this.inUse = inUse;
  }
}

/** The abstract socket name of a range (a leading NUL puts it outside the filesystem). */
export function rangeLockName(cidr: string): string {
  return `\0skiff-range:${cidr}`;
}

/** Takes every claim or none; resolves to the release of all of them. */
export async function lockRanges(
  claims: RangeClaim[],
  self: RangeHolder,
): Promise<() => Promise<void>> {
  const held: net.Server[] = [];
  const release = async () => {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  };
  // One range claimed twice by this cluster (pod CIDR = service CIDR) is refused elsewhere.
  for (const cidr of new Set(claims.map((c) => c.cidr))) {
    const claim = claims.find((c) => c.cidr === cidr) as RangeClaim;
    try {
      held.push(await listenOnce(rangeLockName(cidr), self));
    } catch (err) {
      await release();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      throw new RangeInUseError(claim, await rangeHolder(cidr));
    }
  }
  return release;
}

/** The running Skiff holding a range, if any (undefined when free or the holder does not say). */
export async function rangeHolder(
  cidr: string,
  timeoutMs = 2000,
): Promise<RangeHolder | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect(rangeLockName(cidr));
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    socket.on('error', () => resolve(undefined));
    socket.on('close', () => {
      try {
        const h = JSON.parse(text) as Partial<RangeHolder>;
        resolve(
          typeof h.pid === 'number' && typeof h.dataDir === 'string'
            ? { pid: h.pid, dataDir: h.dataDir }
            : undefined,
        );
      } catch {
        resolve(undefined);
      }
    });
  });
}

function listenOnce(name: string, self: RangeHolder): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end(JSON.stringify(self));
    });
    server.once('error', reject);
    server.listen(name, () => {
      server.off('error', reject);
      // The lock must not keep a stopping process alive.
      server.unref();
      resolve(server);
    });
  });
}
