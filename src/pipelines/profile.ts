/**
 * The reference profile a model version carries (issue 14): what monitoring compares live traffic with.
 * Built at training time from the development sample (the train split): per input, the decile bins of
 * the credit convention (cut points at the reference's deciles, a separate missing bin) with the
 * reference's counts in them, the null rate and the observed range; per categorical input, the category
 * frequencies; and the distribution of the model's probability on held-out rows, on its own deciles.
 * The profile lives in the bundle (`profile`), so it travels with the version and is checksummed with it.
 *
 * A labelled reference sample (the held-out rows with their labels and probabilities) is written beside
 * the bundle as `reference-sample.json`: the shift-aware performance estimate reweights it.
 */
import { z } from 'zod';
import { binCounts, referenceBins, referenceCategories, type NumericBins } from '../monitor/drift/index.js';
import type { InputColumn, Split } from './dataset.js';

const NumericBinsSchema = z.strictObject({
  kind: z.literal('numeric'),
  edges: z.array(z.number()),
  min: z.number().nullable(),
  max: z.number().nullable(),
});

const FeatureProfileSchema = z.strictObject({
  name: z.string().min(1),
  /** The feature the input comes from (a bucketed feature gives several inputs). */
  feature: z.string().min(1),
  kind: z.enum(['numeric', 'categorical']),
  rows: z.number().int().min(0),
  nullRate: z.number().min(0).max(1),
  /** Numeric inputs: the reference bins and the reference's counts in them (last slot: missing). */
  bins: NumericBinsSchema.optional(),
  counts: z.array(z.number().min(0)).optional(),
  mean: z.number().nullable().optional(),
  std: z.number().nullable().optional(),
  /** Categorical inputs: the categories seen (sorted) and their counts. */
  categories: z.array(z.string()).optional(),
  categoryCounts: z.array(z.number().min(0)).optional(),
});

export const ProfileSchema = z.strictObject({
  format: z.literal('kiln.profile/1'),
  /** Which rows: 'train' (the development sample). */
  sample: z.string(),
  rows: z.number().int().min(0),
  /** Spine time range of the sample (ISO), when the spine has a time. */
  from: z.string().nullable(),
  to: z.string().nullable(),
  badRate: z.number().min(0).max(1).nullable(),
  features: z.array(FeatureProfileSchema),
  /** The probability's distribution on held-out rows (out of sample: what live scores look like). */
  score: z.strictObject({ sample: z.string().optional(), rows: z.number().int().min(0).optional(), bins: NumericBinsSchema, counts: z.array(z.number().min(0)), mean: z.number().nullable() }),
});

export type ReferenceProfile = z.infer<typeof ProfileSchema>;
export type FeatureProfile = z.infer<typeof FeatureProfileSchema>;

/** Rows of the labelled reference sample written beside the bundle (at most). */
export const REFERENCE_SAMPLE_ROWS = 5000;
/** Its file name, beside the bundle in the run's artifacts. */
export const REFERENCE_SAMPLE_FILE = 'reference-sample.json';

function moments(values: Float64Array): { mean: number | null; std: number | null } {
  let n = 0;
  let s = 0;
  for (const v of values) if (Number.isFinite(v)) { n++; s += v; }
  if (n === 0) return { mean: null, std: null };
  const mean = s / n;
  let ss = 0;
  for (const v of values) if (Number.isFinite(v)) ss += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(ss / n) };
}

function binsJson(b: NumericBins): z.infer<typeof NumericBinsSchema> {
  return { kind: 'numeric', edges: [...b.edges], min: Number.isFinite(b.min) ? b.min : null, max: Number.isFinite(b.max) ? b.max : null };
}

/** Bins as stored, back to what the kernels take (a profile of all-missing values has no range). */
export function profileBins(b: z.infer<typeof NumericBinsSchema>): NumericBins {
  return { kind: 'numeric', edges: b.edges, min: b.min ?? NaN, max: b.max ?? NaN };
}

/**
 * The profile of `split` (its inputs as model columns), and of the model's probability on held-out rows
 * (`score`: the split it scored and the probabilities; in-sample scores of a boosted model are more
 * spread out than live ones, so the score's reference is out of sample).
 */
export function buildProfile(inputs: readonly InputColumn[], split: Split, score: { split: string; pd: Float64Array }): ReferenceProfile {
  const pd = score.pd;
  const features = inputs.map((c, j): FeatureProfile => {
    const col = split.features[j]!;
    let nulls = 0;
    for (const v of col) if (Number.isNaN(v)) nulls++;
    const base = { name: c.name, feature: c.feature, kind: c.kind, rows: split.rows, nullRate: split.rows ? nulls / split.rows : 0 };
    if (c.kind === 'categorical') {
      const texts = Array.from(col, (v) => (Number.isNaN(v) ? null : c.categories?.[v] ?? null));
      const cat = referenceCategories(texts);
      return { ...base, categories: [...cat.categories], categoryCounts: [...cat.counts] };
    }
    const bins = referenceBins(col);
    return { ...base, bins: binsJson(bins), counts: [...binCounts(col, bins)], ...moments(col) };
  });
  const scoreBins = referenceBins(pd);
  let from: string | null = null;
  let to: string | null = null;
  if (split.timeMs && split.rows) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of split.timeMs) { if (t < lo) lo = t; if (t > hi) hi = t; }
    if (Number.isFinite(lo)) { from = new Date(lo).toISOString(); to = new Date(hi).toISOString(); }
  }
  return {
    format: 'kiln.profile/1', sample: split.name, rows: split.rows, from, to,
    badRate: split.rows ? split.positives / split.rows : null,
    features,
    score: { sample: score.split, rows: pd.length, bins: binsJson(scoreBins), counts: [...binCounts(pd, scoreBins)], mean: moments(pd).mean },
  };
}

/** The labelled reference sample: held-out rows (inputs as model columns), their labels and probabilities. */
export interface ReferenceSample {
  readonly format: 'kiln.reference-sample/1';
  readonly split: string;
  readonly inputs: string[];
  /** Per input, the column of values (null for missing; categoricals as their codes). */
  readonly columns: (number | null)[][];
  readonly label: number[];
  readonly probability: number[];
  /** After calibration; null when the version has no calibrator. */
  readonly calibrated: number[] | null;
  readonly timeMs: (number | null)[] | null;
}

export function referenceSample(inputs: readonly InputColumn[], split: Split, pd: Float64Array, calibrated: Float64Array | null, rows: ArrayLike<number>): ReferenceSample {
  const pick = Array.from(rows);
  const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return {
    format: 'kiln.reference-sample/1', split: split.name, inputs: inputs.map((c) => c.name),
    columns: split.features.map((col) => pick.map((i) => num(col[i]!))),
    label: pick.map((i) => split.label[i]!),
    probability: pick.map((i) => pd[i]!),
    calibrated: calibrated ? pick.map((i) => calibrated[i]!) : null,
    timeMs: split.timeMs ? pick.map((i) => num(split.timeMs![i]!)) : null,
  };
}
