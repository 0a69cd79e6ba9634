// Standard 5-field cron schedules with descriptors, evaluated in an IANA time zone (the grammar
// and error wording of robfig/cron v3 ParseStandard, which CronJobs use; zones via Intl).

/** A parsed schedule: allowed values per field, and whether dom/dow were a star. */
export interface CronSchedule {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  domStar: boolean;
  dowStar: boolean;
  /** `@every 5m`: a fixed interval instead of fields. */
  everyMs?: number;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const months: Bounds = {
  min: 1,
  max: 12,
  names: {
    jan: 1,
    feb: 2,
    mar: 3,
    apr: 4,
    may: 5,
    jun: 6,
    jul: 7,
    aug: 8,
    sep: 9,
    oct: 10,
    nov: 11,
    dec: 12,
  },
};
const dows: Bounds = {
  min: 0,
  max: 6,
  names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 },
};
const fieldBounds: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  months,
  dows,
];

const descriptors: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function parseInt10(s: string): number {
  if (!/^\d+$/.test(s)) throw new SyntaxError(`failed to parse int from ${s}: invalid syntax`);
  return Number(s);
}

function fieldValue(s: string, b: Bounds): number {
  const named = b.names?.[s.toLowerCase()];
  return named ?? parseInt10(s);
}

// One comma-separated part: *, ?, n, a-b, with an optional /step.
function parseRange(expr: string, b: Bounds, out: Set<number>): boolean {
  const [rangePart = '', stepPart, extra] = expr.split('/');
  if (extra !== undefined) throw new SyntaxError(`too many slashes: ${expr}`);
  const lowHigh = rangePart.split('-');
  let start: number;
  let end: number;
  let star = false;
  if (lowHigh[0] === '*' || lowHigh[0] === '?') {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = fieldValue(lowHigh[0] ?? '', b);
    if (lowHigh.length === 1) end = start;
    else if (lowHigh.length === 2) end = fieldValue(lowHigh[1] ?? '', b);
    else throw new SyntaxError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (stepPart !== undefined) {
    step = parseInt10(stepPart);
    // "n/step" means n through the maximum.
    if (lowHigh.length === 1 && !star) end = b.max;
    if (step > 1) star = false;
  }
  if (start < b.min)
    throw new SyntaxError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new SyntaxError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end)
    throw new SyntaxError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new SyntaxError(`step of range should be a positive number: ${expr}`);
  for (let v = start; v <= end; v += step) out.add(v);
  return star;
}

function parseField(field: string, b: Bounds): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  for (const part of field.split(',')) star = parseRange(part, b, set) || star;
  return { set, star };
}

const durationUnits: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Parses a Go duration such as "1h30m" or "90s" (for @every). */
function parseDuration(s: string): number {
  let ms = 0;
  let rest = s;
  if (rest === '') throw new SyntaxError(`failed to parse duration @every ${s}: invalid duration`);
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|h|m|s)/.exec(rest);
    if (!m) throw new SyntaxError(`failed to parse duration @every ${s}: invalid duration "${s}"`);
    ms += Number(m[1]) * (durationUnits[m[2] ?? 's'] ?? 1000);
    rest = rest.slice(m[0].length);
  }
  return ms;
}

/**
 * Parses a standard cron schedule ("*\/5 * * * *", "@daily", "@every 1h"); throws SyntaxError
 * with robfig/cron's wording.
 * @example
 * nextAfter(parseSchedule('0 9 * * mon-fri'), Date.now(), 'Europe/Paris')
 */
export function parseSchedule(spec: string): CronSchedule {
  let s = spec.trim();
  if (s === '') throw new SyntaxError('empty spec string');
  if (s.startsWith('@every ')) {
    const everyMs = Math.max(1000, Math.floor(parseDuration(s.slice(7).trim()) / 1000) * 1000);
    const all = parseField('*', fieldBounds[0] as Bounds).set;
    return {
      minute: all,
      hour: all,
      dom: all,
      month: all,
      dow: all,
      domStar: true,
      dowStar: true,
      everyMs,
    };
  }
  if (s.startsWith('@')) {
    const d = descriptors[s.toLowerCase()];
    if (!d) throw new SyntaxError(`unrecognized descriptor: ${s}`);
    s = d;
  }
  const fields = s.split(/\s+/);
  if (fields.length !== 5) {
    throw new SyntaxError(
      `expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`,
    );
  }
  const parsed = fields.map((f, i) => parseField(f, fieldBounds[i] as Bounds));
  const [mi, h, dom, mo, dow] = parsed as [
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
  ];
  return {
    minute: mi.set,
    hour: h.set,
    dom: dom.set,
    month: mo.set,
    dow: dow.set,
    domStar: dom.star,
    dowStar: dow.star,
  };
}

/** True when the IANA zone is known to this runtime. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock fields of t in the zone. */
export function wallClock(
  t: number,
  tz: string,
): { year: number; month: number; day: number; hour: number; minute: number; dow: number } {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(t)) parts[p.type] = p.value;
  return {
    year: Number(parts['year']),
    month: Number(parts['month']),
    day: Number(parts['day']),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
    dow: dows.names?.[(parts['weekday'] ?? '').toLowerCase()] ?? 0,
  };
}

const minute = 60_000;

/**
 * The first activation strictly after `after` (ms), in zone tz (default UTC); undefined when
 * none exists within five years (e.g. "0 0 30 2 *").
 */
export function nextAfter(s: CronSchedule, after: number, tz = 'UTC'): number | undefined {
  if (s.everyMs !== undefined) {
    // robfig's ConstantDelaySchedule: whole seconds after `after`, rounded down to the second.
    return Math.floor(after / 1000) * 1000 + s.everyMs;
  }
  let t = Math.floor(after / minute) * minute + minute;
  const limit = after + 5 * 366 * 24 * 60 * minute;
  while (t <= limit) {
    const w = wallClock(t, tz);
    const dayOK =
      s.domStar || s.dowStar
        ? s.dom.has(w.day) && s.dow.has(w.dow)
        : s.dom.has(w.day) || s.dow.has(w.dow);
    // Skip whole days, then hours, then minutes that cannot match (zone offsets are re-read each step).
    if (!s.month.has(w.month) || !dayOK) {
      t += ((23 - w.hour) * 60 + (60 - w.minute)) * minute;
    } else if (!s.hour.has(w.hour)) {
      t += (60 - w.minute) * minute;
    } else if (!s.minute.has(w.minute)) {
      t += minute;
    } else {
      return t;
    }
  }
  return undefined;
}
