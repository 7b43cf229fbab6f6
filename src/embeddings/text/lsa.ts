/**
 * TextLsa: text vectors trained here, with no external model (latent semantic analysis).
 *
 * fit: every text's hashed features (lsa-features.ts: words, word bigrams, character 3-grams) are
 * counted; buckets found in fewer than `minDf` texts are dropped; the rest are the columns, weighted
 * TF-IDF with sublinear tf (1 + ln tf) and smooth idf (ln((1 + n) / (1 + df)) + 1), each row
 * L2-normalised. A seeded randomized SVD (svd.ts) of that sparse matrix gives the projection V
 * [columns, dim]; a text's vector is its TF-IDF row times V, L2-normalised. `encode` does exactly that
 * for new texts (fold-in), with the same float32 idf and projection the fit used, so a training text
 * encodes to its fitted vector bit for bit, and so does a model read back from its JSON.
 */
import { KilnError } from '../../core/errors.js';
import type { Csr } from '../csr.js';
import type { TextEncoder } from './encoder.js';
import { FEATURES_ID, FeatureScratch, featureCounts } from './lsa-features.js';
import { randomizedSvd } from './svd.js';

export const TEXT_LSA_FORMAT = 'kiln.text-lsa';
export const TEXT_LSA_VERSION = 1;
const MAX_BUCKETS = 1 << 26;

export interface TextLsaOptions {
  /** Vector width (default 64). */
  dim?: number;
  /** Seed of the randomized SVD (default 7). */
  seed?: number;
  /** A feature bucket is kept when at least this many texts have it (default 2). */
  minDf?: number;
  /** Hash buckets (default 2^18). */
  maxFeatures?: number;
  /** Power iterations of the range finder (default 2). */
  powerIterations?: number;
  /** Extra sketch columns of the range finder (default 10). */
  oversample?: number;
}

export interface TextLsaJson {
  format: string;
  features: string;
  dim: number;
  maxFeatures: number;
  minDf: number;
  seed: number;
  /** Texts the model was fitted on. */
  docs: number;
  /** The kept buckets, ascending (base64 of int32, little-endian). */
  buckets: string;
  /** idf of each kept bucket (base64 float32). */
  idf: string;
  /** [buckets, dim] row-major (base64 float32). */
  projection: string;
  singularValues: number[];
}

function intOption(v: number, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new KilnError('INVALID_ARGUMENT', `TextLsa option ${name} must be an integer in [${min}, ${max}], got ${v}`, { path: [name] });
  }
  return v;
}

function checkTexts(texts: readonly string[], what: string): void {
  if (!Array.isArray(texts)) throw new KilnError('INVALID_ARGUMENT', `${what} takes an array of strings`, { path: ['texts'] });
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new KilnError('INVALID_ARGUMENT', `${what}: texts[${i}] is ${t === null ? 'null' : typeof t}, expected a string`, { path: ['texts', i] });
  });
}

/** Sublinear TF-IDF weights of one row, L2-normalised, rounded to float32 (fit and encode share this). */
function rowWeights(counts: Int32Array, cols: Int32Array, n: number, idf: Float32Array, out: Float32Array, at: number): void {
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const w = (1 + Math.log(counts[i]!)) * idf[cols[i]!]!;
    out[at + i] = w;
    ss += w * w;
  }
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let i = 0; i < n; i++) out[at + i] = out[at + i]! * inv;
}

/** Rows of X times the projection [nCols, dim], each row L2-normalised, as float32 [nRows, dim]. */
export function projectRows(x: Csr, projection: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.nRows * dim);
  const acc = new Float64Array(dim);
  for (let i = 0; i < x.nRows; i++) {
    acc.fill(0);
    for (let p = x.indptr[i]!; p < x.indptr[i + 1]!; p++) {
      const v = x.data[p]!;
      const po = x.indices[p]! * dim;
      for (let c = 0; c < dim; c++) acc[c]! += v * projection[po + c]!;
    }
    let ss = 0;
    for (let c = 0; c < dim; c++) ss += acc[c]! * acc[c]!;
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let c = 0; c < dim; c++) out[i * dim + c] = acc[c]! * inv;
  }
  return out;
}

