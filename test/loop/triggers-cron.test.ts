import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { cronMatches, cronTimes, nextRun, parseCron } from '../../src/loop/triggers/index.js';

const MIN = 60_000;
const DAY = 86_400_000;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface RefField { text: string; values: Set<number>; star: boolean }

/** A random field with the set it denotes, computed here independently of the parser. */
function randomField(rng: Rng, min: number, max: number, names: string[] | null, sparse: boolean): RefField {
  const r = rng.uniform();
  const top = max === 7 ? 6 : max;
  const values = new Set<number>();
  const add = (v: number): void => { values.add(max === 7 && v === 7 ? 0 : v); };
  const num = (v: number): string => (names && rng.uniform() < 0.3 && v - min < names.length ? names[v - min]! : String(v));
  if (!sparse && r < 0.25) { for (let v = min; v <= top; v++) add(v); return { text: '*', values, star: true }; }
  if (r < 0.4) {
    const step = 1 + rng.int(Math.max(1, Math.floor((top - min + 1) / 2)));
    for (let v = min; v <= top; v += step) add(v);
    return { text: `*/${step}`, values, star: true };
  }
  const items: string[] = [];
  const n = 1 + rng.int(3);
  for (let k = 0; k < n; k++) {
    const a = min + rng.int(max - min + 1);
    const kind = rng.uniform();
    if (kind < 0.45) { items.push(num(a)); add(a); }
    else {
      const b = a + rng.int(max - a + 1);
      const step = kind < 0.75 ? 1 : 1 + rng.int(4);
      for (let v = a; v <= b; v += step) add(v);
      items.push(step === 1 ? `${num(a)}-${num(b)}` : `${a}-${b}/${step}`);
    }
  }
  return { text: items.join(','), values, star: false };
}

function randomCron(rng: Rng, sparse: boolean): { expr: string; f: RefField[] } {
  for (;;) {
    const f = [
      randomField(rng, 0, 59, null, sparse), randomField(rng, 0, 23, null, sparse), randomField(rng, 1, 31, null, sparse),
      randomField(rng, 1, 12, MONTHS, sparse), randomField(rng, 0, 7, WEEKDAYS, sparse),
    ];
    const ok = !(f[2]!.star || f[4]!.star) || [...f[3]!.values].some((m) => [...f[2]!.values].some((d) => d <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!));
    if (ok) return { expr: f.map((x) => x.text).join(' '), f };
  }
}

/** The Vixie day rule, written out plainly. */
function dayOk(f: RefField[], d: Date): boolean {
  const dom = f[2]!.values.has(d.getUTCDate()), dow = f[4]!.values.has(d.getUTCDay());
  return f[3]!.values.has(d.getUTCMonth() + 1) && (f[2]!.star || f[4]!.star ? dom && dow : dom || dow);
}

/** Every matching minute in [from, to), scanning every day and, on a matching day, every minute. */
function reference(f: RefField[], from: number, to: number): number[] {
  const out: number[] = [];
  for (let day = Math.floor(from / DAY) * DAY; day < to; day += DAY) {
    if (!dayOk(f, new Date(day))) continue;
    for (let t = day; t < day + DAY; t += MIN) {
      const d = new Date(t);
      if (t >= from && t < to && f[1]!.values.has(d.getUTCHours()) && f[0]!.values.has(d.getUTCMinutes())) out.push(t);
    }
  }
  return out;
}

describe('parseCron and nextRun against a naive reference', () => {
  it('random expressions over random 45-day windows: same sets, same times', () => {
    const rng = new Rng(20250101);
    for (let k = 0; k < 150; k++) {
      const { expr, f } = randomCron(rng, false);
      const c = parseCron(expr);
      expect([c.minutes, c.hours, c.daysOfMonth, c.months, c.daysOfWeek], expr).toEqual(f.map((x) => [...x.values].sort((a, b) => a - b)));
      const from = Date.UTC(2019, 0, 1) + rng.int(12 * 365) * DAY + rng.int(DAY);
      const to = from + 45 * DAY;
      const want = reference(f, from, to);
      expect(cronTimes(c, new Date(from), new Date(to)).map((d) => d.getTime()), expr).toEqual(want);
      for (const t of want.slice(0, 50)) expect(cronMatches(c, new Date(t))).toBe(true);
    }
  });

  it('sparse random expressions over six years (leap years 2024 and 2028), and nextRun from odd instants', () => {
    const rng = new Rng(7);
    const from = Date.UTC(2023, 0, 1), to = Date.UTC(2029, 0, 1);
    for (let k = 0; k < 20; k++) {
      const { expr, f } = randomCron(rng, true);
      const c = parseCron(expr);
      const want = reference(f, from, to);
      const got = cronTimes(c, new Date(from), new Date(to)).map((d) => d.getTime());
      expect(got, expr).toEqual(want);
      for (let j = 0; j < 20 && want.length > 1; j++) {
        const i = rng.int(want.length - 1);
        const at = want[i]! + rng.int(want[i + 1]! - want[i]!); // within [this, next): the next run is strictly later
        expect(nextRun(c, new Date(at)).getTime(), `${expr} after ${new Date(at).toISOString()}`).toBe(want[i + 1]);
      }
    }
  });
});

