// A buffered access-log sink (nginx's `access_log ... buffer=64k flush=1s`): stdout is a pipe in a
// pod and pipe writes are synchronous on Linux, so one write per request costs a syscall each.
import { type Clock, realClock, type Timer } from '../lib/clock.js';

/** Options of BufferedLog. */
export interface BufferedLogOptions {
  /** Receives whole batches of lines (each ending in "\n"). */
  write: (chunk: string) => void;
  clock?: Clock;
  /** Flush once this many characters are buffered; default 64 KiB. */
  maxChars?: number;
  /** Flush at most this long after the first buffered line; default 200 ms. */
  flushMs?: number;
}

/**
 * Collects lines and writes them in batches. Guarantees:
 * 1. Lines come out in order, each followed by "\n".
 * 2. A line is written no later than flushMs after it was added, or at once when the buffer fills.
 * 3. flush() writes everything buffered now (call it before exit).
 */
export class BufferedLog {
  #opts: BufferedLogOptions;
  #clock: Clock;
  #lines: string[] = [];
  #chars = 0;
  #timer: Timer | undefined;

  constructor(opts: BufferedLogOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** Adds one line. */
  push(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length + 1;
    if (this.#chars >= (this.#opts.maxChars ?? 64 * 1024)) this.flush();
    else this.#timer ??= this.#clock.setTimeout(() => this.flush(), this.#opts.flushMs ?? 200);
  }

  /** Writes every buffered line now. */
  flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    const chunk = `${this.#lines.join('\n')}\n`;
    this.#lines = [];
    this.#chars = 0;
    this.#opts.write(chunk);
  }
}
