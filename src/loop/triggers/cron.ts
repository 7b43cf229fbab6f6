/**
 * Cron schedules, in UTC: the standard five fields (minute hour day-of-month month day-of-week) with '*',
 * lists, ranges, steps ('*\/15', '1-5/2', '10/20' = from 10 to the end by 20), month and weekday names
 * (jan..dec, sun..sat), day-of-week 7 = Sunday, and the macros @hourly @daily @midnight @weekly @monthly
 * @yearly @annually. Day rule of Vixie cron (POSIX's, with its reading of '*'): when both day fields are
 * restricted a day matches if EITHER does; a day field whose text starts with '*' (so '*' and '*\/2') is
 * unrestricted, and then a day must match both. An expression that can never fire (30 February) is refused.
 * `nextRun` jumps field by field (month, then day, hour, minute), never minute by minute.
 */
import { KilnError } from '../../core/errors.js';

export interface Cron {
  readonly expr: string;
  /** Sorted allowed values of each field. */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 = Sunday … 6 = Saturday (7 is read as 0). */
  readonly daysOfWeek: readonly number[];
  /** The field's text starts with '*': the day rule then requires both day fields to match. */
  readonly dayOfMonthStar: boolean;
  readonly dayOfWeekStar: boolean;
}

interface Field { name: string; min: number; max: number; names?: readonly string[]; expect: string }
const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59, expect: '0-59' },
  { name: 'hour', min: 0, max: 23, expect: '0-23' },
  { name: 'day-of-month', min: 1, max: 31, expect: '1-31' },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], expect: '1-12 or jan-dec' },
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], expect: '0-7 (0 and 7 = Sunday) or sun-sat' },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const USAGE = 'five fields: minute hour day-of-month month day-of-week (e.g. \'0 6 1 * *\'), or @hourly, @daily, @weekly, @monthly, @yearly';

function refuse(expr: string, message: string, field?: { f: Field; pos: number }): never {
  const where = field ? `${field.f.name} (field ${field.pos} of 5) ` : '';
  throw new KilnError('CONFIG_INVALID', `cron '${expr}': ${where}${message}`, {
    path: field ? ['cron', field.f.name] : ['cron'],
    details: field ? { field: field.f.name, position: field.pos } : undefined,
  });
}

