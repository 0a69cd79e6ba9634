// The ingress add-on's main process: a small supervisor that listens on the HTTP ports, forks the
// controller workers (node:cluster, SCHED_NONE), sends them the listening servers and replaces a
// worker that dies. Every worker accepts from the same sockets itself. This process listens too,
// so each socket stays open while no worker is alive (node:cluster's own shared handle would
// close with its last worker, SharedHandle#remove); the connections it accepts (it races the
// workers for them, or no worker is alive) are paused and passed to a listening worker, waiting
// here while there is none. This process keeps its copy of a passed connection until the worker
// says it took it: a worker that dies first leaves it here for the next worker.
import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { acceptBacklog, bindAll, listenOn } from './listen.js';
import { mergeStats, type StatsSnapshot } from './stats.js';
import { createStatusServer } from './status.js';

/** Messages between the supervisor and its workers. */
export type SupervisorMsg =
  /** Worker → supervisor: the controller exists; it may listen (requests wait for its sync). */
  | { type: 'skiff-ingress-booted' }
  /** Worker → supervisor: routes and endpoints synced. */
  | { type: 'skiff-ingress-ready' }
  /** Supervisor → worker: accept from the listening server that rides along as the handle. */
  | { type: 'skiff-ingress-listen' }
  /** Supervisor → worker: serve the connection (accepted here) that rides along as the handle. */
  | { type: 'skiff-ingress-conn'; id: number }
  /** Worker → supervisor: it serves connection `id`; the supervisor closes its copy. */
  | { type: 'skiff-ingress-conn-taken'; id: number }
  | { type: 'skiff-ingress-stats?'; id: number }
  | { type: 'skiff-ingress-stats'; id: number; snapshot: StatsSnapshot };

/**
 * How long a replacement worker waits to be forked while another worker still serves: booting a
 * node process takes about a second of CPU, which on a loaded machine went to the very moment the
 * surviving worker took every reconnecting client (issue #8). With no worker serving, at once.
 */
const replaceDelayMs = 1000;

/** Options of runSupervisor. */
export interface SupervisorOptions {
  /** Workers, all serving (each accepts from the shared sockets). */
  workers: number;
  httpPort: number;
  fallbackPort: number;
  /** Resolves the HTTP addresses (may read the Node: run while the workers boot). */
  bindAddresses: () => Promise<string[]>;
  statusPort: number;
  statusAddress: string;
  log: Logger;
  /** Stops the supervisor; default: SIGTERM or SIGINT. */
  signal?: AbortSignal;
}

/**
 * Runs until SIGTERM/SIGINT (or opts.signal). Guarantees: 1. a worker gets the sockets once it has synced, or at
 * once when no live worker listens (the port then waits for nobody: its requests wait in its
 * proxy for the sync); 2. the sockets stay open while this process lives, so a worker's death
 * never closes the port; 3. a worker that exits is replaced and its counters stay in /stats;
 * 4. on signal the workers get SIGTERM and this resolves once all have exited.
 */
