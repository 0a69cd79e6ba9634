// The ingress add-on's main process: a small supervisor that holds the HTTP listening sockets,
// forks the controller workers (node:cluster) plus one synced standby, hands each accepted
// connection to a live worker (handoff.ts) and replaces a worker that dies. The port never closes
// while a worker restarts (cluster's own round-robin closes it with its last worker): the standby
// takes new connections at once, and with no worker left they wait in a queue.
import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { realClock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { ConnectionHandOff, type ConnMsg } from './handoff.js';
import { bindAll, listenOn } from './listen.js';
import { mergeStats, type StatsSnapshot } from './stats.js';
import { createStatusServer } from './status.js';

/** Messages between the supervisor and its workers. */
export type SupervisorMsg =
  | { type: 'skiff-ingress-accepting' }
  | { type: 'skiff-ingress-ready' }
  | ConnMsg
  | { type: 'skiff-ingress-conn-ack'; id: number }
  | { type: 'skiff-ingress-stats?'; id: number }
  | { type: 'skiff-ingress-stats'; id: number; snapshot: StatsSnapshot };

/** How long the hand-off must be idle before a replacement worker is forked. */
const calmMs = 1000;
/** The longest a replacement worker waits for that calm. */
const maxDeferMs = 5000;

/** Options of runSupervisor. */
export interface SupervisorOptions {
  /** Workers given connections (one more is forked as a standby). */
  workers: number;
  httpPort: number;
  fallbackPort: number;
  /** Resolves the HTTP addresses (may read the Node: run while the workers boot). */
  bindAddresses: () => Promise<string[]>;
  statusPort: number;
  statusAddress: string;
  log: Logger;
  /** Connections queued while no worker takes them; beyond it new ones are closed. */
  maxQueued?: number;
}

/**
 * Runs until SIGTERM/SIGINT. Guarantees: 1. every accepted connection goes to exactly one of the
 * first `workers` workers that said they accept (synced ones first), or waits in the queue until
 * one does (ConnectionHandOff); 2. a worker that exits is replaced at once and its counters stay
 * in /stats; 3. on signal the workers get SIGTERM and this resolves once all have exited.
 */
export async function runSupervisor(opts: SupervisorOptions): Promise<void> {
  const { log } = opts;
  let stopping = false;
  let restarts = 0;
  /** Workers whose controller has synced (the add-on is healthy with one). */
  const synced = new Set<number>();
  const handOff = new ConnectionHandOff({ serving: opts.workers, maxQueued: opts.maxQueued });
  const pending = new Map<number, (s: StatsSnapshot) => void>();
  let seq = 0;

  const fork = () => {
    const w = cluster.fork();
    // A dead worker takes no connection, even before its exit is reported.
    w.on('disconnect', () => handOff.gone(w));
    w.on('exit', () => handOff.gone(w));
    w.on('error', (err: Error) => log.warn('Ingress worker channel error', { err: err.message }));
    w.on('message', (m: SupervisorMsg) => {
      if (m.type === 'skiff-ingress-accepting') handOff.accepting(w);
      else if (m.type === 'skiff-ingress-ready') {
        synced.add(w.id);
        handOff.synced(w);
      } else if (m.type === 'skiff-ingress-conn-ack') handOff.acked(w, m.id);
      else if (m.type === 'skiff-ingress-stats') pending.get(m.id)?.(m.snapshot);
    });
  };
  /**
   * Forks a replacement once the promoted standby has caught up (no connection queued or
   * unacknowledged for calmMs, at most maxDeferMs): a node process booting takes a second of CPU,
   * and on a loaded machine that second went to the very moment the standby, its code still cold,
   * took over every client's reconnection (the stall of issue #8). With no worker serving, at once.
   */
  const forkWhenCalm = () => {
    const since = realClock.now();
    let calmSince = since;
    const check = () => {
      if (stopping) return;
      const c = handOff.counters();
      const now = realClock.now();
      if (c.queued > 0 || c.unacked > 0) calmSince = now;
      if (c.serving === 0 || now - calmSince >= calmMs || now - since >= maxDeferMs) fork();
      else realClock.setTimeout(check, 100);
    };
    check();
  };
  // Fork first: the workers load their code while this process binds the ports. One more than
  // asked stands by (synced, idle): a worker that dies is replaced by it with no pause.
  for (let i = 0; i < opts.workers + 1; i++) fork();

  const { servers } = await bindAll({
    make: () => net.createServer({ pauseOnConnect: true }, (socket) => handOff.offer(socket)),
    port: opts.httpPort,
    fallbackPort: opts.fallbackPort,
    addresses: await opts.bindAddresses(),
    log,
    stopping: () => stopping,
  });

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
      // With a callback, a send to a worker that just died fails here rather than as an
      // 'error' event (which, unhandled, would take this process and the port down).
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
      const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      const snaps = await Promise.all(
        live.map(async (w) => {
          const s = w.isConnected() ? ((await ask(w)) ?? last.get(w.id)) : last.get(w.id);
          if (s) last.set(w.id, s);
          return s;
        }),
      );
      const report = mergeStats([gone, ...snaps.filter((s): s is StatsSnapshot => !!s)]);
      return { ...report, supervisor: { ...handOff.counters(), restarts } };
    },
  });
  await listenOn(status, opts.statusPort, opts.statusAddress);

  cluster.on('exit', (w, code, signal) => {
    synced.delete(w.id);
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
    forkWhenCalm();
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      status.close();
      for (const server of servers) server.close();
      handOff.close();
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      const check = () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
      };
      cluster.on('exit', check);
      check();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