function parseField(expr: string, text: string, f: Field, pos: number): number[] {
  const bad = (m: string): never => refuse(expr, `${m}; expected ${f.expect}`, { f, pos });
  const value = (t: string): number => {
    const named = f.names?.indexOf(t.toLowerCase()) ?? -1;
    if (named >= 0) return named + f.min;
    if (!/^\d+$/.test(t)) return bad(`'${t}' is not a number${f.names ? ' or a name' : ''}`);
    const v = Number(t);
    if (v < f.min || v > f.max) bad(`${v} is out of range`);
    return v;
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') bad(`'${text}' has an empty list item`);
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) bad(`'${item}' has more than one '/'`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) bad(`step '${stepText}' in '${item}' must be a positive integer`);
      step = Number(stepText);
    }
    let lo: number, hi: number;
    if (range === '*') { lo = f.min; hi = f.name === 'day-of-week' ? 6 : f.max; }
    else if (range!.includes('-')) {
      const [a, b, more] = range!.split('-');
      if (more !== undefined || !a || !b) bad(`range '${range}' must be <from>-<to>`);
      lo = value(a!); hi = value(b!);
      if (lo > hi) bad(`range '${range}' runs backwards (${lo} > ${hi}); ranges do not wrap around`);
    } else {
      lo = value(range!);
      hi = stepText !== undefined ? (f.name === 'day-of-week' ? 6 : f.max) : lo;
    }
    for (let v = lo; v <= hi; v += step) out.add(f.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return [...out].sort((a, b) => a - b);
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (y: number, m: number): number => (m === 2 && !isLeap(y) ? 28 : DAYS_IN_MONTH[m - 1]!);

/**
 * Parses a cron expression; throws CONFIG_INVALID naming the field and its position.
 * @example parseCron('*\/15 9-17 * * mon-fri').hours // [9, 10, …, 17]
 */
export function parseCron(expr: string): Cron {
  if (typeof expr !== 'string') refuse(String(expr), `a cron expression must be a string of ${USAGE}`);
  const trimmed = expr.trim();
  let text = trimmed;
  if (text.startsWith('@')) {
    const m = MACROS[text.toLowerCase()];
    if (!m) refuse(expr, `unknown macro '${text}'; use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually`);
    text = m;
  }
  const parts = text.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) refuse(expr, `has ${parts.length} field${parts.length === 1 ? '' : 's'}; expected ${USAGE}`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = parts.map((p, i) => parseField(expr, p, FIELDS[i]!, i + 1)) as [number[], number[], number[], number[], number[]];
  const cron: Cron = { expr: trimmed, minutes, hours, daysOfMonth, months, daysOfWeek, dayOfMonthStar: parts[2]!.startsWith('*'), dayOfWeekStar: parts[4]!.startsWith('*') };
  if (cron.dayOfMonthStar || cron.dayOfWeekStar) {
    // Both day fields must match: some allowed month must have some allowed day (weekdays of a date cycle through all seven).
    const possible = months.some((m) => daysOfMonth.some((d) => d <= DAYS_IN_MONTH[m - 1]!));
    if (!possible) {
      refuse(expr, `never fires: no month of ${parts[3]} has day ${parts[2]}`, { f: FIELDS[2]!, pos: 3 });
    }
  }
  return cron;
}

function dayMatches(c: Cron, y: number, m: number, d: number): boolean {
  const dom = c.daysOfMonth.includes(d);
  const dow = c.daysOfWeek.includes(new Date(Date.UTC(y, m - 1, d)).getUTCDay());
  return c.dayOfMonthStar || c.dayOfWeekStar ? dom && dow : dom || dow;
}

/** Smallest allowed value >= v, or undefined. */
const atLeast = (a: readonly number[], v: number): number | undefined => a.find((x) => x >= v);

/** Whether the schedule fires at this minute (seconds ignored). */
export function cronMatches(c: Cron, at: Date): boolean {
  return c.minutes.includes(at.getUTCMinutes()) && c.hours.includes(at.getUTCHours()) && c.months.includes(at.getUTCMonth() + 1)
    && dayMatches(c, at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate());
}

/**
 * The first time the schedule fires strictly after `after` (at a whole minute, UTC).
 * @example nextRun(parseCron('0 6 1 * *'), new Date('2025-01-01T06:00:00Z')) // 2025-02-01T06:00:00.000Z
 */
export function nextRun(c: Cron, after: Date): Date {
  const ms = after.getTime();
  if (!Number.isFinite(ms)) throw new KilnError('INVALID_ARGUMENT', `nextRun: after is an invalid Date; pass a valid time`);
  const start = new Date(Math.floor(ms / 60_000) * 60_000 + 60_000);
  let y = start.getUTCFullYear(), mo = start.getUTCMonth() + 1, d = start.getUTCDate(), h = start.getUTCHours(), mi = start.getUTCMinutes();
  const limit = y + 400; // the calendar repeats every 400 years: nothing later can be the first match
  const nextDay = (): void => { d++; h = 0; mi = 0; };
  while (y <= limit) {
    const m2 = atLeast(c.months, mo);
    if (m2 === undefined) { y++; mo = c.months[0]!; d = 1; h = 0; mi = 0; continue; }
    if (m2 !== mo) { mo = m2; d = 1; h = 0; mi = 0; }
    if (d > daysIn(y, mo)) { mo++; d = 1; h = 0; mi = 0; if (mo > 12) { y++; mo = 1; } continue; }
    if (!dayMatches(c, y, mo, d)) { nextDay(); continue; }
    const h2 = atLeast(c.hours, h);
    if (h2 === undefined) { nextDay(); continue; }
    if (h2 !== h) { h = h2; mi = 0; }
    const mi2 = atLeast(c.minutes, mi);
    if (mi2 === undefined) { h++; mi = 0; if (h > 23) nextDay(); continue; }
    return new Date(Date.UTC(y, mo - 1, d, h, mi2));
  }
  throw new KilnError('CONFIG_INVALID', `cron '${c.expr}' does not fire within 400 years after ${after.toISOString()}`, { path: ['cron'] });
}

/** Most times `cronTimes` returns, so a '* * * * *' over decades cannot exhaust memory. */
export const MAX_CRON_TIMES = 1_000_000;

/**
 * Every time the schedule fires in [from, to), ascending.
 * @example cronTimes(parseCron('@daily'), new Date('2025-01-01Z'), new Date('2025-01-03Z')) // [2025-01-01T00:00Z, 2025-01-02T00:00Z]
 */
export function cronTimes(c: Cron, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  if (!(to.getTime() > from.getTime())) return out;
  let t = nextRun(c, new Date(from.getTime() - 1));
  while (t.getTime() < to.getTime()) {
    if (out.length >= MAX_CRON_TIMES) throw new KilnError('INVALID_ARGUMENT', `cronTimes: '${c.expr}' fires more than ${MAX_CRON_TIMES} times between ${from.toISOString()} and ${to.toISOString()}; ask for a shorter range`);
    out.push(t);
    t = nextRun(c, t);
  }
  return out;
}
