/**
 * Reading one lastK element's values, whatever form they come in (see spec.ts), and the transforms that
 * learning and encoding share, so that both compute the same float64 value before normalising:
 * a numeric field's number (booleans 0/1), a time field's age at the row's as-of time in seconds, the
 * event's age (log1p of seconds, never negative) and the gap since the previous event (log1p of seconds).
 * Missing values are NaN. Nothing here allocates for the usual forms (numbers, ISO text with Z).
 */
import { KilnError } from '../../core/errors.js';
import { timeUs } from '../../core/time.js';
import type { SequenceFieldKind } from './spec.js';

/**
 * A time in epoch µs: a number (epoch µs), a bigint (epoch µs), a Date, or ISO 8601 text in UTC; NaN for
 * null or anything else. Reads the usual ISO form without allocating.
 */
export function timeOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return timeUs(v) ?? NaN;
  if (v instanceof Date) return v.getTime() * 1000;
  if (typeof v === 'bigint') return Number(v);
  return NaN;
}

/** A numeric field's value as a number; NaN for null (booleans are 0/1). */
export function numberOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

/** A categorical value's vocabulary key (its text; numbers and booleans as JavaScript writes them); null for null. */
export function categoryKey(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  return String(v);
}

/** Signed log1p: sign(x) ln(1 + |x|), for heavy-tailed numbers of either sign. */
export function slog1p(x: number): number {
  return x < 0 ? -Math.log1p(-x) : Math.log1p(x);
}

/** An element's `ts` in epoch µs; throws when it is not a time (a lastK element always has one). */
export function eventTime(e: unknown, feature: string): number {
  const t = e !== null && typeof e === 'object' ? timeOf((e as Record<string, unknown>).ts) : NaN;
  if (Number.isNaN(t)) noEventTime(e, feature);
  return t;
}

/** A row's as-of time in epoch µs; throws when it is not a time. */
export function asOfTime(at: unknown, feature: string): number {
  const t = timeOf(at);
  if (Number.isNaN(t)) throw new KilnError('SIGNATURE_MISMATCH', `sequence feature '${feature}': the row's as-of time ${describe(at)} is not a time (epoch µs, a Date or ISO 8601 in UTC)`);
  return t;
}

/** The error, out of line (off the hot path). */
function noEventTime(e: unknown, feature: string): never {
  throw new KilnError('SIGNATURE_MISMATCH', `sequence feature '${feature}': an element has no event time 'ts' (got ${describe(e)}); give the lastK value as the training set or the online store gives it`);
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A numeric or time field's value before the log and normalisation: NaN when missing (or not finite). */
export function fieldValue(kind: SequenceFieldKind, v: unknown, atUs: number): number {
  if (v === null || v === undefined) return NaN;
  const x = kind === 'time' ? (atUs - timeOf(v)) / 1e6 : numberOf(v);
  return Number.isFinite(x) ? x : NaN;
}

/** log1p of an event's age in seconds at the as-of time (0 for an event at or after it). */
export function ageFeature(atUs: number, tsUs: number): number {
  return Math.log1p(Math.max(0, (atUs - tsUs) / 1e6));
}

/** log1p of the seconds since the previous event (0 for events at the same time). */
export function gapFeature(prevUs: number, tsUs: number): number {
  return Math.log1p(Math.max(0, (tsUs - prevUs) / 1e6));
}
