// Follows a container's CRI log file as the shim appends to it (kubelet pkg/kubelet/kuberuntime/
// logs ReadLogs with Follow): `kubectl logs -f` and attach's output both read through it.
import { createReadStream, existsSync, type FSWatcher, statSync, watch } from 'node:fs';
import path from 'node:path';
import type { Clock, Timer } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { PodWorker } from './pod-worker.js';

/** Where the followed container stands: running, exited (its last bytes may follow), or gone. */
export type TailSourceState = 'running' | 'exited' | 'gone';

/** Options of LogTail. */
export interface LogTailOptions {
  file: string;
  /** Byte offset to start from (the file's size: only what is written from now on). */
  offset: number;
  clock: Clock;
  log: Logger;
  /** Complete CRI lines (each ending in a newline), in file order. */
  onLines(text: string): void;
  /** Polled about every second (every 100 ms once exited). */
  state(): TailSourceState;
  /** Called once, when following ends (source gone, exited and read out, or stop()). */
  onEnd(): void;
}

/**
 * Follows one log file.
 * 1. Lines reach onLines whole and in order; a rotated file (smaller than the offset) restarts
 *    from its beginning.
 * 2. Following ends one round after the source exited, after a last read (the shim writes the
 *    last partial line at pipe EOF, which may follow the exit a moment), or at once when gone.
 * 3. onEnd runs exactly once.
 */
export class LogTail {
  #opts: LogTailOptions;
  #offset: number;
  #carry = '';
  #isReading = false;
  #again = false;
  #isDone = false;
  #stopWhenRead = false;
  #sawExit = false;
  #watcher?: FSWatcher;
  #timer: Timer;

  constructor(opts: LogTailOptions) {
    this.#opts = opts;
    this.#offset = opts.offset;
    try {
      this.#watcher = watch(path.dirname(opts.file), () => this.#pump());
      this.#watcher.on('error', () => undefined);
    } catch (err) {
      opts.log.debug('log follow: no fs.watch, polling', { err: String(err) });
    }
    this.#timer = opts.clock.setTimeout(() => this.#check(), 100);
    // What is already there past the offset (a replay from 0) is read at once.
    this.#pump();
  }

  /** Stops following (the client left). */
  stop(): void {
    if (this.#isDone) return;
    this.#isDone = true;
    this.#watcher?.close();
    this.#timer.cancel();
    this.#opts.onEnd();
  }

  #check(): void {
    const state = this.#opts.state();
    this.#pump();
    if (state === 'gone') {
      this.stop();
      return;
    }
    const exited = state === 'exited';
    if (exited && this.#sawExit) {
      this.#stopWhenRead = true;
      if (!this.#isReading) this.stop();
      return;
    }
    this.#sawExit = exited;
    this.#timer = this.#opts.clock.setTimeout(
      () => this.#check(),
      this.#watcher && !exited ? 1000 : 100,
    );
  }

  #pump(): void {
    if (this.#isDone) return;
    if (this.#isReading) {
      this.#again = true;
      return;
    }
    const file = this.#opts.file;
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size < this.#offset) this.#offset = 0; // rotated
    if (size <= this.#offset) return;
    this.#isReading = true;
    const stream = createReadStream(file, { start: this.#offset, end: size - 1, encoding: 'utf8' });
    let chunk = '';
    stream.on('data', (d) => {
      chunk += d;
    });
    stream.on('error', () => {
      this.#isReading = false;
    });
    stream.on('end', () => {
      this.#isReading = false;
      this.#offset = size;
      const text = this.#carry + chunk;
      const cut = text.lastIndexOf('\n') + 1;
      this.#carry = text.slice(cut);
      if (!this.#isDone && cut > 0) this.#opts.onLines(text.slice(0, cut));
      if (this.#again) {
        this.#again = false;
        this.#pump();
      } else if (this.#stopWhenRead) this.stop();
    });
  }
}

/** Where a followed container attempt stands: log follow and attach end with it. */
export function attemptState(
  findPod: (namespace: string, name: string) => PodWorker | undefined,
  w: PodWorker,
  container: string,
  attempt: number | undefined,
): TailSourceState {
  const ns = w.pod.metadata?.namespace ?? '';
  const name = w.pod.metadata?.name ?? '';
  // A restarted container or a recreated pod is another source: this follow is over.
  if (w.container(container)?.attempt !== attempt || findPod(ns, name) !== w) return 'gone';
  return w.containerPid(container) === undefined ? 'exited' : 'running';
}
