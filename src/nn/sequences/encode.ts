/**
 * Encoding lastK values into arena tensors with a frozen `SequenceEncoding`: the same code for a training
 * batch and for one online request.
 *
 * For B rows and T = `encoding.steps` time steps:
 * - `ids[c]`: Int32 [B, T] per categorical field (PAD_ID 0 at padding steps);
 * - `numeric`: Float32 [B, T, F], F = `encoding.width` (see encoding.ts for the features);
 * - `lengths`: Int32 [B], events kept per row (0 for an empty history).
 * Right padding: row b's events fill steps 0 .. lengths[b]-1, oldest first, so the latest event is at step
 * lengths[b]-1 (`last` pooling reads it). A list longer than T keeps its latest T events; the oldest kept
 * event's gap is then measured from the event before it, as in training.
 *
 * `allocBatch` takes the tensors from the arena once; `encodeRow` (re)fills one row of them, zeroing it
 * first, and allocates nothing for values in their usual forms, so a server keeps one batch of one row and
 * refills it per request. `encodeBatch` does both for a list of rows.
 */
import { KilnError } from '../../core/errors.js';
import type { Arena } from '../memory.js';
import type { SequenceEncoding } from './encoding.js';
import type { SequenceRowInput } from './learn.js';
import { ageFeature, asOfTime, eventTime, fieldValue, gapFeature, slog1p } from './values.js';

export interface SequenceBatch {
  readonly batch: number;
  readonly steps: number;
  /** Numeric features per step (F). */
  readonly width: number;
  /** Per categorical field (in `encoding.categorical` order): ids [batch, steps]. */
  readonly ids: readonly Int32Array[];
  /** [batch, steps, width]. */
  readonly numeric: Float32Array;
  /** [batch]. */
  readonly lengths: Int32Array;
  /** [batch, steps]: seconds since the previous event (0 where unknown), for time-aware positions. */
  readonly gaps: Float32Array;
}

/** Zeroed tensors for `batch` rows, from the arena. */
export function allocBatch(enc: SequenceEncoding, batch: number, arena: Arena): SequenceBatch {
  const T = enc.steps;
  const ids = enc.categorical.map(() => arena.i32(batch * T));
  return { batch, steps: T, width: enc.width, ids, numeric: arena.f32(batch * T * enc.width), lengths: arena.i32(batch), gaps: arena.f32(batch * T) };
}

/**
 * Writes row `b` of `out` from one lastK value (oldest first) read at `at` (epoch µs, Date or ISO text):
 * the value exactly as the training set, the naive evaluator or the online store gives it.
 */
export function encodeRow(enc: SequenceEncoding, out: SequenceBatch, b: number, events: readonly unknown[] | null | undefined, at: unknown): void {
  const T = out.steps;
  const F = out.width;
  const { ids, numeric, lengths, gaps } = out;
  for (let c = 0; c < ids.length; c++) ids[c]!.fill(0, b * T, (b + 1) * T);
  gaps.fill(0, b * T, (b + 1) * T);
  numeric.fill(0, b * T * F, (b + 1) * T * F);
  if (events !== null && events !== undefined && !Array.isArray(events)) throw new KilnError('SIGNATURE_MISMATCH', `sequence feature '${enc.feature}': the value is not a list of events`);
  const n = events ? events.length : 0;
  const len = n < T ? n : T;
  lengths[b] = len;
  if (len === 0) return;
  const list = events!;
  const atUs = asOfTime(at, enc.feature);
  const start = n - len;
  const cats = enc.categorical;
  const nums = enc.numeric;
  const nNum = nums.length;
  const { age, gap } = enc;
  let prev = start > 0 ? eventTime(list[start - 1], enc.feature) : NaN;
  for (let i = start; i < n; i++) {
    const e = list[i] as Record<string, unknown>;
    const ts = eventTime(e, enc.feature);
    const step = b * T + (i - start);
    for (let c = 0; c < cats.length; c++) ids[c]![step] = enc.idOf(c, e[cats[c]!.name]);
    const o = step * F;
    for (let j = 0; j < nNum; j++) {
      const f = nums[j]!;
      const x = fieldValue(f.kind, e[f.name], atUs);
      if (Number.isNaN(x)) {
        numeric[o + 2 * j + 1] = 1;
      } else {
        numeric[o + 2 * j] = ((f.log ? slog1p(x) : x) - f.mean) / f.std;
      }
    }
    const t = o + 2 * nNum;
    numeric[t] = (ageFeature(atUs, ts) - age.mean) / age.std;
    if (Number.isNaN(prev)) numeric[t + 2] = 1;
    else {
      numeric[t + 1] = (gapFeature(prev, ts) - gap.mean) / gap.std;
      gaps[step] = Math.max(0, (ts - prev) / 1e6);
    }
    prev = ts;
  }
}

/**
 * The tensors of `rows`, from the arena (take `arena.mark()` before and release after the step).
 * @example const x = encodeBatch(enc, rows.map((r) => ({ at: r.at, events: r.seq })), arena);
 */
export function encodeBatch(enc: SequenceEncoding, rows: readonly SequenceRowInput[], arena: Arena): SequenceBatch {
  const out = allocBatch(enc, rows.length, arena);
  for (let b = 0; b < rows.length; b++) encodeRow(enc, out, b, rows[b]!.events, rows[b]!.at);
  return out;
}
