// The supervisor's connection hand-off: connections accepted by the ingress main process go to
// one of its worker processes over the worker's IPC channel, and this process keeps its copy of
// each one until the worker acknowledges it, so a connection never waits on a worker that died.
import type net from 'node:net';
import { type Clock, realClock } from '../lib/clock.js';

/** The message that carries a connection to a worker (the socket rides along as the handle). */
export interface ConnMsg {
  type: 'skiff-ingress-conn';
  id: number;
}

/** What the hand-off needs of a worker (a node:cluster Worker, or a forked child in tests). */
export interface HandOffWorker {
  /** Unique among the workers. */
  readonly id: number;
  send(
    msg: ConnMsg,
    handle: net.Socket,
    opts: { keepOpen: boolean },
    callback: (err: Error | null) => void,
  ): boolean;
  /** False once this side read the end of the worker's IPC channel (or disconnected it). */
  isConnected(): boolean;
}

/** Counters of the hand-off, for /stats. */
export interface HandOffCounters {
  /** Connections accepted by this process. */
  accepted: number;
  /** Sends of a connection to a worker (a requeued connection is sent again). */
  handed: number;
  /** Connections a worker acknowledged (then served by it alone). */
  acked: number;
  /** Connections taken back from a worker that died (or whose send failed) before its ack. */
  requeued: number;
  /** Connections closed because the queue was full. */
  refused: number;
  /** Waiting now for a worker that accepts. */
  queued: number;
  /** Sent now and not acknowledged yet. */
  unacked: number;
  /** Workers given connections now. */
  serving: number;
}

/** Options of ConnectionHandOff. */
export interface HandOffOptions {
  /** How many workers are given connections at once (the others stand by). */
  serving: number;
  /** Connections queued while no worker takes them; beyond it new ones are closed. */
  maxQueued?: number;
  clock?: Clock;
}

/** How long a dead worker's channel may stay unread before its connections are taken back. */
const drainWaitMs = 1000;
const drainPollMs = 5;

/**
 * Hands connections to workers. Guarantees:
 * 1. a connection is served by exactly one worker: the first of the `serving` accepting workers
 *    (synced ones first, in the order they said they accept) that acknowledges it;
 * 2. until that ack this process keeps the connection open; a worker that exits or disconnects
 *    first gives its unacknowledged connections back to the queue, once every message it wrote
 *    before dying has been read (its acks included), so an acknowledged connection, which the
 *    worker may have read from, is never handed again;
 * 3. connections wait in the queue (FIFO, up to maxQueued) while no worker accepts.
 */
export class ConnectionHandOff {
  #opts: HandOffOptions;
  #clock: Clock;
  #accepting: HandOffWorker[] = [];
  #synced = new Set<number>();
  #queue: net.Socket[] = [];
  #unacked = new Map<number, { socket: net.Socket; worker: HandOffWorker }>();
  #seq = 0;
  #next = 0;
  #closed = false;
  #counts = { accepted: 0, handed: 0, acked: 0, requeued: 0, refused: 0 };

  constructor(opts: HandOffOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** Takes a newly accepted (paused) connection. */
  offer(socket: net.Socket): void {
    this.#counts.accepted++;
    if (this.#closed || this.#queue.length >= (this.#opts.maxQueued ?? 4096)) {
      this.#counts.refused++;
      socket.destroy();
      return;
    }
    this.#queue.push(socket);
    this.#dispatch();
  }

  /** Worker `w` takes connections (its requests wait in its proxy until it is synced). */
  accepting(w: HandOffWorker): void {
    if (!this.#accepting.includes(w)) this.#accepting.push(w);
    this.#dispatch();
  }

  /** Worker `w` has synced its routes and endpoints: it is preferred over unsynced ones. */
  synced(w: HandOffWorker): void {
    this.#synced.add(w.id);
    this.#dispatch();
  }

  /** Worker `w` acknowledged connection `id`: it holds its own descriptor, so close this copy. */
  acked(w: HandOffWorker, id: number): void {
    const h = this.#unacked.get(id);
    if (!h || h.worker !== w) return;
    this.#unacked.delete(id);
    this.#counts.acked++;
    h.socket.destroy();
  }

  /**
   * Worker `w` exited or disconnected: it takes no more connections, and its unacknowledged ones
   * go back to the queue once its channel has been read to the end (an ack written just before
   * it died is still honoured). Call it on both events: node emits no 'disconnect' for a worker
   * that died while a handle sent to it was unacknowledged, only 'exit'.
   */
  gone(w: HandOffWorker): void {
    this.#drop(w);
    this.#synced.delete(w.id);
    const deadline = this.#clock.now() + drainWaitMs;
    const takeBack = () => {
      if (w.isConnected() && this.#clock.now() < deadline) {
        this.#clock.setTimeout(takeBack, drainPollMs);
        return;
      }
      this.#takeBack(w);
    };
    takeBack();
  }

  /** The counters now. */
  counters(): HandOffCounters {
    return {
      ...this.#counts,
      queued: this.#queue.length,
      unacked: this.#unacked.size,
      serving: this.#active().length,
    };
  }

  /** Closes every queued and unacknowledged connection; later offers are refused. */
  close(): void {
    this.#closed = true;
    for (const s of this.#queue.splice(0)) s.destroy();
    for (const h of this.#unacked.values()) h.socket.destroy();
    this.#unacked.clear();
  }

  /** The workers given connections: the first `serving` accepting ones, synced ones first. */
  #active(): HandOffWorker[] {
    const synced = this.#accepting.filter((w) => this.#synced.has(w.id));
    const rest = this.#accepting.filter((w) => !this.#synced.has(w.id));
    return [...synced, ...rest].slice(0, this.#opts.serving);
  }

  #drop(w: HandOffWorker): void {
    const i = this.#accepting.indexOf(w);
    if (i >= 0) this.#accepting.splice(i, 1);
  }

  /** Puts the unacknowledged connections of worker `w` back at the head of the queue. */
  #takeBack(w: HandOffWorker): void {
    const back: net.Socket[] = [];
    for (const [id, h] of this.#unacked) {
      if (h.worker !== w) continue;
      this.#unacked.delete(id);
      this.#counts.requeued++;
      if (!h.socket.destroyed) back.push(h.socket);
    }
    if (this.#closed) {
      for (const s of back) s.destroy();
      return;
    }
    this.#queue.unshift(...back);
    this.#dispatch();
  }

  #dispatch(): void {
    while (!this.#closed && this.#queue.length > 0) {
      const targets = this.#active().filter((w) => {
        if (w.isConnected()) return true;
        // Its channel ended: it died, and its 'exit' will take its connections back.
        this.#drop(w);
        return false;
      });
      if (targets.length === 0) return;
      const socket = this.#queue.shift();
      if (!socket || socket.destroyed) continue;
      const w = targets[this.#next++ % targets.length];
      if (!w) return;
      const id = ++this.#seq;
      this.#unacked.set(id, { socket, worker: w });
      this.#counts.handed++;
      // keepOpen: this copy stays open until the ack (see acked/gone).
      w.send({ type: 'skiff-ingress-conn', id }, socket, { keepOpen: true }, (err) => {
        if (!err) return;
        // The channel is broken (the worker is dying): it gets nothing more, and this
        // connection goes to another worker.
        this.#drop(w);
        const h = this.#unacked.get(id);
        if (!h) return;
        this.#unacked.delete(id);
        this.#counts.requeued++;
        if (this.#closed || h.socket.destroyed) return;
        this.#queue.unshift(h.socket);
        this.#dispatch();
      });
    }
  }
}
