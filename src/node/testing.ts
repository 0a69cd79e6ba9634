// Test helpers for the node agent: a test API server plus a real agent on its own bridge, netns
// prefix and cgroup (so parallel tests never share host state), pod waiters and an exec client.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import type { Container, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import WebSocket from 'ws';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import type { ImageSource } from '../images/catalog.js';
import { buildImage, type TarEntry, type TestImage, tarball } from '../images/testing.js';
import { realClock } from '../lib/clock.js';
import { createNodeAgent, type NodeAgent } from './agent.js';
import { readProcStat } from './sandbox/proc.js';
import type { RootfsMode } from './sandbox/rootfs.js';

/** A running test node: API server, agent and the data dir they use. */
export interface TestNode {
  api: TestApiServer;
  agent: NodeAgent;
  dataDir: string;
  /** Starts a new agent on the same data dir and host names (adoption), after stopAgent(). */
  restartAgent(): Promise<NodeAgent>;
  /** Stops the agent, leaving its pods running (as `skiff` exiting does). */
  stopAgent(): void;
  /** Stops every pod, removes all host state, closes the API server. */
  close(): Promise<void>;
}

/** Options of a test node: reduced mode, image roots and the image source. */
export interface TestNodeOptions {
  reducedMode?: boolean;
  rootfsMode?: RootfsMode;
  images?: ImageSource;
}

/** A 10.x.0.0/16 pod CIDR no route or address on the host uses yet (x in 100..149). */
function unusedPodCIDR(): string {
  const used = new Set<number>();
  for (const args of [
    ['-4', 'addr'],
    ['-4', 'route', 'show', 'table', 'all'],
  ]) {
    const out = execFileSync('ip', args, { encoding: 'utf8' });
    for (const m of out.matchAll(/\b10\.(\d+)\./g)) used.add(Number(m[1]));
  }
  const free = Array.from({ length: 50 }, (_, i) => 100 + i).filter((n) => !used.has(n));
  const pool = free.length > 0 ? free : Array.from({ length: 50 }, (_, i) => 100 + i);
  return `10.${pool[Math.floor(Math.random() * pool.length)]}.0.0/16`;
}

/**
 * Starts an API server and a node agent named "skiff". Test files run two at a time: one that
 * picked the pod CIDR another is creating its bridge on gets the overlap error, and tries another.
 */
export async function startTestNode(opts: TestNodeOptions = {}, attempt = 0): Promise<TestNode> {
  try {
    return await startTestNodeOnce(opts);
  } catch (err) {
    if (attempt >= 4 || !/overlaps the host route/.test(String(err))) throw err;
    return startTestNode(opts, attempt + 1);
  }
}

