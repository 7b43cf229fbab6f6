/**
 * The one UTC time parser of kiln. Times are UTC: ISO 8601 strings with `Z`, `+00:00` (or another spelling
 * of a zero offset) or no offset, epoch milliseconds, or Dates; any other offset is refused, never shifted.
 * Inside kiln a time is a number of epoch microseconds.
 */
import { KilnError } from './errors.js';

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;
const UTC_OFFSETS = new Set([undefined, 'Z', 'z', 'UTC', '+00', '-00', '+0000', '-0000', '+00:00', '-00:00']);
const EXAMPLE = "use ISO 8601 in UTC (e.g. '2024-01-01T08:00:00Z') or epoch milliseconds";

export type ParsedTime = { readonly us: number; readonly utc: boolean } | { readonly problem: string; readonly offset?: string };

/** Parses one time (ISO 8601 in UTC, epoch ms or a Date); returns a problem text instead of throwing (callers collect every problem). */
export function parseTime(v: unknown): ParsedTime {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { problem: `${v} is not a time` };
    return { us: Math.round(v * 1000), utc: true };
  }
  if (v instanceof Date) {
    const ms = v.getTime();
    return Number.isNaN(ms) ? { problem: 'an invalid Date' } : { us: ms * 1000, utc: true };
  }
  if (typeof v !== 'string') return { problem: `${JSON.stringify(v)} is not a time; ${EXAMPLE}` };
  const m = ISO_RE.exec(v.trim());
  if (!m) return { problem: `'${v}' is not a time; ${EXAMPLE}` };
  const offset = m[8];
  if (!UTC_OFFSETS.has(offset)) return { problem: `'${v}' has offset ${offset}`, offset: offset! };
  const y = +m[1]!, mo = +m[2]!, d = +m[3]!, h = +(m[4] ?? 0), mi = +(m[5] ?? 0), s = +(m[6] ?? 0);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return { problem: `'${v}' is not a valid date and time` };
  const frac = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  return { us: ms * 1000 + frac, utc: true };
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digits = (t: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) { const c = t.charCodeAt(i) - 48; if (c < 0 || c > 9) return -1; n = n * 10 + c; }
  return n;
};

/**
 * The time in epoch µs, or null when `parseTime` would report a problem. Reads the usual
 * 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' without a regular expression (the online push validates every event's times).
 */
export function timeUs(v: unknown): number | null {
  if (typeof v === 'string' && v.length >= 20 && v.length <= 30 && v.charCodeAt(v.length - 1) === 90 /* Z */ && v.charCodeAt(10) === 84 /* T */
    && v[4] === '-' && v[7] === '-' && v[13] === ':' && v[16] === ':') {
    const y = digits(v, 0, 4), mo = digits(v, 5, 7), d = digits(v, 8, 10), h = digits(v, 11, 13), mi = digits(v, 14, 16), s = digits(v, 17, 19);
    let frac = 0;
    let ok = y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 59;
    if (ok && v.length > 20) {
      const f = v.length - 1;
      ok = v[19] === '.' && f > 20;
      const raw = ok ? digits(v, 20, Math.min(f, 26)) : -1;
      ok &&= raw >= 0 && digits(v, Math.min(f, 26), f) >= 0;
      frac = raw * 10 ** (6 - (Math.min(f, 26) - 20));
    } else if (ok) ok = v.length === 20;
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    if (ok && d <= (mo === 2 && leap ? 29 : DAYS[mo - 1]!)) return Date.UTC(y, mo - 1, d, h, mi, s) * 1000 + frac;
  }
  const t = parseTime(v);
  return 'us' in t ? t.us : null;
}

/**
 * A time given by a caller (an as-of, a flag): ISO 8601 in UTC, epoch ms or a Date, in epoch µs. Throws a
 * KilnError naming `what` (the field or flag) otherwise.
 * @example parseUtc('2025-01-01T00:00:00Z', '--as-of') // 1735689600000000
 */
export function parseUtc(text: unknown, what: string): number {
  const t = parseTime(text);
  if ('us' in t) return t.us;
  const hint = t.offset ? `; kiln works in UTC: give the time in UTC (e.g. '2025-01-01T00:00:00Z')` : '';
  throw new KilnError('INVALID_ARGUMENT', `${what}: ${t.problem}${hint}`, { details: { value: text } });
}

/** ISO 8601 with microseconds (milliseconds when the rest is zero), for messages and output. */
/** The first instant (epoch ms) of the UTC month holding `ms`, moved by `add` months. */
export function monthStartUtc(ms: number, add = 0): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1);
}

export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString();
  return rest ? `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z` : iso;
}
