/**
 * Times: everything is UTC, in epoch microseconds inside kiln. Input times are ISO 8601 strings in UTC
 * (`Z`, `+00:00` or no offset), epoch milliseconds, or Dates. Any other offset is refused, never shifted.
 * Also the tile arithmetic: covering a time range with whole tiles plus raw edges.
 */
import { KilnError } from '../core/errors.js';
import { TILE_LEVELS, type TileRange, type TimeRange } from './types.js';

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;
const UTC_OFFSETS = new Set([undefined, 'Z', 'z', 'UTC', '+00', '-00', '+0000', '-0000', '+00:00', '-00:00']);

export type ParsedTime = { readonly us: number; readonly utc: boolean } | { readonly problem: string; readonly offset?: string };

/** Parses one time; returns a problem text instead of throwing (callers collect every problem). */
export function parseTime(v: unknown): ParsedTime {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { problem: `${v} is not a time` };
    return { us: Math.round(v * 1000), utc: true };
  }
  if (v instanceof Date) {
    const ms = v.getTime();
    return Number.isNaN(ms) ? { problem: 'an invalid Date' } : { us: ms * 1000, utc: true };
  }
  if (typeof v !== 'string') return { problem: `${JSON.stringify(v)} is not a time; use ISO 8601 in UTC (e.g. '2024-01-01T08:00:00Z') or epoch milliseconds` };
  const m = ISO_RE.exec(v.trim());
  if (!m) return { problem: `'${v}' is not a time; use ISO 8601 in UTC (e.g. '2024-01-01T08:00:00Z') or epoch milliseconds` };
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
 * 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' without a regular expression (push validates every event's times).
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

/** A time given by a caller (asOf): epoch ms, a Date or ISO 8601 in UTC; throws a KilnError otherwise. */
export function timeArgument(v: unknown, what: string): number {
  const t = parseTime(v);
  if ('us' in t) return t.us;
  const hint = t.offset ? `; kiln works in UTC: give the time in UTC (e.g. '2025-01-01T00:00:00Z')` : '';
  throw new KilnError('INVALID_ARGUMENT', `${what}: ${t.problem}${hint}`);
}

/** ISO 8601 with microseconds, for messages and output. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString();
  return rest ? `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z` : iso;
}

/** Whole tiles and raw edges that exactly cover [from, to). */
export interface Cover {
  readonly tiles: TileRange[];
  readonly raw: TimeRange[];
}

/**
 * Covers [from, to) with the coarsest whole tiles that fit, recursing to finer levels at the edges; what
 * no day tile fits is left to raw events. A coarse tile exists once its period has ended by `coarseTo`
 * (sealed; null: none is), so each coarse level is used only below `coarseTo` floored to its width.
 * `maxLevel` caps the levels used (the ends of a span a middle state stands for); `out` is appended to.
 */
export function cover(from: number, to: number, coarseTo: number | null, maxLevel = TILE_LEVELS.length - 1, out: Cover = { tiles: [], raw: [] }): Cover {
  coverFrom(from, to, out, maxLevel, coarseTo ?? -Infinity);
  return out;
}

function coverFrom(from: number, to: number, out: Cover, level: number, coarseTo: number): void {
  if (from >= to) return;
  if (level < 0) { out.raw.push([from, to]); return; }
  const g = TILE_LEVELS[level]!;
  const a = Math.ceil(from / g);
  const b = Math.floor((level === 0 ? to : Math.min(to, coarseTo)) / g);
  if (a >= b) { coverFrom(from, to, out, level - 1, coarseTo); return; }
  coverFrom(from, a * g, out, level - 1, coarseTo);
  out.tiles.push({ level, from: a, to: b });
  coverFrom(b * g, to, out, level - 1, coarseTo);
}

/** Merges tile ranges of the same level that overlap or touch, so a backend fetches each tile once. */
export function unionTileRanges(ranges: readonly TileRange[]): TileRange[] {
  const out: TileRange[] = [];
  const sorted = [...ranges].sort((x, y) => x.level - y.level || x.from - y.from);
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.level === r.level && r.from <= last.to) out[out.length - 1] = { level: r.level, from: last.from, to: Math.max(last.to, r.to) };
    else out.push(r);
  }
  return out;
}
