/**
 * Learning a sequence encoding from training rows: one pass over every row's lastK list, keeping only
 * what the tensors will hold (the latest `steps` events), so the statistics describe what the model sees
 * (an event counts once per row it appears in).
 *
 * - Vocabularies: values counted, those seen at least `minCount` times kept, most frequent first, ties in
 *   code-unit order of their text, at most `maxVocab` (the rest and unseen values map to the OOV id).
 * - Numbers: mean and (population) standard deviation, from shifted power sums in float64. Signed log1p
 *   is applied when asked (`log`), or, by default, when the raw values are heavy-tailed: excess kurtosis
 *   above 10 over at least 8 values (never for booleans). Time fields are always logged.
 * - Age and gap: mean and standard deviation of their log1p-seconds values.
 * A standard deviation of 0 (or no values) is stored as 1. Same rows in the same order, same bytes; the
 * vocabularies do not depend on the order.
 */
import { KilnError } from '../../core/errors.js';
import { SEQUENCE_ENCODING_FORMAT, SEQUENCE_ENCODING_VERSION, SequenceEncoding, type FieldEncoding, type Moments } from './encoding.js';
import type { SequenceSpec } from './spec.js';
import { ageFeature, asOfTime, categoryKey, eventTime, fieldValue, gapFeature, slog1p } from './values.js';

/** One training (or serving) row: the lastK value and the time it is for (the spine time, or the read's as-of). */
export interface SequenceRowInput {
  /** Epoch µs, a Date or ISO 8601 text in UTC. */
  readonly at: unknown;
  /** The lastK value, oldest first; null or undefined read as no events. */
  readonly events: readonly unknown[] | null | undefined;
}

export interface LearnOptions {
  /** Time steps of the tensors (default: the feature's k). */
  readonly steps?: number;
  /** Most vocabulary values kept per categorical field (default 1,000). */
  readonly maxVocab?: number;
  /** Least occurrences for a value to get its own id (default 2: rarer values train the OOV id). */
  readonly minCount?: number;
  /** Per numeric field: whether to signed-log1p it (default: decided from its kurtosis). */
  readonly log?: Readonly<Record<string, boolean>>;
}

/** Shifted power sums (shift = first value), for mean, variance and kurtosis without cancellation. */
class Sums {
  n = 0;
  private shift = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private s4 = 0;

  add(x: number): void {
    if (this.n === 0) this.shift = x;
    const d = x - this.shift;
    const d2 = d * d;
    this.n++;
    this.s1 += d;
    this.s2 += d2;
    this.s3 += d2 * d;
    this.s4 += d2 * d2;
  }

  moments(): Moments {
    if (this.n === 0) return { mean: 0, std: 1 };
    const m = this.s1 / this.n;
    const v = Math.max(0, this.s2 / this.n - m * m);
    const mean = this.shift + m;
    const std = Math.sqrt(v);
    return { mean, std: std > 1e-12 * Math.max(1, Math.abs(mean)) ? std : 1 };
  }

  /** Excess kurtosis (0 for a normal distribution); 0 when undefined. */
  kurtosis(): number {
    if (this.n < 2) return 0;
    const n = this.n;
    const m = this.s1 / n;
    const m2 = this.s2 / n - m * m;
    if (!(m2 > 0)) return 0;
    const m4 = this.s4 / n - 4 * m * (this.s3 / n) + 6 * m * m * (this.s2 / n) - 3 * m * m * m * m;
    return m4 / (m2 * m2) - 3;
  }
}

const HEAVY_KURTOSIS = 10;
const HEAVY_MIN_VALUES = 8;

/**
 * Learns the encoding of `spec`'s feature from training rows.
 * @example const enc = learnEncoding(spec, rows.map((r) => ({ at: r.at, events: r.seq })), { steps: 32 });
 */
export function learnEncoding(spec: SequenceSpec, rows: Iterable<SequenceRowInput>, opts: LearnOptions = {}): SequenceEncoding {
  const steps = opts.steps ?? spec.k;
  if (!Number.isInteger(steps) || steps < 1 || steps > spec.k) throw new KilnError('INVALID_ARGUMENT', `steps must be an integer from 1 to k (${spec.k}); got ${steps}`);
  const maxVocab = opts.maxVocab ?? 1000;
  const minCount = opts.minCount ?? 2;
  if (!Number.isInteger(maxVocab) || maxVocab < 0) throw new KilnError('INVALID_ARGUMENT', `maxVocab must be a non-negative integer; got ${maxVocab}`);
  if (!Number.isInteger(minCount) || minCount < 1) throw new KilnError('INVALID_ARGUMENT', `minCount must be a positive integer; got ${minCount}`);
  for (const name of Object.keys(opts.log ?? {})) {
    const f = spec.fields.find((x) => x.name === name);
    if (!f || f.kind !== 'numeric') throw new KilnError('INVALID_ARGUMENT', `log: '${name}' is not a numeric field of '${spec.feature}'`);
  }

  const fields = spec.fields;
  const counts = fields.map(() => new Map<string, number>());
  const raw = fields.map(() => new Sums());
  const logged = fields.map(() => new Sums());
  const age = new Sums();
  const gap = new Sums();
  let nRows = 0;
  let nEvents = 0;
  for (const row of rows) {
    nRows++;
    const events = row.events ?? [];
    if (!Array.isArray(events)) throw new KilnError('SIGNATURE_MISMATCH', `sequence feature '${spec.feature}': a row's value is not a list`);
    if (events.length === 0) continue;
    const at = asOfTime(row.at, spec.feature);
    const start = Math.max(0, events.length - steps);
    let prev = start > 0 ? eventTime(events[start - 1], spec.feature) : NaN;
    for (let i = start; i < events.length; i++) {
      const e = events[i] as Record<string, unknown>;
      const ts = eventTime(e, spec.feature);
      nEvents++;
      age.add(ageFeature(at, ts));
      if (!Number.isNaN(prev)) gap.add(gapFeature(prev, ts));
      prev = ts;
      for (let f = 0; f < fields.length; f++) {
        const field = fields[f]!;
        const v = e[field.name];
        if (field.kind === 'categorical') {
          const key = categoryKey(v);
          if (key !== null) counts[f]!.set(key, (counts[f]!.get(key) ?? 0) + 1);
          continue;
        }
        const x = fieldValue(field.kind, v, at);
        if (Number.isNaN(x)) continue;
        raw[f]!.add(x);
        logged[f]!.add(slog1p(x));
      }
    }
  }

  const encoded = fields.map((field, f): FieldEncoding => {
    const base = { name: field.name, type: field.type };
    if (field.kind === 'categorical') {
      const kept = [...counts[f]!].filter(([, n]) => n >= minCount);
      kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return { ...base, kind: 'categorical', vocab: kept.slice(0, maxVocab).map(([v]) => v) };
    }
    const log = field.kind === 'time' || (opts.log?.[field.name] ?? (field.type !== 'boolean' && raw[f]!.n >= HEAVY_MIN_VALUES && raw[f]!.kurtosis() > HEAVY_KURTOSIS));
    return { ...base, kind: field.kind, log, ...(log ? logged[f]! : raw[f]!).moments() };
  });
  return new SequenceEncoding({
    format: SEQUENCE_ENCODING_FORMAT, version: SEQUENCE_ENCODING_VERSION, feature: spec.feature, featureVersion: spec.featureVersion, k: spec.k, steps,
    fields: encoded, age: age.moments(), gap: gap.moments(), rows: nRows, events: nEvents,
  });
}
