/**
 * Drift of one window of decisions against a version's reference (issue 14):
 * - the score: PSI of the deciding probability on the reference's score deciles, and the distribution
 *   test of Evidently's rule (KS under 1,000 reference rows, normalised Wasserstein above) against the
 *   labelled reference sample's probabilities;
 * - each input: CSI on the reference deciles (numeric) or category frequencies (categorical), the same
 *   distribution tests (chi-squared / Jensen-Shannon for categoricals) against the reference sample's
 *   values, the new-category rate, the null rate against the reference's (a spike test), and the share
 *   of values outside the reference's range;
 * - the window: schema changes (inputs added, removed or retyped) and a volume anomaly against the
 *   windows before it.
 * The reference bins come from the development sample (the profile in the bundle); the raw-value tests
 * use the held-out reference sample written beside it (`reference-sample.json`), when there is one.
 */
import {
  binCounts, categoricalDriftTest, categoryCounts, driftTest, nullSpike, outOfRange, psi, psiBand, schemaChanges,
  volumeAnomaly, type CategoryBins, type PsiBand,
} from './drift/index.js';
import { profileBins, type ReferenceProfile } from '../pipelines/index.js';
import type { WindowTraffic } from './windows.js';

/** The reference sample's values by input, and its probabilities (for the raw-value tests). */
export interface ReferenceValues {
  readonly numeric: Readonly<Record<string, Float64Array>>;
  readonly text: Readonly<Record<string, readonly (string | null)[]>>;
  readonly raw: Float64Array;
}

export interface DistributionTest { readonly method: string; readonly value: number; readonly drifted: boolean; readonly threshold: number }

export interface FeatureDrift {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  readonly rows: number;
  /** CSI on the reference bins; null when the input is missing from the window. */
  readonly csi: number | null;
  readonly band: PsiBand | null;
  readonly test: DistributionTest | null;
  readonly nullRate: number;
  readonly referenceNullRate: number;
  readonly nullSpike: boolean;
  /** Share of values outside the reference's [min, max] (numeric inputs). */
  readonly outOfRange: number | null;
  /** Share of values in categories the reference never saw (categorical inputs). */
  readonly newCategoryRate: number | null;
}

export interface WindowDrift {
  readonly window: string;
  readonly start: string;
  readonly end: string;
  readonly rows: number;
  readonly versions: Record<number, number>;
  readonly score: { readonly psi: number; readonly band: PsiBand; readonly mean: number; readonly referenceMean: number | null; readonly test: DistributionTest | null;
    /** The window's probabilities at the 10th, 25th, 50th, 75th and 90th percentiles. */
    readonly quantiles: readonly number[] };
  readonly features: FeatureDrift[];
  readonly schema: { readonly added: string[]; readonly removed: string[]; readonly retyped: { name: string; from: string; to: string }[] };
  readonly volume: { readonly expected: number; readonly z: number; readonly ratio: number; readonly anomaly: boolean } | null;
  /** Inputs in the PSI bands 'moderate' and 'significant'. */
  readonly moderate: number;
  readonly significant: number;
}

function mean(a: Float64Array): number {
  let s = 0;
  let n = 0;
  for (const v of a) if (Number.isFinite(v)) { s += v; n++; }
  return n ? s / n : NaN;
}

const QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9];

/** Linear-interpolated quantiles (numpy's default) of the finite values. */
function quantiles(a: Float64Array): number[] {
  const v = finite(a).sort();
  if (!v.length) return QUANTILES.map(() => NaN);
  return QUANTILES.map((q) => {
    const h = (v.length - 1) * q;
    const lo = Math.floor(h);
    return v[lo]! + (h - lo) * ((v[Math.min(lo + 1, v.length - 1)]!) - v[lo]!);
  });
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function finite(a: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) out.push(a[i]!);
  return Float64Array.from(out);
}

