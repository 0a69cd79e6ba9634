// The ingress controller's status port (ingress-nginx serves /healthz on 10254): /healthz and
// /readyz for the probes, /stats as JSON for the dashboard (src/dashboard/series.ts IngressStats).
import http from 'node:http';
import { errorMessage } from '../lib/errors.js';
import type { StatsReport } from './stats.js';

/** Options of createStatusServer. */
export interface StatusServerOptions {
  /** True once the controller serves traffic. */
  healthy: () => boolean;
  /** The current traffic counters (possibly gathered from worker processes). */
  stats: () => Promise<StatsReport>;
}

/** An HTTP server answering /healthz, /readyz and /stats; everything else is 404. */
export function createStatusServer(opts: StatusServerOptions): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/readyz') {
      const ok = opts.healthy();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(ok ? 'ok' : 'not ready');
      return;
    }
    if (path === '/stats') {
      opts.stats().then(
        (s) => {
          res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
          res.end(JSON.stringify(s));
        },
        (err: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`cannot read stats: ${errorMessage(err)}`);
        },
      );
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
}
