/**
 * Windows of the decision log: calendar days, ISO weeks (Monday 00:00 UTC) or months, all in UTC, and
 * the traffic of each window gathered column-wise (scores, each input's values, entity ids and times)
 * from decision records, for the drift statistics and the performance joins.
 */
import { KilnError } from '../core/errors.js';
import type { DecisionRecord } from '../serve/index.js';

export const WINDOW_SIZES = ['day', 'week', 'month'] as const;
export type WindowSize = (typeof WINDOW_SIZES)[number];

const DAY_MS = 86_400_000;

/** Start (epoch ms, UTC) of the window holding `ms`. */
export function windowStart(ms: number, size: WindowSize): number {
  const d = new Date(ms);
  if (size === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (size === 'day') return day;
  const dow = (d.getUTCDay() + 6) % 7; // Monday 0
  return day - dow * DAY_MS;
}

/** Start of the window after the one starting at `start`. */
export function nextWindow(start: number, size: WindowSize): number {
  if (size === 'day') return start + DAY_MS;
  if (size === 'week') return start + 7 * DAY_MS;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** The window's label: '2025-03-14' (day), '2025-03-10' (the Monday of a week), '2025-03' (month). */
export function windowLabel(start: number, size: WindowSize): string {
  const iso = new Date(start).toISOString();
  return size === 'month' ? iso.slice(0, 7) : iso.slice(0, 10);
}

export function parseWindowSize(text: string, field = 'window'): WindowSize {
  if ((WINDOW_SIZES as readonly string[]).includes(text)) return text as WindowSize;
  throw new KilnError('USAGE', `--${field} ${text}: expected one of ${WINDOW_SIZES.join(', ')}`, { path: [field] });
}

/** One window's decisions, column-wise. */
export interface WindowTraffic {
  readonly label: string;
  readonly start: number;
  readonly end: number;
  readonly rows: number;
  /** Decisions per deciding version. */
  readonly versions: Record<number, number>;
  readonly ids: string[];
  readonly entityIds: (string | null)[];
  readonly timeMs: Float64Array;
  /** The deciding version's probability before calibration (what the reference score bins are on). */
  readonly raw: Float64Array;
  /** After calibration (NaN when the version has none). */
  readonly calibrated: Float64Array;
  readonly declined: Uint8Array;
  /** Input values by name: numbers (NaN missing) or texts (null missing), as the decision used them. */
  readonly numeric: Record<string, Float64Array>;
  readonly text: Record<string, (string | null)[]>;
  /** Inputs seen in the records, in first-seen order. */
  readonly inputs: string[];
}

interface Builder {
  start: number;
  recs: DecisionRecord[];
}

/** Gathers records (any order) into windows of `size`; windows without a decision are left out. */
export function windowsOf(records: Iterable<DecisionRecord>, size: WindowSize): WindowTraffic[] {
  const byStart = new Map<number, Builder>();
  for (const r of records) {
    const t = Date.parse(r.time);
    if (!Number.isFinite(t)) continue;
    const s = windowStart(t, size);
    let b = byStart.get(s);
    if (!b) byStart.set(s, (b = { start: s, recs: [] }));
    b.recs.push(r);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start).map((b) => columns(b, size));
}

function columns(b: Builder, size: WindowSize): WindowTraffic {
  const n = b.recs.length;
  const timeMs = new Float64Array(n);
  const raw = new Float64Array(n);
  const calibrated = new Float64Array(n);
  const declined = new Uint8Array(n);
  const versions: Record<number, number> = {};
  const inputs: string[] = [];
  const kinds = new Map<string, 'numeric' | 'text'>();
  for (const r of b.recs) {
    for (const [k, v] of Object.entries(r.features)) {
      if (!kinds.has(k)) { inputs.push(k); kinds.set(k, 'numeric'); }
      if (typeof v === 'string') kinds.set(k, 'text');
    }
  }
  const numeric: Record<string, Float64Array> = {};
  const text: Record<string, (string | null)[]> = {};
  for (const k of inputs) {
    if (kinds.get(k) === 'text') text[k] = new Array<string | null>(n).fill(null);
    else numeric[k] = new Float64Array(n).fill(NaN);
  }
  b.recs.forEach((r, i) => {
    timeMs[i] = Date.parse(r.time);
    raw[i] = r.score.raw;
    calibrated[i] = r.score.calibrated ?? NaN;
    declined[i] = r.score.declined ? 1 : 0;
    versions[r.version] = (versions[r.version] ?? 0) + 1;
    for (const [k, v] of Object.entries(r.features)) {
      if (v === null || v === undefined) continue;
      const t = text[k];
      if (t) t[i] = String(v);
      else numeric[k]![i] = typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
    }
  });
  return {
    label: windowLabel(b.start, size), start: b.start, end: nextWindow(b.start, size), rows: n, versions,
    ids: b.recs.map((r) => r.id), entityIds: b.recs.map((r) => r.entityId), timeMs, raw, calibrated, declined, numeric, text, inputs,
  };
}
