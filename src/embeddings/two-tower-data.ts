/**
 * The edge of the two-tower trainer: checks interactions, features and options (every problem at once,
 * each naming its field), and standardises numeric features. A feature column is standardised by the
 * mean and standard deviation of its known values; missing values (NaN) become 0, the column's mean
 * (a column with no known values, or a constant one, is centred with scale 1).
 */
import { KilnError, type KilnErrorCode } from '../core/errors.js';

/** Per-column mean and scale of one side's features. */
export interface FeatureStats {
  mean: Float32Array;
  scale: Float32Array;
}

export interface Issue {
  path: string[];
  message: string;
}

/** Throws one KilnError listing every issue (its `path` is the first one's), or returns. */
export function throwIssues(code: KilnErrorCode, what: string, issues: Issue[]): void {
  if (issues.length === 0) return;
  const text = issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new KilnError(code, `${what}: ${text}`, { path: issues[0]!.path, details: issues });
}

/** Issues with a [rows, dim] feature matrix (`field`, `dimField` name them); none when both are absent. */
export function featureIssues(field: string, dimField: string, x: Float32Array | undefined, dim: number | undefined, rows: number | null): Issue[] {
  if (x === undefined && dim === undefined) return [];
  if (x === undefined) return [{ path: [field], message: `${dimField} is ${dim} but ${field} is missing` }];
  if (!(x instanceof Float32Array)) return [{ path: [field], message: 'must be a Float32Array' }];
  if (dim === undefined || !Number.isInteger(dim) || dim <= 0) return [{ path: [dimField], message: `must be a positive integer (columns of ${field}), got ${dim}` }];
  if (rows !== null && x.length !== rows * dim) {
    return [{ path: [field], message: `has ${x.length} values; expected ${rows} rows x ${dim} (${dimField}) = ${rows * dim}` }];
  }
  if (rows === null && x.length % dim !== 0) return [{ path: [field], message: `has ${x.length} values, not a whole number of rows of ${dim} (${dimField})` }];
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v === Infinity || v === -Infinity) return [{ path: [field], message: `value ${v} at row ${Math.floor(i / dim)}, column ${i % dim} is infinite (use NaN for missing)` }];
  }
  return [];
}

/** Issues with an id array: integers in [lo, n). */
export function idIssues(field: string, ids: Int32Array, n: number, lo: number): Issue[] {
  if (!(ids instanceof Int32Array)) return [{ path: [field], message: 'must be an Int32Array' }];
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    if (id < lo || id >= n) return [{ path: [field], message: `id ${id} at ${k} is outside [${lo}, ${n - 1}]` }];
  }
  return [];
}

/** Column means and scales over known (non-NaN) values. */
export function fitStats(x: Float32Array, rows: number, dim: number): FeatureStats {
  const sum = new Float64Array(dim);
  const count = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < dim; c++) {
      const v = x[r * dim + c]!;
      if (v === v) { sum[c]! += v; count[c]!++; }
    }
  }
  const mean = new Float64Array(dim);
  for (let c = 0; c < dim; c++) mean[c] = count[c]! > 0 ? sum[c]! / count[c]! : 0;
  const sq = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < dim; c++) {
      const v = x[r * dim + c]!;
      if (v === v) sq[c]! += (v - mean[c]!) * (v - mean[c]!);
    }
  }
  const scale = new Float32Array(dim);
  for (let c = 0; c < dim; c++) {
    const sd = count[c]! > 1 ? Math.sqrt(sq[c]! / count[c]!) : 0;
    scale[c] = sd > 1e-12 ? sd : 1;
  }
  return { mean: Float32Array.from(mean), scale };
}

/** out[r, c] = (x[r, c] - mean[c]) / scale[c], 0 where x is NaN. */
export function standardize(x: Float32Array, rows: number, dim: number, stats: FeatureStats, out: Float32Array): void {
  const { mean, scale } = stats;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < dim; c++) {
      const v = x[r * dim + c]!;
      out[r * dim + c] = v === v ? (v - mean[c]!) / scale[c]! : 0;
    }
  }
}

/** Issues with an option that must be an integer in [min, max]. */
export function intOption(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): Issue[] {
  return Number.isInteger(v) && v >= min && v <= max ? [] : [{ path: ['options', name], message: `must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}], got ${v}` }];
}

/** Issues with an option that must be a finite number above (or from, when `closed`) `min`. */
export function numOption(name: string, v: number, min: number, closed: boolean): Issue[] {
  const ok = Number.isFinite(v) && (closed ? v >= min : v > min);
  return ok ? [] : [{ path: ['options', name], message: `must be a finite number ${closed ? '>=' : '>'} ${min}, got ${v}` }];
}
