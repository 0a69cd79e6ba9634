// Test helpers for the node agent: a test API server plus a real agent on its own bridge, netns
// prefix and cgroup (so parallel tests never share host state), pod waiters and an exec client.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import type { Container, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import WebSocket from 'ws';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import type { ImageSource } from '../images/catalog.js';
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

/** Starts an API server and a node agent named "skiff". */
export async function startTestNode(opts: TestNodeOptions = {}): Promise<TestNode> {
  const api = await startTestApiServer();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'skiff-node-'));
  const tag = Math.random().toString(16).slice(2, 7);
  const podCIDR = `10.${100 + Math.floor(Math.random() * 50)}.0.0/16`;
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
  await node.agent.start(ac.signal);
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

/**
 * Unpacked layers of a small test image made from the host's busybox-static (no tools, no
 * network): layer 1 is busybox with its applets, /etc (passwd with www=33, os-release naming the
 * image) and /etc/motd; layer 2 adds /www/index.html and whites out /etc/motd (a char 0/0 device,
 * as unpacked layers store it). Returns the layer directories, bottom-most first.
 */
export function busyboxLayers(dir: string): string[] {
  const l1 = path.join(dir, 'l1');
  const l2 = path.join(dir, 'l2');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'www'])
    mkdirSync(path.join(l1, d), { recursive: true });
  execFileSync('cp', ['/bin/busybox', path.join(l1, 'bin/busybox')]);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n');
  for (const a of applets)
    if (a && a !== 'busybox') symlinkSync('busybox', path.join(l1, 'bin', a));
  writeFileSync(
    path.join(l1, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/www:/bin/sh\n',
  );
  writeFileSync(path.join(l1, 'etc/group'), 'root:x:0:\nwww:x:33:\n');
  writeFileSync(path.join(l1, 'etc/os-release'), 'NAME="skiff test image"\nID=skiff-busybox\n');
  writeFileSync(path.join(l1, 'etc/motd'), 'lower layer\n');
  mkdirSync(path.join(l2, 'www'), { recursive: true });
  mkdirSync(path.join(l2, 'etc'), { recursive: true });
  writeFileSync(path.join(l2, 'www/index.html'), 'hello from the image\n');
  execFileSync('mknod', [path.join(l2, 'etc/motd'), 'c', '0', '0']);
  return [l1, l2];
}
