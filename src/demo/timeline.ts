// The demo's timeline: what happened when (seconds since the demo started), printed live as
// readable lines or collected for `skiff demo --json`.
import pc from 'picocolors';
import { type Clock, realClock } from '../lib/clock.js';

/** The walkthrough steps, in SEED.md order. */
export type DemoStep =
  | 'cluster'
  | 'cleanup'
  | 'deploy'
  | 'traffic'
  | 'self-heal'
  | 'metrics'
  | 'autoscale'
  | 'load'
  | 'scale-up'
  | 'scale-down'
  | 'done';

/** How an entry reads: a plain note, a command typed, its output, a measured figure, a problem. */
export type EntryKind = 'note' | 'command' | 'output' | 'figure' | 'error';

/** One line of the timeline. */
export interface TimelineEntry {
  /** Seconds since the demo started. */
  t: number;
  step: DemoStep;
  kind: EntryKind;
  text: string;
}

/** Options of a Timeline. */
export interface TimelineOptions {
  clock?: Clock;
  /** Called with each entry as it is recorded (the live printer). */
  onEntry?: (e: TimelineEntry) => void;
}

/** Records timeline entries relative to its creation time. */
export class Timeline {
  readonly entries: TimelineEntry[] = [];
  readonly startedAt: number;
  #clock: Clock;
  #onEntry: ((e: TimelineEntry) => void) | undefined;

  constructor(opts: TimelineOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#onEntry = opts.onEntry;
    this.startedAt = this.#clock.now();
  }

  /** Seconds since the start, at millisecond precision. */
  elapsed(at = this.#clock.now()): number {
    return Math.round(at - this.startedAt) / 1000;
  }

  /** Records an entry now (or at `at`, a clock time, for events observed after the fact). */
  add(step: DemoStep, kind: EntryKind, text: string, at?: number): TimelineEntry {
    const e: TimelineEntry = { t: this.elapsed(at), step, kind, text };
    this.entries.push(e);
    this.#onEntry?.(e);
    return e;
  }

  /** A note. */
  note(step: DemoStep, text: string, at?: number): void {
    this.add(step, 'note', text, at);
  }

  /** A measured figure, highlighted when printed. */
  figure(step: DemoStep, text: string, at?: number): void {
    this.add(step, 'figure', text, at);
  }

  /** Something that went wrong. */
  error(step: DemoStep, text: string): void {
    this.add(step, 'error', text);
  }
}

/** Formats one entry as the human timeline prints it: `  12.34s  self-heal  text`. */
export function formatEntry(e: TimelineEntry, color = false): string {
  const c = color ? pc : pc.createColors(false);
  const time = `${e.t.toFixed(2)}s`.padStart(8);
  const step = e.step.padEnd(10);
  const lines = e.text.replace(/\n+$/, '').split('\n');
  const body = (line: string): string => {
    switch (e.kind) {
      case 'command':
        return c.bold(`$ ${line}`);
      case 'output':
        return c.dim(`  ${line}`);
      case 'figure':
        return c.green(line);
      case 'error':
        return c.red(line);
      case 'note':
        return line;
    }
  };
  const first = `${c.dim(time)}  ${c.cyan(step)}  ${body(lines[0] ?? '')}`;
  const pad = ' '.repeat(time.length + step.length + 4);
  return [first, ...lines.slice(1).map((l) => pad + body(l))].join('\n');
}