const toBase64 = (a: Int32Array | Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function fromBase64<T extends Int32Array | Float32Array>(s: unknown, make: (buf: ArrayBuffer) => T, field: string): T {
  if (typeof s !== 'string') throw new KilnError('MODEL_FORMAT_INVALID', `TextLsa JSON: '${field}' must be a base64 string`, { path: [field] });
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % 4 !== 0) throw new KilnError('MODEL_FORMAT_INVALID', `TextLsa JSON: '${field}' holds ${bytes.length} bytes, not a whole number of 4-byte values`, { path: [field] });
  const buf = new ArrayBuffer(bytes.length);
  new Uint8Array(buf).set(bytes);
  return make(buf);
}

export class TextLsa implements TextEncoder {
  private readonly colOf: Int32Array;
  private scratch: FeatureScratch | null = null;

  private constructor(
    readonly dim: number,
    readonly maxFeatures: number,
    readonly minDf: number,
    readonly seed: number,
    readonly docs: number,
    /** Kept buckets, ascending; column j of the model is bucket buckets[j]. */
    readonly buckets: Int32Array,
    readonly idf: Float32Array,
    readonly projection: Float32Array,
    readonly singularValues: Float64Array,
  ) {
    this.colOf = new Int32Array(maxFeatures).fill(-1);
    buckets.forEach((b, j) => { this.colOf[b] = j; });
  }

  /**
   * Fits TF-IDF and the SVD projection on the texts.
   * @example const lsa = TextLsa.fit(titles, { dim: 64 }); const v = lsa.encodeSync(['red running shoes']);
   */
  static fit(texts: readonly string[], opts: TextLsaOptions = {}): TextLsa {
    return TextLsa.fitTransform(texts, opts).model;
  }

  /** `fit`, plus the fitted vectors of the training texts (row-major [texts.length, dim]). */
  static fitTransform(texts: readonly string[], opts: TextLsaOptions = {}): { model: TextLsa; vectors: Float32Array } {
    checkTexts(texts, 'TextLsa.fit');
    const dim = intOption(opts.dim ?? 64, 'dim', 1, 4096);
    const seed = intOption(opts.seed ?? 7, 'seed', -(2 ** 31), 2 ** 31 - 1);
    const minDf = intOption(opts.minDf ?? 2, 'minDf');
    const maxFeatures = intOption(opts.maxFeatures ?? 2 ** 18, 'maxFeatures', 16, MAX_BUCKETS);
    const powerIterations = intOption(opts.powerIterations ?? 2, 'powerIterations', 0, 20);
    const oversample = intOption(opts.oversample ?? 10, 'oversample', 0, 1000);
    if (texts.length === 0) throw new KilnError('INVALID_ARGUMENT', 'TextLsa.fit needs at least one text', { path: ['texts'] });

    const scratch = new FeatureScratch(maxFeatures);
    const rows = texts.map((t) => featureCounts(t, scratch));
    const df = new Int32Array(maxFeatures);
    for (const r of rows) for (let i = 0; i < r.buckets.length; i++) df[r.buckets[i]!]!++;
    const kept: number[] = [];
    for (let b = 0; b < maxFeatures; b++) if (df[b]! >= minDf) kept.push(b);
    if (kept.length === 0) {
      throw new KilnError('INVALID_ARGUMENT', `TextLsa.fit: no word or 3-gram occurs in ${minDf} of the ${texts.length} texts; give more texts or a lower minDf`, { path: ['minDf'] });
    }
    const n = texts.length;
    const buckets = Int32Array.from(kept);
    const idf = new Float32Array(buckets.length);
    buckets.forEach((b, j) => { idf[j] = Math.log((1 + n) / (1 + df[b]!)) + 1; });
    const model = new TextLsa(dim, maxFeatures, minDf, seed, n, buckets, idf, new Float32Array(buckets.length * dim), new Float64Array(dim));
    const x = model.matrix(rows);
    const { v, s } = randomizedSvd(x, dim, { seed, oversample, powerIterations });
    model.projection.set(v);
    model.singularValues.set(s);
    return { model, vectors: projectRows(x, model.projection, dim) };
  }