async function startTestNodeOnce(opts: TestNodeOptions): Promise<TestNode> {
  const api = await startTestApiServer();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'skiff-node-'));
  const tag = Math.random().toString(16).slice(2, 7);
  const podCIDR = unusedPodCIDR();
  let ac = new AbortController();
  const make = () =>
    createNodeAgent({
      client: api.client,
      nodeName: 'skiff',
      dataDir,
      podCIDR,
      reducedMode: opts.reducedMode,
      rootfsMode: opts.rootfsMode,
      images: opts.images,
      bridgeName: `skt${tag}`,
      netnsPrefix: `skiffnt${tag}`,
      cgroupName: `skiff-node-test-${tag}`,
      kubelet: { port: 0, token: 'tkn', tls: undefined as never },
    });
  const node: TestNode = {
    api,
    agent: make(),
    dataDir,
    async restartAgent() {
      ac = new AbortController();
      node.agent = make();
      await node.agent.start(ac.signal);
      return node.agent;
    },
    stopAgent() {
      ac.abort();
    },
    async close() {
      await node.agent.stopAllPods();
      ac.abort();
      await node.agent.stopped?.();
      await api.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await node.agent.start(ac.signal);
  } catch (err) {
    // Nothing of this node is on the host yet (the bridge was refused): close what was started.
    ac.abort();
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return node;
}

/** Why a test needing real sandboxes is skipped (false when running as root). */
export const needsRoot: string | false = process.getuid?.() !== 0 && 'needs root';

/**
 * One test node for the whole test file: started in `before`, closed in `after` (neither when
 * skip is set). The returned object forwards to the running node, including after restartAgent().
 */
export function useTestNode(opts: TestNodeOptions & { skip?: string | false } = {}): TestNode {
  let current: TestNode | undefined;
  before(async () => {
    if (!opts.skip) current = await startTestNode(opts);
  });
  after(async () => {
    await current?.close();
  });
  return new Proxy({} as TestNode, {
    get(_, key) {
      if (!current)
        throw new Error('the test node is not started (skipped, or used outside a test)');
      return Reflect.get(current, key);
    },
    set(_, key, value) {
      return current !== undefined && Reflect.set(current, key, value);
    },
  });
}

/** The first container's status of a pod. */
export const firstContainer = (p: Pod) => p.status?.containerStatuses?.[0];

/** Polls fn every 20 ms until it returns a value (errors count as "not yet"). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = realClock.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (realClock.now() > end) throw new Error(`timed out waiting for ${what}`);
    await realClock.sleep(20);
  }
}

/**
 * Waits until pid has left the process table: reaped, not merely exited. Throws when it stays a
 * zombie (state Z), which is what PID 1 leaves of an orphan on hosts that never reap.
 */
export async function waitReaped(pid: number, ms = 5000): Promise<void> {
  const end = realClock.now() + ms;
  while (readProcStat(pid) && realClock.now() < end) await realClock.sleep(10);
  const st = readProcStat(pid);
  if (st) throw new Error(`pid ${pid} was not reaped (state ${st.state})`);
}

/** True when the pod's Ready condition is True. */
export const isReady = (p: Pod): boolean =>
  p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

/** Waits until the pod satisfies cond; returns it. */
export function waitForPod(
  node: TestNode,
  name: string,
  cond: (p: Pod) => boolean,
  ms?: number,
): Promise<Pod> {
  return waitFor(
    `pod ${name}`,
    async () => {
      const p = await node.api.client.get<Pod>(R.pods, 'default', name);
      return cond(p) ? p : undefined;
    },
    ms,
  );
}

/** A pod bound to the node "skiff" running the bundled Flask image (or what `container` says). */
export function testPod(
  name: string,
  container: Partial<Container> = {},
  spec: Partial<PodSpec> = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'skiff',
      terminationGracePeriodSeconds: 1,
      ...spec,
      containers: [{ name: 'app', image: 'lyzhang1999/hello-world-flask:latest', ...container }],
    },
  };
}

/** Result of an exec: output by stream and the v5 status document. */
export interface ExecResult {
  stdout: string;
  status: { status: string; details?: { causes: Array<{ message: string }> } };
}

/**
 * Exec over the v5 WebSocket protocol. `session` drives an interactive exchange: it gets a send
 * function and the output so far each time output arrives.
 */
export async function execWs(
  agent: NodeAgent,
  pod: string,
  command: string[],
  opts: {
    stdin?: string;
    tty?: boolean;
    session?: (out: string, send: (channel: number, data: string) => void) => void;
  } = {},
): Promise<ExecResult> {
  const q = command.map((c) => `command=${encodeURIComponent(c)}`).join('&');
  const interactive = opts.stdin !== undefined || opts.session !== undefined;
  const flags = `stdout=true&stderr=${!opts.tty}${interactive ? '&stdin=true' : ''}${opts.tty ? '&tty=true' : ''}`;
  const ws = new WebSocket(
    `ws://127.0.0.1:${agent.port}/exec/default/${pod}/app?${q}&${flags}`,
    ['v5.channel.k8s.io'],
    { headers: { Authorization: 'Bearer tkn' } },
  );
  const send = (ch: number, data: string) =>
    ws.send(Buffer.concat([Buffer.from([ch]), Buffer.from(data)]));
  let stdout = '';
  let status: ExecResult['status'] = { status: '' };
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      if (opts.stdin !== undefined) {
        send(0, opts.stdin);
        ws.send(Buffer.from([255, 0]));
      }
      opts.session?.(stdout, send);
    });
    ws.on('message', (d: Buffer) => {
      if (d[0] === 1) {
        stdout += d.subarray(1).toString();
        opts.session?.(stdout, send);
      }
      if (d[0] === 3) status = JSON.parse(d.subarray(1).toString());
    });
    ws.on('close', (code) => (code === 1000 ? resolve() : reject(new Error(`close ${code}`))));
    ws.on('error', reject);
  });
  return { stdout, status };
}

