// A real API server over an in-memory store on plain http 127.0.0.1:0, for unit tests of the
// API server itself and of every API client (controllers, node agent, proxies).
import { KubeClient } from '../client/rest.js';
import type { Clock } from '../lib/clock.js';
import type { Backend } from '../store/backend.js';
import { MemoryBackend } from '../store/memory/memory-backend.js';
import { type ApiServerOptions, createApiServer } from './server.js';

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
