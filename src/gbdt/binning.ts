/**
 * Quantile binning, done once per training run. Numeric feature j gets value bins 0..nBins-1 split at
 * float32 cut values (bin(x) = number of cuts <= fround(x)), so "bin <= t" is exactly XGBoost's
 * "fround(x) < cuts[t]" and a tree trained on bins routes raw values the same way. Categorical features
 * get one bin per category code seen in training. Every feature's last bin (index nBins) holds missing
 * values. The matrix is row-major, one byte per bin when max_bin <= 256, padded to whole 32-bit words
 * per row so the histogram kernel can read four bins at a time.
 */
import { Rng } from '../core/rng.js';
import type { Region } from './arena.js';
import { KilnError } from '../core/errors.js';
import { badFeatureValue, MAX_CATEGORY, type FeatureColumn } from './data.js';
import { floatKey, keyToFloat, radixSort } from './float-key.js';

export const FLT_MAX = 3.4028234663852886e38;
/**
 * Histogram slots per feature for uint8 bins: 256 and 4 of padding, so features lie 4,160 bytes apart.
 * At 4,096 the same bin of every feature shares its low 12 address bits, and when most rows share a
 * bin (the missing one, or a feature of few values) the CPU takes each update for a dependence on the
 * last feature's store (4K aliasing): 15-17 ns an update instead of 0.6.
 */
export const U8_HIST_STRIDE = 260;
/** Rows sampled to place numeric cuts (LightGBM's bin_construct_sample_cnt). */
export const CUT_SAMPLE_ROWS = 200_000;

export interface FeatureBins {
  categorical: boolean;
  /** Value bins; the missing bin is index nBins. */
  nBins: number;
  /** Numeric: the nBins-1 cut values (float32). */
  cuts: Float32Array;
  /** Categorical: the category code of each bin, ascending. */
  categories: Int32Array;
  /** Whether any training row is missing this feature. */
  hasMissing: boolean;
}

export interface BinnedMatrix {
  nRows: number;
  nFeatures: number;
  /** Bins per row in storage (nFeatures padded to a 4-byte word for uint8, a 2-byte pair for uint16). */
  rowStride: number;
  /**
   * Histogram slots per feature: U8_HIST_STRIDE for uint8 bins, max_bin for uint16 (plus 4 when a
   * multiple of 256): never a multiple of 4 KiB apart (see U8_HIST_STRIDE).
   */
  histStride: number;
  bins: Uint8Array | Uint16Array;
  /** The same bins column-major (feature j's rows at j * nRows), for partitioning and sparse nodes. */
  cols: Uint8Array | Uint16Array;
  features: FeatureBins[];
}

/** Threshold of the numeric split "bins 0..t go left" (t = -1: nothing but missing goes left). */
export function splitThreshold(fb: FeatureBins, t: number): number {
  if (t < 0) return -FLT_MAX;
  if (t >= fb.nBins - 1) return FLT_MAX;
  return fb.cuts[t]!;
}

/** Whether any split on the feature can separate training rows. */
export function isSplittable(fb: FeatureBins): boolean {
  return fb.nBins >= 2 || (fb.nBins === 1 && fb.hasMissing);
}

/** Rows used to place cuts: all of them up to CUT_SAMPLE_ROWS (null), else a seeded Bernoulli sample. */
function cutSampleRows(n: number, seed: number): Uint32Array | null {
  if (n <= CUT_SAMPLE_ROWS) return null;
  const rng = new Rng(seed, 0x62696e); // stream 'bin'
  const p = CUT_SAMPLE_ROWS / n;
  const out = new Uint32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) if (rng.uniform() < p) out[k++] = i;
  return out.slice(0, k);
}

/** Value strictly between a and b (float32), or b itself: a < cut <= b. */
function cutBetween(a: number, b: number): number {
  const c = Math.fround((a + b) / 2);
  return c > a ? c : b;
}

/**
 * Cut points for sorted float32 values with weights: each distinct value its own bin when they fit,
 * otherwise greedy weighted quantiles that re-target the remaining mass after heavy values.
 */
