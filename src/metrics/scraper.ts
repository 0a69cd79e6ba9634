// Scrapes every node's kubelet Summary API over HTTPS with a bearer token, in parallel, into one
// MetricsBatch (metrics-server pkg/scraper/scraper.go; address choice as --kubelet-preferred-address-types).
import https from 'node:https';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { KubeClient } from '../client/rest.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { MetricsBatch } from './storage.js';
import { decodeSummary, newBatch, type Summary } from './summary.js';

/** Options of Scraper. */
export interface ScraperOptions {
  /** Bearer token presented to the kubelets; read fresh on every scrape (rotation). */
  token: () => string | undefined;
  /** Address types tried in order (upstream default InternalIP, ExternalIP, Hostname). */
  preferredAddressTypes?: string[];
  /** Overrides the port in status.daemonEndpoints.kubeletEndpoint (default there, else 10250). */
  kubeletPort?: number;
  /** Skips kubelet certificate verification (upstream --kubelet-insecure-tls). */
  insecureTLS?: boolean;
  /** PEM CA to verify kubelets with when not insecure. */
  ca?: string;
  requestTimeoutMs: number;
  log: Logger;
  /**
   * Scrape through the API server's nodes/proxy with this client instead of dialing kubelets:
   * upstream's components.yaml runs metrics-server in a pod network with only its service-account
   * token, and Skiff's node agent listens on the host's loopback and takes its own token.
   */
  viaAPI?: KubeClient;
}

/** Where a node's kubelet listens, or undefined when it advertises no usable address. */
export function kubeletURL(
  node: Node,
  opts: { preferredAddressTypes?: string[]; kubeletPort?: number },
): string | undefined {
  const types = opts.preferredAddressTypes ?? ['InternalIP', 'ExternalIP', 'Hostname'];
  const addresses = node.status?.addresses ?? [];
  let address: string | undefined;
  for (const t of types) {
    address = addresses.find((a) => a.type === t)?.address;
    if (address) break;
  }
  if (!address) return undefined;
  const port = opts.kubeletPort ?? node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250;
  const host = address.includes(':') ? `[${address}]` : address;
  return `https://${host}:${port}/stats/summary?only_cpu_and_memory=true`;
}

/** Fetches kubelet Summaries. */
export class Scraper {
  #opts: ScraperOptions;
  #agent: https.Agent;

  constructor(opts: ScraperOptions) {
    this.#opts = opts;
    this.#agent = new https.Agent({
      keepAlive: true,
      rejectUnauthorized: !opts.insecureTLS,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
  }

  /** Scrapes every node; a failing node is logged and left out of the batch. */
  async scrape(nodes: readonly Node[]): Promise<MetricsBatch> {
    const batch = newBatch();
    const results = await Promise.allSettled(
      nodes.map(async (node) => {
        const name = node.metadata?.name ?? '';
        if (this.#opts.viaAPI) return this.#fetchViaAPI(this.#opts.viaAPI, name);
        const url = kubeletURL(node, this.#opts);
        if (!url) throw new Error(`Node "${name}" has no usable address`);
        return this.fetchSummary(url);
      }),
    );
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') decodeSummary(r.value, batch);
      else {
        this.#opts.log.warn('Failed to scrape node', {
          kind: 'Node',
          name: nodes[i]?.metadata?.name,
          error: errorMessage(r.reason),
        });
      }
    });
    return batch;
  }

  async #fetchViaAPI(client: KubeClient, node: string): Promise<Summary> {
    const res = await client.request(
      'GET',
      `/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`,
      {
        query: { only_cpu_and_memory: 'true' },
        signal: AbortSignal.timeout(this.#opts.requestTimeoutMs),
      },
    );
    const text = res.body.toString('utf8');
    if (res.status !== 200)
      throw new Error(`request failed, status: ${res.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as Summary;
  }

  /** GETs one Summary. */
  fetchSummary(url: string): Promise<Summary> {
    const token = this.#opts.token();
    return new Promise((resolve, reject) => {
      const req = https.get(
        url,
        {
          agent: this.#agent,
          headers: {
            Accept: 'application/json',
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
          },
          timeout: this.#opts.requestTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) !== 200) {
              reject(new Error(`request failed, status: ${res.statusCode}: ${text.slice(0, 200)}`));
              return;
            }
            try {
              resolve(JSON.parse(text) as Summary);
            } catch (err) {
              reject(new Error(`cannot decode Summary: ${errorMessage(err)}`));
            }
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`request timed out after ${this.#opts.requestTimeoutMs}ms`)),
      );
      req.on('error', reject);
    });
  }

  /** Closes idle connections. */
  close(): void {
    this.#agent.destroy();
  }
}
