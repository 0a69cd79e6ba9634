// The ingress add-on's main process: a small supervisor that binds the HTTP ports, forks the
// controller workers (node:cluster, SCHED_NONE), shares the bound sockets with them and replaces a
// worker that dies. Every worker listens on the same sockets and accepts from them itself; this
// process never accepts, but its copy keeps each socket open (and new connections queued in its
// backlog) while no worker is alive. node:cluster's own shared handle would close with its last
// worker (SharedHandle#remove), so the handles are bound here and sent to the workers explicitly.
import cluster, { type Worker } from 'node:cluster';
import { realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { bindAll, bindServerHandle, handlePort, listenOn, type ServerHandle } from './listen.js';
import { mergeStats, type StatsSnapshot } from './stats.js';
import { createStatusServer } from './status.js';

/** Messages between the supervisor and its workers. */
export type SupervisorMsg =
  /** Worker → supervisor: the controller exists; it may listen (requests wait for its sync). */
  | { type: 'skiff-ingress-booted' }
  /** Worker → supervisor: routes and endpoints synced. */
  | { type: 'skiff-ingress-ready' }
  /** Supervisor → worker: listen and accept on the socket that rides along as the handle. */
  | { type: 'skiff-ingress-listen' }
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
  const handles: ServerHandle[] = [];
  let bound = false;
  const pending = new Map<number, (s: StatsSnapshot) => void>();
  let seq = 0;

  const live = (): Worker[] =>
    Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
  const send = (w: Worker, h: ServerHandle) =>
    // A send to a worker that just died fails in the callback rather than as an 'error' event.
    w.send({ type: 'skiff-ingress-listen' } satisfies SupervisorMsg, h as never, {}, (err) => {
      if (err) log.debug('Cannot give a worker the port', { err: errorMessage(err) });
    });
  /** Gives the sockets to every worker that may listen now (guarantee 1). */
  const share = () => {
    if (!bound || stopping) return;
    for (const w of live()) {
      if (listening.has(w.id) || !booted.has(w.id)) continue;
      if (!synced.has(w.id) && listening.size > 0) continue;
      listening.add(w.id);
      for (const h of handles) send(w, h);
    }
  };
  const forget = (w: Worker) => {
    booted.delete(w.id);
    synced.delete(w.id);
    listening.delete(w.id);
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
      } else if (m.type === 'skiff-ingress-stats') pending.get(m.id)?.(m.snapshot);
      share();
    });
  };
  // Fork first: the workers load their code while this process binds the ports.
  for (let i = 0; i < opts.workers; i++) fork();

  const { bound: all } = await bindAll<ServerHandle>({
    bind: bindServerHandle,
    portOf: handlePort,
    port: opts.httpPort,
    fallbackPort: opts.fallbackPort,
    addresses: await opts.bindAddresses(),
    log,
    stopping: () => stopping,
    onLateBind: (h) => {
      handles.push(h);
      for (const w of live()) if (listening.has(w.id)) send(w, h);
    },
  });
  handles.push(...all);
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
        for (const h of handles) h.close();
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
