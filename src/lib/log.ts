// A small leveled, structured logger: JSON lines (or compact text on a TTY) to stderr.
// Records carry component/kind/namespace/name/key like klog's KObj.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields attached to a log record. */
export type Fields = Record<string, unknown>;

/** A structured logger. */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds fields to every record. */
  child(fields: Fields): Logger;
}

let minLevel: Level = (process.env['SKIFF_LOG_LEVEL'] as Level | undefined) ?? 'info';
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

/** Sets the minimum level and, optionally, where lines go (a file stream in `skiff up`). */
export function configureLogging(opts: { level?: Level; sink?: (line: string) => void }): void {
  if (opts.level) minLevel = opts.level;
  if (opts.sink) sink = opts.sink;
}

function errorFields(fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? v.message : v;
  }
  return out;
}

/** Creates a logger whose records carry the given fields. */
export function createLogger(fields: Fields = {}): Logger {
  const emit = (level: Level, msg: string, extra?: Fields) => {
    if (order[level] < order[minLevel]) return;
    const rec = {
      ts: new Date().toISOString(),
      level,
      msg,
      ...fields,
      ...errorFields(extra ?? {}),
    };
    sink(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (more) => createLogger({ ...fields, ...more }),
  };
}