describe('parseCron: fixed cases', () => {
  const next = (expr: string, after: string): string => nextRun(parseCron(expr), new Date(after)).toISOString();

  it('is strictly after, at whole minutes', () => {
    expect(next('0 6 1 * *', '2025-01-01T06:00:00Z')).toBe('2025-02-01T06:00:00.000Z');
    expect(next('0 6 1 * *', '2025-01-01T05:59:59.999Z')).toBe('2025-01-01T06:00:00.000Z');
    expect(next('*/15 * * * *', '2025-03-03T10:14:30Z')).toBe('2025-03-03T10:15:00.000Z');
  });

  it('29 February only in leap years; 31 skips short months', () => {
    expect(next('0 0 29 2 *', '2024-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 0 29 2 *', '2096-03-01T00:00:00Z')).toBe('2104-02-29T00:00:00.000Z'); // 2100 is not a leap year
    expect(next('0 12 31 * *', '2025-04-01T00:00:00Z')).toBe('2025-05-31T12:00:00.000Z');
  });

  it('day-of-week 7 is Sunday, names and macros', () => {
    expect(parseCron('0 0 * * 7').daysOfWeek).toEqual([0]);
    expect(parseCron('0 0 * * 5-7').daysOfWeek).toEqual([0, 5, 6]);
    expect(parseCron('0 0 * JAN-mar mon-FRI')).toMatchObject({ months: [1, 2, 3], daysOfWeek: [1, 2, 3, 4, 5] });
    expect(next('0 0 * * 7', '2025-01-01T00:00:00Z')).toBe('2025-01-05T00:00:00.000Z'); // 2025-01-05 is a Sunday
    expect(next('@daily', '2025-01-01T00:00:00Z')).toBe('2025-01-02T00:00:00.000Z');
    expect(next('@weekly', '2025-01-01T00:00:00Z')).toBe('2025-01-05T00:00:00.000Z');
    expect(next('@monthly', '2025-01-01T00:00:00Z')).toBe('2025-02-01T00:00:00.000Z');
    expect(next('@hourly', '2025-01-01T00:00:00Z')).toBe('2025-01-01T01:00:00.000Z');
    expect(parseCron('1-5/2 * * * *').minutes).toEqual([1, 3, 5]);
    expect(parseCron('50/4 * * * *').minutes).toEqual([50, 54, 58]);
  });

  it('both day fields restricted: a day matches if EITHER does; a starred one: both must', () => {
    // the 13th or any Friday in February 2026 (Fridays 6, 13, 20, 27; the 13th is one)
    const feb = cronTimes(parseCron('0 0 13 2 fri'), new Date('2026-02-01Z'), new Date('2026-03-01Z')).map((d) => d.getUTCDate());
    expect(feb).toEqual([6, 13, 20, 27]);
    const or = cronTimes(parseCron('0 0 1 1 mon'), new Date('2025-01-01Z'), new Date('2025-02-01Z')).map((d) => d.getUTCDate());
    expect(or).toEqual([1, 6, 13, 20, 27]);
    // '*/2' counts as unrestricted (Vixie): odd days that are also Mondays
    const and = cronTimes(parseCron('0 0 */2 1 mon'), new Date('2025-01-01Z'), new Date('2025-02-01Z')).map((d) => d.getUTCDate());
    expect(and).toEqual([13, 27]);
  });

  it('30 February never fires and is refused; with a weekday (OR rule) it fires', () => {
    expect(() => parseCron('0 0 30 2 *')).toThrow(/never fires/);
    expect(() => parseCron('0 0 31 4,6 *')).toThrow(/day-of-month \(field 3 of 5\)/);
    expect(next('0 0 30 2 mon', '2025-01-01T00:00:00Z')).toBe('2025-02-03T00:00:00.000Z');
  });

  it('bad expressions name the field and its position', () => {
    const cases: [string, RegExp][] = [
      ['0 25 * * *', /hour \(field 2 of 5\) 25 is out of range; expected 0-23/],
      ['60 * * * *', /minute \(field 1 of 5\) 60 is out of range/],
      ['0 0 0 * *', /day-of-month \(field 3 of 5\) 0 is out of range; expected 1-31/],
      ['0 0 * 13 *', /month \(field 4 of 5\) 13 is out of range/],
      ['0 0 * * 8', /day-of-week \(field 5 of 5\) 8 is out of range/],
      ['0 0 * foo *', /month \(field 4 of 5\) 'foo' is not a number or a name/],
      ['*/0 * * * *', /minute \(field 1 of 5\) step '0'/],
      ['0 5-2 * * *', /hour \(field 2 of 5\) range '5-2' runs backwards/],
      ['0 1,,2 * * *', /hour \(field 2 of 5\) .*empty list item/],
      ['0 0 * *', /has 4 fields; expected five fields/],
      ['@fortnightly', /unknown macro '@fortnightly'/],
    ];
    for (const [expr, re] of cases) {
      let err: unknown;
      try { parseCron(expr); } catch (e) { err = e; }
      expect(isKilnError(err, 'CONFIG_INVALID'), expr).toBe(true);
      expect((err as Error).message, expr).toMatch(re);
    }
    try { parseCron('0 25 * * *'); } catch (e) { expect((e as { details: unknown }).details).toEqual({ field: 'hour', position: 2 }); }
  });

  it('nextRun is fast for a rare schedule (skips by fields)', () => {
    const c = parseCron('0 0 29 2 1'); // the 29th of February or any Monday in February (OR)
    const t0 = performance.now();
    let t = new Date('2000-01-01Z');
    for (let i = 0; i < 2000; i++) t = nextRun(c, t);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(t.getUTCMonth()).toBe(1);
    const leapOnly = parseCron('0 0 29 2 *');
    expect(nextRun(leapOnly, new Date('2001-01-01Z')).toISOString()).toBe('2004-02-29T00:00:00.000Z');
  });
});
