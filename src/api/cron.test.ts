import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidTimeZone, nextAfter, parseSchedule } from './cron.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

describe('cron schedules', () => {
  const cases: [string, string, string, string | undefined][] = [
    ['every minute', '* * * * *', '2026-01-01T10:00:30Z', '2026-01-01T10:01:00.000Z'],
    ['every 5 minutes', '*/5 * * * *', '2026-01-01T10:03:00Z', '2026-01-01T10:05:00.000Z'],
    [
      'strictly after an activation',
      '*/5 * * * *',
      '2026-01-01T10:05:00Z',
      '2026-01-01T10:10:00.000Z',
    ],
    ['ranges and lists', '15,45 9-10 * * *', '2026-01-01T10:50:00Z', '2026-01-02T09:15:00.000Z'],
    [
      'n/step runs to the maximum',
      '50/5 * * * *',
      '2026-01-01T10:56:00Z',
      '2026-01-01T11:50:00.000Z',
    ],
    ['weekday names', '0 9 * * mon-fri', '2026-01-03T12:00:00Z', '2026-01-05T09:00:00.000Z'],
    ['month names', '0 0 1 jul *', '2026-01-01T00:00:00Z', '2026-07-01T00:00:00.000Z'],
    // With both day fields restricted, either may match (cron's OR rule).
    ['dom OR dow', '0 0 13 * 5', '2026-02-01T00:00:00Z', '2026-02-06T00:00:00.000Z'],
    ['@daily', '@daily', '2026-01-01T10:00:00Z', '2026-01-02T00:00:00.000Z'],
    ['@every', '@every 90s', '2026-01-01T10:00:00.400Z', '2026-01-01T10:01:30.000Z'],
    ['no such day', '0 0 30 2 *', '2026-01-01T00:00:00Z', undefined],
  ];
  for (const [name, spec, from, want] of cases) {
    it(`${name}: "${spec}" after ${from}`, () => {
      assert.equal(iso(nextAfter(parseSchedule(spec), at(from))), want);
    });
  }

  it('evaluates the schedule in the time zone, across DST', () => {
    const s = parseSchedule('0 9 * * *');
    // 09:00 in New York is 14:00 UTC in winter, 13:00 UTC in summer.
    assert.equal(
      iso(nextAfter(s, at('2026-01-10T00:00:00Z'), 'America/New_York')),
      '2026-01-10T14:00:00.000Z',
    );
    assert.equal(
      iso(nextAfter(s, at('2026-07-10T00:00:00Z'), 'America/New_York')),
      '2026-07-10T13:00:00.000Z',
    );
    assert.ok(isValidTimeZone('Europe/Paris'));
    assert.ok(!isValidTimeZone('Mars/Olympus'));
  });

  it('rejects bad schedules with robfig/cron wording', () => {
    const bad: [string, string][] = [
      ['* * *', 'expected exactly 5 fields, found 3: [* * *]'],
      ['61 * * * *', 'end of range (61) above maximum (59): 61'],
      ['x * * * *', 'failed to parse int from x: invalid syntax'],
      ['@often', 'unrecognized descriptor: @often'],
      ['5-1 * * * *', 'beginning of range (5) beyond end of range (1): 5-1'],
    ];
    for (const [spec, msg] of bad) assert.throws(() => parseSchedule(spec), { message: msg }, spec);
  });
});
