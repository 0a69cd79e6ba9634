// A real API server over an in-memory store on plain http 127.0.0.1:0, for unit tests of the
// API server itself and of every API client (controllers, node agent, proxies).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeClient } from '../client/rest.js';
import type { Clock } from '../lib/clock.js';
import type { Backend } from '../store/backend.js';
import { MemoryBackend } from '../store/memory/memory-backend.js';
import { ensurePki, type Pki } from './auth/pki.js';
import { type ApiServer, type ApiServerOptions, createApiServer } from './server.js';

const run = promisify(execFile);

/** A running test API server. */
export interface TestApiServer {
  /** A client for the server (no token: plain http allows everything). */
  client: KubeClient;
  /** "http://127.0.0.1:<port>". */
  url: string;
  port: number;
  backend: Backend;
  /** Stops the server, its watches and the client. */
  close(): Promise<void>;
}

/** Options of startTestApiServer; everything of ApiServerOptions except where it listens. */
export interface TestApiServerOptions extends Partial<Omit<ApiServerOptions, 'host' | 'port'>> {
  clock?: Clock;
}

/**
 * Starts an API server on an ephemeral port over a MemoryBackend (seeded with the system
 * namespaces). Always close() it in `after`/`t.after`.
 * @example
 * const api = await startTestApiServer();
 * t.after(() => api.close());
 * await api.client.create(R.configmaps, { metadata: { name: 'x', namespace: 'default' } });
 */
export async function startTestApiServer(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  const backend = opts.backend ?? new MemoryBackend();
  const server = createApiServer({ ...opts, backend, host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  const client = new KubeClient({ config: { server: url } });
  return {
    client,
    url,
    port,
    backend,
    async close() {
      client.close();
      await server.close();
    },
  };
}

/** A TLS API server with the cluster PKI, and the real kubectl pointed at it. */
export interface KubectlTestServer {
  server: ApiServer;
  backend: Backend;
  port: number;
  /** Scratch dir: kubeconfig (admin token), bad-kubeconfig (wrong token), cache, your files. */
  dir: string;
  pki: Pki;
  /** Environment for kubectl (KUBECONFIG, KUBECACHEDIR) and for other clients reading it. */
  env: NodeJS.ProcessEnv;
  /** Runs kubectl; never throws on a non-zero exit. */
  kubectl(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  close(): Promise<void>;
}

const kubectlBin = process.env['KUBECTL'] ?? 'kubectl';

/**
 * Starts a TLS API server over a MemoryBackend with a fresh PKI, writes a kubeconfig with the admin
 * token, and runs the real kubectl (from $KUBECTL or PATH) against it with its own cache dir.
 */
export async function startKubectlTestServer(
  opts: Partial<Omit<ApiServerOptions, 'host' | 'port' | 'pki'>> = {},
): Promise<KubectlTestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-apiserver-kubectl-'));
  const pki = await ensurePki(join(dir, 'pki'));
  const backend = opts.backend ?? new MemoryBackend();
  const server = createApiServer({ ...opts, backend, pki, port: 0 });
  const { port } = await server.listen();
  const kubeconfig = (token: string) => `apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority-data: ${Buffer.from(pki.caCert).toString('base64')}
contexts:
- name: skiff
  context: {cluster: skiff, user: admin, namespace: default}
current-context: skiff
users:
- name: admin
  user: {token: ${token}}
`;
  await writeFile(join(dir, 'kubeconfig'), kubeconfig(pki.adminToken), { mode: 0o600 });
  await writeFile(join(dir, 'bad-kubeconfig'), kubeconfig('wrong-token'), { mode: 0o600 });
  const env = {
    ...process.env,
    KUBECONFIG: join(dir, 'kubeconfig'),
    KUBECACHEDIR: join(dir, 'cache'),
    KUBECTL_COMMAND_HEADERS: 'false',
  };
  const kubectl = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(kubectlBin, args, { env, cwd: dir, timeout: 30_000 });
      return { code: 0, out: stdout, err: stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof x.code === 'number' ? x.code : 1,
        out: x.stdout ?? '',
        err: x.stderr ?? '',
      };
    }
  };
  return {
    server,
    backend,
    port,
    dir,
    pki,
    env,
    kubectl,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