export function numericCuts(sorted: Float64Array, weights: Float64Array | null, maxValueBins: number): Float32Array {
  const n = sorted.length;
  const vals = new Float64Array(n);
  const wts = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    const w = weights ? weights[i]! : 1;
    if (m > 0 && vals[m - 1] === v) wts[m - 1]! += w;
    else { vals[m] = v; wts[m] = w; m++; }
  }
  return cutsOfDistinct(vals, null, wts, m, maxValueBins);
}

/** numericCuts over radix-sorted keys (floatKey), deduplicated on the keys: the same cuts, less work. */
function numericCutsOfKeys(keys: Int32Array, weights: Float64Array | null, maxValueBins: number, scratch: CutScratch): Float32Array {
  const n = keys.length;
  const { distinct, wts } = scratch;
  let m = 0;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    const w = weights ? weights[i]! : 1;
    if (m > 0 && prev === k) wts[m - 1]! += w;
    else { distinct[m] = k; wts[m] = w; m++; prev = k; }
  }
  return cutsOfDistinct(null, distinct, wts, m, maxValueBins);
}

/**
 * Cuts for m distinct ascending values with their weights (see numericCuts): the values themselves, or
 * their float keys, converted only where a cut is placed.
 */
function cutsOfDistinct(vals: Float64Array | null, keys: Int32Array | null, wts: Float64Array, m: number, maxValueBins: number): Float32Array {
  const val = (i: number): number => (vals ? vals[i]! : keyToFloat(keys![i]!));
  if (m === 0) return new Float32Array(0);
  if (m <= maxValueBins) {
    const cuts = new Float32Array(m - 1);
    for (let i = 0; i + 1 < m; i++) cuts[i] = cutBetween(val(i), val(i + 1));
    return cuts;
  }
  const cuts: number[] = [];
  let remaining = 0;
  for (let i = 0; i < m; i++) remaining += wts[i]!;
  let binsLeft = maxValueBins;
  let i = 0;
  while (i < m && binsLeft > 1) {
    const target = remaining / binsLeft;
    let acc = 0;
    let k = i;
    for (; k < m; k++) {
      acc += wts[k]!;
      if (acc >= target) break;
    }
    if (k >= m) break;
    // Stop before value k when that lands closer to the target.
    if (k > i && acc - target > target - (acc - wts[k]!)) { acc -= wts[k]!; k--; }
    if (k + 1 >= m) break;
    cuts.push(cutBetween(val(k), val(k + 1)));
    remaining -= acc;
    binsLeft--;
    i = k + 1;
  }
  return Float32Array.from(cuts);
}

/** Arrays reused for every column of one binning run (fresh ones per column kept the GC busy). */
interface CutScratch {
  keys: Int32Array;
  distinct: Int32Array;
  wts: Float64Array;
}

function cutScratch(n: number): CutScratch {
  return { keys: new Int32Array(n), distinct: new Int32Array(n), wts: new Float64Array(n) };
}

/** Keys (floatKey) of the sampled rows' non-missing values, and those rows when weighted. */
function sampleKeys(col: FeatureColumn, sample: Uint32Array | null, withRows: boolean, scratch: CutScratch): { keys: Int32Array; rows: Uint32Array | null } {
  const n = sample ? sample.length : col.length;
  const keys = scratch.keys;
  const rows = withRows ? new Uint32Array(n) : null;
  let k = 0;
  if (!sample && col instanceof Float32Array && !rows) {
    // All rows of a float32 column: the keys straight from its bits.
    const bits = new Int32Array(col.buffer, col.byteOffset, col.length);
    for (let i = 0; i < n; i++) {
      const b = bits[i]!;
      if ((b & 0x7fffffff) > 0x7f800000) continue; // NaN
      keys[k++] = b === -0x80000000 ? 0 : b ^ ((b >> 31) & 0x7fffffff);
    }
    return { keys: keys.subarray(0, k), rows };
  }
  for (let s = 0; s < n; s++) {
    const r = sample ? sample[s]! : s;
    const x = col[r]!;
    if (x !== x) continue;
    if (rows) rows[k] = r;
    keys[k++] = floatKey(x);
  }
  return { keys: keys.subarray(0, k), rows: rows ? rows.subarray(0, k) : null };
}