  /** The TF-IDF matrix of feature counts over the kept columns. */
  private matrix(rows: readonly { buckets: Int32Array; counts: Int32Array }[]): Csr {
    const indptr = new Int32Array(rows.length + 1);
    let nnz = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      for (let k = 0; k < r.buckets.length; k++) if (this.colOf[r.buckets[k]!]! >= 0) nnz++;
      indptr[i + 1] = nnz;
    }
    const indices = new Int32Array(nnz);
    const counts = new Int32Array(nnz);
    const data = new Float32Array(nnz);
    let p = 0;
    for (const r of rows) {
      for (let k = 0; k < r.buckets.length; k++) {
        const c = this.colOf[r.buckets[k]!]!;
        if (c < 0) continue;
        indices[p] = c;
        counts[p++] = r.counts[k]!;
      }
    }
    for (let i = 0; i < rows.length; i++) {
      const a = indptr[i]!;
      rowWeights(counts.subarray(a), indices.subarray(a), indptr[i + 1]! - a, this.idf, data, a);
    }
    return { nRows: rows.length, nCols: this.buckets.length, indptr, indices, data };
  }

  /** Unit vectors of the texts, row-major [texts.length, dim]; a text with no known feature is zeros. */
  encodeSync(texts: readonly string[]): Float32Array {
    checkTexts(texts, 'TextLsa.encode');
    this.scratch ??= new FeatureScratch(this.maxFeatures);
    const scratch = this.scratch;
    return projectRows(this.matrix(texts.map((t) => featureCounts(t, scratch))), this.projection, this.dim);
  }

  async encode(texts: string[]): Promise<Float32Array> {
    return this.encodeSync(texts);
  }

  toJSON(): TextLsaJson {
    return {
      format: `${TEXT_LSA_FORMAT}@${TEXT_LSA_VERSION}`,
      features: FEATURES_ID,
      dim: this.dim,
      maxFeatures: this.maxFeatures,
      minDf: this.minDf,
      seed: this.seed,
      docs: this.docs,
      buckets: toBase64(this.buckets),
      idf: toBase64(this.idf),
      projection: toBase64(this.projection),
      singularValues: Array.from(this.singularValues),
    };
  }

  /** A model from its `toJSON()`; MODEL_FORMAT_INVALID (or _TOO_NEW) names what is wrong. */
  static fromJSON(json: TextLsaJson): TextLsa {
    const bad = (msg: string, field: string): never => {
      throw new KilnError('MODEL_FORMAT_INVALID', `TextLsa JSON: ${msg}`, { path: [field] });
    };
    if (!json || typeof json !== 'object') return bad('expected the object TextLsa.toJSON() returns', 'format');
    const m = /^kiln\.text-lsa@(\d+)$/.exec(String(json.format));
    if (!m) return bad(`format is '${String(json.format)}', expected '${TEXT_LSA_FORMAT}@${TEXT_LSA_VERSION}'`, 'format');
    if (Number(m[1]) > TEXT_LSA_VERSION) {
      throw new KilnError('MODEL_FORMAT_TOO_NEW', `TextLsa JSON is ${json.format}, newer than this kiln (reads @${TEXT_LSA_VERSION}); upgrade kiln`, { path: ['format'] });
    }
    if (json.features !== FEATURES_ID) bad(`features are '${String(json.features)}', this kiln computes '${FEATURES_ID}'`, 'features');
    for (const f of ['dim', 'maxFeatures', 'minDf', 'docs'] as const) {
      if (!Number.isInteger(json[f]) || json[f] < 1) bad(`'${f}' must be a positive integer, got ${String(json[f])}`, f);
    }
    if (json.maxFeatures > MAX_BUCKETS) bad(`maxFeatures ${json.maxFeatures} is above ${MAX_BUCKETS}`, 'maxFeatures');
    const buckets = fromBase64(json.buckets, (b) => new Int32Array(b), 'buckets');
    const idf = fromBase64(json.idf, (b) => new Float32Array(b), 'idf');
    const projection = fromBase64(json.projection, (b) => new Float32Array(b), 'projection');
    if (idf.length !== buckets.length) bad(`idf has ${idf.length} values for ${buckets.length} buckets`, 'idf');
    if (projection.length !== buckets.length * json.dim) bad(`projection has ${projection.length} values, expected ${buckets.length} buckets x ${json.dim}`, 'projection');
    for (let j = 0; j < buckets.length; j++) {
      if (buckets[j]! < 0 || buckets[j]! >= json.maxFeatures || (j > 0 && buckets[j]! <= buckets[j - 1]!)) bad(`buckets must be ascending in [0, ${json.maxFeatures}); entry ${j} is ${buckets[j]}`, 'buckets');
    }
    const sv = Array.isArray(json.singularValues) ? Float64Array.from(json.singularValues) : new Float64Array(json.dim);
    return new TextLsa(json.dim, json.maxFeatures, json.minDf, Number(json.seed), json.docs, buckets, idf, projection, sv);
  }
}