/** One file of a test image's layer. */
interface ImageFile {
  name: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  type?: 'file' | 'symlink' | 'dir';
}

/**
 * The layers of a small test image made from the host's busybox-static (no tools, no network):
 * layer 1 is busybox with its applets, /etc (passwd with www=33, os-release naming the image)
 * and /etc/motd; layer 2 adds /www/index.html and deletes /etc/motd.
 */
function busyboxImageFiles(): { base: ImageFile[]; top: ImageFile[]; deleted: string[] } {
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => a && a !== 'busybox');
  return {
    base: [
      ...['bin', 'etc', 'root', 'www'].map((name) => ({ name, type: 'dir' as const, mode: 0o755 })),
      { name: 'tmp', type: 'dir', mode: 0o1777 },
      { name: 'bin/busybox', data: readFileSync('/bin/busybox'), mode: 0o755 },
      ...applets.map((a) => ({ name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
      { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/www:/bin/sh\n' },
      { name: 'etc/group', data: 'root:x:0:\nwww:x:33:\n' },
      { name: 'etc/os-release', data: 'NAME="skiff test image"\nID=skiff-busybox\n' },
      { name: 'etc/motd', data: 'lower layer\n' },
    ],
    top: [
      { name: 'www', type: 'dir', mode: 0o755 },
      { name: 'www/index.html', data: 'hello from the image\n' },
    ],
    deleted: ['etc/motd'],
  };
}

/** The test image's layers unpacked as the store keeps them (a whiteout is a char 0/0 device). */
export function busyboxLayers(dir: string): string[] {
  const { base, top, deleted } = busyboxImageFiles();
  const write = (layer: string, files: ImageFile[]) => {
    mkdirSync(layer, { recursive: true });
    for (const f of files) {
      const p = path.join(layer, f.name);
      if (f.type === 'dir') mkdirSync(p, { recursive: true, mode: f.mode });
      else if (f.type === 'symlink') symlinkSync(f.linkname ?? '', p);
      else writeFileSync(p, f.data ?? '', { mode: f.mode ?? 0o644 });
    }
  };
  const layers = [path.join(dir, 'l1'), path.join(dir, 'l2')];
  write(layers[0] ?? '', base);
  write(layers[1] ?? '', top);
  for (const d of deleted) {
    mkdirSync(path.dirname(path.join(dir, 'l2', d)), { recursive: true });
    execFileSync('mknod', [path.join(dir, 'l2', d), 'c', '0', '0']);
  }
  return layers;
}

/** The test image as an OCI image (two gzip layers, a `.wh.` whiteout) with the given config. */
export function busyboxImage(config: Record<string, unknown>): TestImage {
  const { base, top, deleted } = busyboxImageFiles();
  const entries = (files: ImageFile[]): TarEntry[] =>
    files.map((f) => ({
      name: f.name,
      type: f.type,
      data: f.data,
      linkname: f.linkname,
      mode: f.mode,
    }));
  const whiteouts = deleted.map((d) => ({
    name: path.join(path.dirname(d), `.wh.${path.basename(d)}`),
    data: '',
  }));
  return buildImage({
    layers: [tarball(entries(base)), tarball([...entries(top), ...whiteouts])],
    config,
  });
}