/** Faster equivalents of binning's loops (train passes WebAssembly ones); each may decline. */
export interface BinAccel {
  /** Sorts int32 keys ascending in place, as radixSort without payload; false: declined. */
  sort(keys: Int32Array): boolean;
  /** binNumericColumn for a float32 column into uint8 bins: -1, the first row of a bad value, or null: declined. */
  binColumn(col: Float32Array, cutKeys: Int32Array, missing: number, out: Uint8Array): number | null;
}

function numericFeature(col: FeatureColumn, sample: Uint32Array | null, weight: Float32Array | null, maxValueBins: number, accel: BinAccel | null, scratch: CutScratch): FeatureBins {
  const { keys, rows } = sampleKeys(col, sample, weight !== null, scratch);
  if (rows || !accel || !accel.sort(keys)) radixSort(keys, rows);
  let wts: Float64Array | null = null;
  if (weight && rows) {
    wts = new Float64Array(keys.length);
    for (let i = 0; i < keys.length; i++) wts[i] = weight[rows[i]!]!;
  }
  const cuts = numericCutsOfKeys(keys, wts, maxValueBins, scratch);
  return { categorical: false, nBins: keys.length === 0 ? 0 : cuts.length + 1, cuts, categories: new Int32Array(0), hasMissing: false };
}

function categoricalFeature(col: FeatureColumn, name: string, maxValueBins: number, maxBin: number): FeatureBins {
  const seen = new Set<number>();
  for (let i = 0; i < col.length; i++) {
    const x = col[i]!;
    if (x !== x) continue;
    if (!(x >= 0 && x < MAX_CATEGORY && Number.isInteger(x))) throw badFeatureValue(name, i, x, true);
    seen.add(x);
  }
  const categories = Int32Array.from(seen).sort();
  if (categories.length > maxValueBins) {
    throw new KilnError('GBDT_PARAM_INVALID', `categorical feature '${name}' has ${categories.length} categories but max_bin = ${maxBin} allows ${maxValueBins} (one bin is kept for missing); raise max_bin to at least ${categories.length + 1} or group rare categories`, { path: ['features', name] });
  }
  return { categorical: true, nBins: categories.length, cuts: new Float32Array(0), categories, hasMissing: false };
}

/**
 * Bins the training matrix: cuts from a seeded sample, then every value once, in row blocks so the
 * row-major writes stay in cache.
 */
/** Storage layout of the bin matrix for a data shape, known before binning (so its memory can be placed first). */
export function matrixLayout(nRows: number, nFeatures: number, maxBin: number): { wide: boolean; rowStride: number; histStride: number; rowBytes: number; colBytes: number } {
  const wide = maxBin > 256;
  const rowStride = wide ? (nFeatures + 1) & ~1 : (nFeatures + 3) & ~3;
  const elem = wide ? 2 : 1;
  const histStride = wide ? (maxBin % 256 === 0 ? maxBin + 4 : maxBin) : U8_HIST_STRIDE;
  return { wide, rowStride, histStride, rowBytes: nRows * rowStride * elem, colBytes: nRows * nFeatures * elem };
}

/**
 * Bins the training matrix into `target` (row-major and column-major regions sized by matrixLayout,
 * fresh SharedArrayBuffers when absent): cuts from a seeded sample, then every value once.
 */