export async function runSupervisor(opts: SupervisorOptions): Promise<void> {
  const { log } = opts;
  let stopping = false;
  let restarts = 0;
  const booted = new Set<number>();
  /** Workers whose controller has synced (the add-on is healthy with one). */
  const synced = new Set<number>();
  /** Workers given the sockets. */
  const listening = new Set<number>();
  const servers: net.Server[] = [];
  /** Connections this process accepted, waiting for a listening worker (oldest first). */
  const waiting: net.Socket[] = [];
  /** Connections passed to a worker that has not said it took them yet, by id. */
  const passing = new Map<number, { conn: net.Socket; worker: number }>();
  let next = 0;
  let bound = false;
  const pending = new Map<number, (s: StatsSnapshot) => void>();
  let seq = 0;

  const live = (): Worker[] =>
    Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
  const send = (w: Worker, s: net.Server) =>
    // A send to a worker that just died fails in the callback rather than as an 'error' event.
    w.send({ type: 'skiff-ingress-listen' } satisfies SupervisorMsg, s, {}, (err) => {
      if (err) log.debug('Cannot give a worker the port', { err: errorMessage(err) });
    });
  /** Passes the connections accepted here to the listening workers, in turn. */
  const dispatch = () => {
    const to = live().filter((w) => listening.has(w.id));
    while (waiting.length > 0 && to.length > 0) {
      const conn = waiting.shift() as net.Socket;
      const w = to[next++ % to.length] as Worker;
      const id = ++seq;
      passing.set(id, { conn, worker: w.id });
      // keepOpen: node would otherwise hold its copy until the worker's handle ack, forever
      // when the worker dies first (the connection would hang).
      const msg = { type: 'skiff-ingress-conn', id } satisfies SupervisorMsg;
      w.send(msg, conn, { keepOpen: true }, (err) => {
        if (err) giveBack(id);
      });
    }
  };
  /** A passed connection the worker did not take goes to the next worker. */
  const giveBack = (id: number) => {
    const p = passing.get(id);
    passing.delete(id);
    if (p && !p.conn.destroyed) waiting.unshift(p.conn);
  };
  const accept = (conn: net.Socket) => {
    conn.on('error', () => conn.destroy());
    if (stopping || waiting.length >= acceptBacklog) conn.destroy();
    else {
      waiting.push(conn);
      dispatch();
    }
  };
  /** Gives the sockets to every worker that may listen now (guarantee 1). */
  const share = () => {
    if (!bound || stopping) return;
    for (const w of live()) {
      if (listening.has(w.id) || !booted.has(w.id)) continue;
      if (!synced.has(w.id) && listening.size > 0) continue;
      listening.add(w.id);
      for (const srv of servers) send(w, srv);
    }
    dispatch();
  };
  const forget = (w: Worker) => {
    booted.delete(w.id);
    synced.delete(w.id);
    listening.delete(w.id);
    for (const [id, p] of passing) if (p.worker === w.id) giveBack(id);
    share();
  };

  // SCHED_NONE: no round-robin listener in this process, should a worker ever listen by port.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // The add-on image runs this process with --lite-mode (footprint); the workers proxy every
  // request, where the optimizing compiler pays for itself.
  cluster.setupPrimary({ execArgv: process.execArgv.filter((a) => a !== '--lite-mode') });
  const fork = () => {
    const w = cluster.fork();
    w.on('disconnect', () => forget(w));
    w.on('error', (err: Error) => log.warn('Ingress worker channel error', { err: err.message }));
    w.on('message', (m: SupervisorMsg) => {
      if (m.type === 'skiff-ingress-booted') booted.add(w.id);
      else if (m.type === 'skiff-ingress-ready') {
        booted.add(w.id);
        synced.add(w.id);
      } else if (m.type === 'skiff-ingress-conn-taken') {
        // The worker has its own copy: closing ours (no shutdown) leaves the connection open.
        passing.get(m.id)?.conn.destroy();
        passing.delete(m.id);
      } else if (m.type === 'skiff-ingress-stats') pending.get(m.id)?.(m.snapshot);
      share();
    });
  };
  // Fork first: the workers load their code while this process binds the ports.
  for (let i = 0; i < opts.workers; i++) fork();

  const { bound: all } = await bindAll<net.Server>({
    bind: async (port, host) => {
      // Paused: a connection accepted here is read only by the worker it goes to.
      const srv = net.createServer({ pauseOnConnect: true }, accept);
      await listenOn(srv, port, host);
      return srv;
    },
    portOf: (srv) => (srv.address() as net.AddressInfo).port,
    port: opts.httpPort,
    fallbackPort: opts.fallbackPort,
    addresses: await opts.bindAddresses(),
    log,
    stopping: () => stopping,
    onLateBind: (srv) => {
      servers.push(srv);
      for (const w of live()) if (listening.has(w.id)) send(w, srv);
    },
  });
  servers.push(...all);
  bound = true;
  share();

  /** One worker's snapshot, or undefined when it does not answer within a second. */
  const ask = (w: Worker): Promise<StatsSnapshot | undefined> =>
    new Promise((resolve) => {
      const id = ++seq;
      const t = realClock.setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, 1000);
      pending.set(id, (s) => {
        t.cancel();
        pending.delete(id);
        resolve(s);
      });
      w.send({ type: 'skiff-ingress-stats?', id } satisfies SupervisorMsg, undefined, {}, (err) => {
        if (!err) return;
        t.cancel();
        pending.delete(id);
        resolve(undefined);
      });
    });
  // Counters of workers that exited, so the totals never go backwards.
  const gone: StatsSnapshot = { requests: 0, errors: 0, status: {}, histogram: {}, events: {} };
  const last = new Map<number, StatsSnapshot>();
  const status = createStatusServer({
    healthy: () => synced.size > 0,
    stats: async () => {
      const all = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      const snaps = await Promise.all(
        all.map(async (w) => {
          const s = w.isConnected() ? ((await ask(w)) ?? last.get(w.id)) : last.get(w.id);
          if (s) last.set(w.id, s);
          return s;
        }),
      );
      const report = mergeStats([gone, ...snaps.filter((s): s is StatsSnapshot => !!s)]);
      return {
        ...report,
        supervisor: {
          workers: live().length,
          listening: listening.size,
          synced: synced.size,
          restarts,
        },
      };
    },
  });
  await listenOn(status, opts.statusPort, opts.statusAddress);

  cluster.on('exit', (w, code, signal) => {
    forget(w);
    const s = last.get(w.id);
    if (s) {
      const sum = mergeStats([gone, s]);
      gone.requests = sum.requests;
      gone.errors = sum.errors;
      gone.status = sum.status;
      gone.events = sum.events;
      last.delete(w.id);
    }
    if (stopping) return;
    restarts++;
    log.warn('Ingress worker exited, starting another', { pid: w.process.pid, code, signal });
    if (listening.size === 0) fork();
    else realClock.setTimeout(() => stopping || fork(), replaceDelayMs);
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      status.close();
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      const check = () => {
        if (Object.keys(cluster.workers ?? {}).length > 0) return;
        for (const srv of servers) srv.close();
        for (const conn of waiting.splice(0)) conn.destroy();
        for (const p of passing.values()) p.conn.destroy();
        resolve();
      };
      // A worker leaves cluster.workers on whichever of 'exit' and 'disconnect' comes last, and
      // when 'disconnect' is last no 'exit' follows it: check on both, or stop waits forever.
      cluster.on('exit', check);
      cluster.on('disconnect', check);
      check();
    };
    if (opts.signal) {
      if (opts.signal.aborted) stop();
      else opts.signal.addEventListener('abort', stop, { once: true });
    } else {
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    }
  });
}