/** Drift of window `w` against `profile` (and the reference sample's values when given); `history`: row counts of the windows before. */
export function windowDrift(profile: ReferenceProfile, reference: ReferenceValues | null, w: WindowTraffic, history: readonly number[]): WindowDrift {
  const scoreBins = profileBins(profile.score.bins);
  const scorePsi = psi(profile.score.counts.slice(0, -1), binCounts(w.raw, scoreBins).subarray(0, -1)); // every decision has a score
  const refRaw = reference ? finite(reference.raw) : null;
  const features = profile.features.map((f): FeatureDrift => {
    const num = w.numeric[f.name];
    const txt = w.text[f.name];
    const present = num !== undefined || txt !== undefined;
    let nulls = 0;
    if (num) for (const v of num) { if (Number.isNaN(v)) nulls++; }
    else if (txt) for (const v of txt) { if (v === null) nulls++; }
    else nulls = w.rows;
    const rate = w.rows ? nulls / w.rows : 0;
    const spike = nullSpike(f.nullRate, nulls, w.rows);
    const base = { name: f.name, kind: f.kind, rows: w.rows, nullRate: rate, referenceNullRate: f.nullRate, nullSpike: spike.spike };
    if (!present) return { ...base, csi: null, band: null, test: null, outOfRange: null, newCategoryRate: null };
    if (f.kind === 'categorical') {
      const ref: CategoryBins = { kind: 'categorical', categories: f.categories ?? [], counts: f.categoryCounts ?? [], missing: 0 };
      const values = txt ?? Array.from(num!, (v) => (Number.isNaN(v) ? null : String(v)));
      const cur = categoryCounts(values, ref);
      // CSI over the reference categories plus one slot for the new ones (missing values are the null test's).
      const curCats = cur.counts.subarray(0, ref.counts.length + 1);
      const csi = sum(curCats) > 0 && sum(ref.counts) > 0 ? psi([...ref.counts, 0], curCats) : null;
      const refValues = reference?.text[f.name];
      const test = refValues ? categoricalDriftTest(refValues.filter((v): v is string => v !== null), values.filter((v): v is string => v !== null)) : null;
      return { ...base, csi, band: csi === null ? null : psiBand(csi), test: test && { method: test.method, value: test.value, drifted: test.drifted, threshold: test.threshold }, outOfRange: null, newCategoryRate: cur.newRate };
    }
    const values = num ?? Float64Array.from(txt!, (v) => (v === null ? NaN : Number(v)));
    const bins = profileBins(f.bins!);
    // PSI is on the values present: when either side has none, the null-rate test is what speaks.
    const curBins = binCounts(values, bins).subarray(0, -1);
    const refBins = f.counts!.slice(0, -1);
    const csi = sum(curBins) > 0 && sum(refBins) > 0 ? psi(refBins, curBins) : null;
    const refValues = reference?.numeric[f.name];
    const cur = finite(values);
    const ref = refValues ? finite(refValues) : null;
    const test = ref && ref.length && cur.length ? driftTest(ref, cur) : null;
    const range = Number.isFinite(bins.min) && Number.isFinite(bins.max) && cur.length ? outOfRange(cur, { min: bins.min, max: bins.max }).rate : null;
    return { ...base, csi, band: csi === null ? null : psiBand(csi), test: test && { method: test.method, value: test.value, drifted: test.drifted, threshold: test.threshold }, outOfRange: range, newCategoryRate: null };
  });
  const schema = schemaChanges(
    profile.features.map((f) => ({ name: f.name, type: f.kind })),
    w.inputs.map((name) => ({ name, type: w.text[name] ? 'categorical' : 'numeric' })),
  );
  // A categorical input arrives as text and a numeric one as a number: a categorical whose values all
  // look numeric is not a type change worth an alert, so only a numeric input turned text counts.
  const retyped = schema.retyped.filter((r) => !(r.from === 'categorical' && r.to === 'numeric'));
  const volume = history.length ? volumeAnomaly(history, w.rows) : null;
  const scoreTest = refRaw && refRaw.length && w.rows ? driftTest(refRaw, finite(w.raw)) : null;
  return {
    window: w.label, start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString(), rows: w.rows, versions: w.versions,
    score: { psi: scorePsi, band: psiBand(scorePsi), mean: mean(w.raw), referenceMean: profile.score.mean, quantiles: quantiles(w.raw), test: scoreTest && { method: scoreTest.method, value: scoreTest.value, drifted: scoreTest.drifted, threshold: scoreTest.threshold } },
    features, schema: { ...schema, retyped },
    volume: volume && { expected: volume.expected, z: volume.z, ratio: volume.ratio, anomaly: volume.anomaly },
    moderate: features.filter((f) => f.band === 'moderate').length,
    significant: features.filter((f) => f.band === 'significant').length,
  };
}