export function binFeatures(features: FeatureColumn[], names: string[], isCat: Uint8Array, weight: Float32Array | null, maxBin: number, seed: number, target?: { rows: Region; cols: Region }, accel: BinAccel | null = null): BinnedMatrix {
  const nFeatures = features.length;
  const nRows = features[0]!.length;
  const { wide, histStride, rowStride } = matrixLayout(nRows, nFeatures, maxBin);
  const maxValueBins = maxBin - 1;
  const sample = cutSampleRows(nRows, seed);
  const scratch = cutScratch(sample ? sample.length : nRows);
  const fbs = features.map((col, j) =>
    isCat[j] ? categoricalFeature(col, names[j]!, maxValueBins, maxBin) : numericFeature(col, sample, weight, maxValueBins, accel, scratch),
  );
  const layout = matrixLayout(nRows, nFeatures, maxBin);
  const rows = target?.rows ?? plainRegion(layout.rowBytes);
  const colsR = target?.cols ?? plainRegion(layout.colBytes);
  const bins = wide ? new Uint16Array(rows.buf, rows.byteOffset, nRows * rowStride) : new Uint8Array(rows.buf, rows.byteOffset, nRows * rowStride);
  const cols = wide ? new Uint16Array(colsR.buf, colsR.byteOffset, nRows * nFeatures) : new Uint8Array(colsR.buf, colsR.byteOffset, nRows * nFeatures);
  const cutKeys = fbs.map((fb) => Int32Array.from(fb.cuts, floatKey));
  const start = new Uint16Array(FINE_BUCKETS + 1);
  const f32 = new Float32Array(BLOCK_ROWS);
  const f32bits = new Int32Array(f32.buffer);
  for (let j = 0; j < nFeatures; j++) {
    const fb = fbs[j]!;
    const col = features[j]!;
    const missing = fb.nBins;
    const out = cols.subarray(j * nRows, (j + 1) * nRows);
    if (fb.categorical) {
      const cats = new Map(Array.from(fb.categories, (c, b) => [c, b] as const));
      for (let i = 0; i < nRows; i++) {
        const x = col[i]!;
        if (x !== x) { out[i] = missing; fb.hasMissing = true; } else out[i] = cats.get(x)!;
      }
      continue;
    }
    const done = accel && col instanceof Float32Array && out instanceof Uint8Array ? accel.binColumn(col, cutKeys[j]!, missing, out) : null;
    if (done !== null && done >= 0) throw badFeatureValue(names[j]!, done, col[done]!, false);
    if (done === null) binNumericColumn(col, cutKeys[j]!, start, missing, out, f32, f32bits, names[j]!);
    fb.hasMissing = fb.hasMissing || out.includes(missing);
  }
  // Row-major copy for the histogram kernel, transposed in row blocks that stay in cache.
  for (let r0 = 0; r0 < nRows; r0 += BLOCK_ROWS) {
    const r1 = Math.min(nRows, r0 + BLOCK_ROWS);
    for (let j = 0; j < nFeatures; j++) {
      const src = j * nRows;
      for (let i = r0, p = r0 * rowStride + j; i < r1; i++, p += rowStride) bins[p] = cols[src + i]!;
    }
  }
  return { nRows, nFeatures, rowStride, histStride, bins, cols, features: fbs };
}

function plainRegion(bytes: number): Region {
  return { buf: new SharedArrayBuffer(bytes), byteOffset: 0, byteLength: bytes };
}

const BLOCK_ROWS = 4096;

const FINE_SHIFT = 16;
const FINE_BUCKETS = 65536;

/**
 * Bins one numeric column: float32 bits through a scratch view, the key's top 16 bits index a table of
 * first-cut positions (fine enough that a bucket rarely holds more than one cut), then a short scan.
 */
function binNumericColumn(col: FeatureColumn, cutKeys: Int32Array, start: Uint16Array, missing: number, out: Uint8Array | Uint16Array, f32: Float32Array, f32bits: Int32Array, name: string): void {
  let r = 0;
  for (let bkt = 0; bkt <= FINE_BUCKETS; bkt++) {
    while (r < cutKeys.length && (cutKeys[r]! >> FINE_SHIFT) + FINE_BUCKETS / 2 < bkt) r++;
    start[bkt] = r;
  }
  const n = col.length;
  // A float32 column is read through a view of its own bits; others are rounded to float32 in blocks.
  const direct = col instanceof Float32Array ? new Int32Array(col.buffer, col.byteOffset, n) : null;
  for (let r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
    const m = Math.min(BLOCK_ROWS, n - r0);
    const bits = direct ? direct.subarray(r0, r0 + m) : f32bits;
    if (!direct) for (let i = 0; i < m; i++) f32[i] = col[r0 + i]!;
    for (let i = 0; i < m; i++) {
      const b = bits[i]!;
      const abs = b & 0x7fffffff;
      if (abs > 0x7f800000) { out[r0 + i] = missing; continue; }
      if (abs >= 0x7f7fffff) throw badFeatureValue(name, r0 + i, col[r0 + i]!, false);
      const k = b === -0x80000000 ? 0 : b ^ ((b >> 31) & 0x7fffffff); // -0 bins as +0, as it routes
      const bkt = (k >> FINE_SHIFT) + FINE_BUCKETS / 2;
      let q = start[bkt]!;
      const end = start[bkt + 1]!;
      while (q < end && cutKeys[q]! <= k) q++;
      out[r0 + i] = q;
    }
  }
}
