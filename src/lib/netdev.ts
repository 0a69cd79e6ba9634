// Host network device helpers (iproute2): the device carrying every ClusterIP as a /32 (kube-proxy's
// kube-ipvs0 idea), shared by the service proxy and cluster DNS. A port-less bridge is used because
// the `dummy` link type is missing on some kernels.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Name of the device that holds the ClusterIPs. */
export const serviceDeviceName = 'skiff-svc';

async function ip(args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run('ip', args, { encoding: 'utf8' });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = execFile('ip', args, { encoding: 'utf8' }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

function stderrOf(err: unknown): string {
  if (err && typeof err === 'object' && 'stderr' in err) return String(err.stderr);
  return err instanceof Error ? err.message : String(err);
}

/** True when this process may change host links and addresses (root with iproute2). */
export function canManageDevices(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Creates the service device if missing and sets it up (idempotent). */
export async function ensureServiceDevice(name = serviceDeviceName): Promise<void> {
  try {
    await ip(['link', 'add', name, 'type', 'bridge']);
  } catch (err) {
    if (!/File exists/.test(stderrOf(err))) {
      throw new Error(`Cannot create device "${name}": ${stderrOf(err).trim()}`, { cause: err });
    }
  }
  await ip(['link', 'set', name, 'up']);
}

/** Deletes the service device and with it every ClusterIP address (idempotent). */
export async function deleteServiceDevice(name = serviceDeviceName): Promise<void> {
  try {
    await ip(['link', 'del', name]);
  } catch (err) {
    if (!/Cannot find device|does not exist/.test(stderrOf(err))) {
      throw new Error(`Cannot delete device "${name}": ${stderrOf(err).trim()}`, { cause: err });
    }
  }
}

/** The IPv4 addresses currently on the device (empty when the device is missing). */
export async function listDeviceAddresses(name = serviceDeviceName): Promise<Set<string>> {
  let out: string;
  try {
    out = await ip(['-j', '-4', 'addr', 'show', 'dev', name]);
  } catch (err) {
    if (/does not exist|Cannot find device/.test(stderrOf(err))) return new Set();
    throw err;
  }
  const parsed = JSON.parse(out || '[]') as { addr_info?: { local?: string }[] }[];
  const addrs = new Set<string>();
  for (const link of parsed) {
    for (const a of link.addr_info ?? []) if (a.local) addrs.add(a.local);
  }
  return addrs;
}

/**
 * Adds one address as a /32 to the device, creating the device first if needed (idempotent).
 * Only adds: a sync to "what was there plus this" would remove an address another component
 * (the service proxy) added meanwhile, leaving that ClusterIP unreachable until its next full
 * sync, 30 s later (seen after `skiff up`: DNS and the proxy start together).
 */
export async function addServiceAddress(addr: string, name = serviceDeviceName): Promise<void> {
  await ensureServiceDevice(name);
  if ((await listDeviceAddresses(name)).has(addr)) return;
  try {
    await ip(['addr', 'add', `${addr}/32`, 'dev', name]);
  } catch (err) {
    // Added concurrently by someone else: fine.
    if (!(await listDeviceAddresses(name)).has(addr)) throw err;
  }
}

/**
 * Makes the device carry exactly `want` (adds missing /32s, removes others) in one `ip -batch`
 * call, so a sync with hundreds of Services costs one process spawn.
 */
export async function syncDeviceAddresses(
  want: ReadonlySet<string>,
  name = serviceDeviceName,
): Promise<{ added: string[]; removed: string[] }> {
  const have = await listDeviceAddresses(name);
  const added = [...want].filter((a) => !have.has(a));
  const removed = [...have].filter((a) => !want.has(a));
  if (added.length === 0 && removed.length === 0) return { added, removed };
  const lines = [
    ...removed.map((a) => `addr del ${a}/32 dev ${name}`),
    ...added.map((a) => `addr add ${a}/32 dev ${name}`),
  ];
  try {
    // -force keeps going after one failing line (e.g. an address added concurrently).
    await ip(['-force', '-batch', '-'], `${lines.join('\n')}\n`);
  } catch (err) {
    const after = await listDeviceAddresses(name);
    const missing = [...want].filter((a) => !after.has(a));
    if (missing.length) {
      throw new Error(`Cannot add addresses ${missing.join(', ')} to "${name}"`, { cause: err });
    }
  }
  return { added, removed };
}
