// A bench script's result: named figures with optional targets, printed as an aligned table or
// emitted as JSON for the report script (bench/report). Generic: no Skiff knowledge.

/** One reported figure. `target` is a threshold on `value`; figures are reported, not asserted. */
export interface Figure {
  /** What was measured, e.g. "create latency p99". */
  figure: string;
  /** NaN or undefined when it could not be measured (see `note`). */
  value: number | undefined;
  unit: string;
  /** The goal: value must be below (`<`) or above (`>`) `target`. */
  target?: { op: '<' | '>'; value: number };
  /** Decimals to print (default 2). */
  decimals?: number;
  /** Why a value is missing, or how it was measured. */
  note?: string;
}

/** The outcome of a figure against its target. */
export type Verdict = 'pass' | 'fail' | 'n/a';

/** Checks a figure against its target; 'n/a' without a target or a value. */
export function verdict(f: Figure): Verdict {
  if (!f.target || f.value === undefined || Number.isNaN(f.value)) return 'n/a';
  return (f.target.op === '<' ? f.value < f.target.value : f.value > f.target.value)
    ? 'pass'
    : 'fail';
}

const fmt = (f: Figure): string =>
  f.value === undefined || Number.isNaN(f.value)
    ? '-'
    : `${f.value.toFixed(f.decimals ?? 2)} ${f.unit}`.trim();

/**
 * Renders figures as a fixed-width text table: figure, value, target, result, note.
 * @example
 * process.stdout.write(formatFigureTable([{ figure: 'rss', value: 42, unit: 'MB' }]));
 */
export function formatFigureTable(figures: readonly Figure[]): string {
  const rows = [
    ['FIGURE', 'VALUE', 'TARGET', 'RESULT', 'NOTE'],
    ...figures.map((f) => [
      f.figure,
      fmt(f),
      f.target ? `${f.target.op} ${f.target.value} ${f.unit}`.trim() : '',
      verdict(f),
      f.note ?? '',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows
    .map((r) =>
      r
        .map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** The JSON document a bench script prints with --json (read by the report script). */
export function figuresToJson(
  bench: string,
  figures: readonly Figure[],
  extra: Record<string, unknown> = {},
): string {
  return `${JSON.stringify(
    {
      bench,
      ...extra,
      figures: figures.map((f) => ({
        ...f,
        value: f.value === undefined || Number.isNaN(f.value) ? null : f.value,
        result: verdict(f),
      })),
    },
    null,
    2,
  )}\n`;
}
