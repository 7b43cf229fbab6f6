/**
 * Input checks at the edge of the GBDT stage: every problem with the caller's data becomes a KilnError
 * that names the array, the offending row and the fix. Kernels after this point trust their input.
 */
import { didYouMean, KilnError } from '../core/errors.js';
import type { ObjectiveName, ResolvedParams } from './params.js';

/** One feature column: NaN = missing. Categorical columns hold non-negative integer codes. */
export type FeatureColumn = Float32Array | Float64Array;

/** Largest category code (exclusive), as in XGBoost: codes must be exact in float32. */
export const MAX_CATEGORY = 1 << 24;

const FLT_MAX = 3.4028234663852886e38;

function bad(message: string, path: (string | number)[], details?: unknown): KilnError {
  return new KilnError('GBDT_DATA_INVALID', message, { path, details });
}

/** A problem with a parameter that refers to the data (categorical, monotone_constraints). */
function badParam(message: string, path: (string | number)[]): KilnError {
  return new KilnError('GBDT_PARAM_INVALID', message, { path });
}

/** Checks the column-major feature matrix; returns the row count. */
export function checkFeatures(features: unknown, featureNames: unknown, where = 'features'): number {
  if (!Array.isArray(features) || features.length === 0) {
    throw bad(`${where} must be a non-empty array of Float32Array or Float64Array columns (one per feature), got ${Array.isArray(features) ? 'an empty array' : typeof features}`, [where]);
  }
  let n = -1;
  features.forEach((col, j) => {
    if (!(col instanceof Float32Array) && !(col instanceof Float64Array)) {
      throw bad(`${where}[${j}] must be a Float32Array or Float64Array (NaN = missing), got ${col === null ? 'null' : typeof col === 'object' ? (col as object).constructor?.name : typeof col}`, [where, j]);
    }
    if (n < 0) n = col.length;
    else if (col.length !== n) throw bad(`${where}[${j}] has ${col.length} rows but ${where}[0] has ${n}; every column must have the same number of rows`, [where, j]);
  });
  if (n === 0) throw bad(`${where} has no rows; training needs at least one row`, [where]);
  if (featureNames !== undefined) checkFeatureNames(featureNames, features.length);
  return n;
}

export function checkFeatureNames(featureNames: unknown, count: number): asserts featureNames is string[] {
  if (!Array.isArray(featureNames) || featureNames.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw bad('featureNames must be an array of non-empty strings, one per feature column', ['featureNames']);
  }
  if (featureNames.length !== count) {
    throw bad(`featureNames has ${featureNames.length} names but there are ${count} feature columns; give one name per column`, ['featureNames']);
  }
  const seen = new Set<string>();
  for (const s of featureNames as string[]) {
    if (seen.has(s)) throw bad(`featureNames has '${s}' twice; names must be unique`, ['featureNames']);
    seen.add(s);
  }
}

/** Checks labels for the objective and copies them to float32 (the precision XGBoost trains with). */
export function checkLabels(label: unknown, n: number, objective: ObjectiveName, numClass: number, where = 'label'): Float32Array {
  if (label === null || typeof label !== 'object' || typeof (label as ArrayLike<number>).length !== 'number') {
    throw bad(`${where} must be an array or typed array of numbers`, [where]);
  }
  const src = label as ArrayLike<number>;
  if (src.length !== n) throw bad(`${where} has ${src.length} values but the features have ${n} rows`, [where]);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const y = src[i]!;
    if (typeof y !== 'number' || !Number.isFinite(y)) {
      throw bad(`${where}[${i}] is ${String(y)}; labels must be finite numbers (drop or impute rows with missing labels)`, [where, i]);
    }
    if (objective === 'binary:logistic' && y !== 0 && y !== 1) {
      throw bad(`${where}[${i}] = ${y} but objective 'binary:logistic' needs labels 0 or 1`, [where, i]);
    }
    if (objective === 'multi:softprob' && (!Number.isInteger(y) || y < 0 || y >= numClass)) {
      throw bad(`${where}[${i}] = ${y} but objective 'multi:softprob' with num_class = ${numClass} needs integer labels in [0, ${numClass - 1}]`, [where, i]);
    }
    if (objective === 'rank:ndcg' && (y < 0 || y > 31)) {
      throw bad(`${where}[${i}] = ${y} but objective 'rank:ndcg' needs relevance labels in [0, 31]`, [where, i]);
    }
    out[i] = y;
  }
  return out;
}

/** Checks sample weights (finite, >= 0, not all zero); returns float32 weights or null when absent. */
export function checkWeights(weight: unknown, n: number, where = 'weight'): Float32Array | null {
  if (weight === undefined) return null;
  if (weight === null || typeof weight !== 'object' || typeof (weight as ArrayLike<number>).length !== 'number') {
    throw bad(`${where} must be an array or typed array of non-negative numbers`, [where]);
  }
  const src = weight as ArrayLike<number>;
  if (src.length !== n) throw bad(`${where} has ${src.length} values but the features have ${n} rows`, [where]);
  const out = new Float32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = src[i]!;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw bad(`${where}[${i}] = ${String(w)}; sample weights must be finite and >= 0`, [where, i]);
    }
    out[i] = w;
    total += w;
  }
  if (total <= 0) throw bad(`${where} is all zeros; at least one row needs a positive weight`, [where]);
  return out;
}

/** Checks per-row initial margins (XGBoost's base_margin): n x K finite numbers, copied to float64. */
export function checkBaseMargin(margin: unknown, n: number, K: number, where = 'baseMargin'): Float64Array | null {
  if (margin === undefined) return null;
  if (margin === null || typeof margin !== 'object' || typeof (margin as ArrayLike<number>).length !== 'number') {
    throw bad(`${where} must be an array or typed array of numbers (one margin per row${K > 1 ? ' and class' : ''})`, [where]);
  }
  const src = margin as ArrayLike<number>;
  if (src.length !== n * K) throw bad(`${where} has ${src.length} values but the features have ${n} rows${K > 1 ? ` x ${K} classes` : ''}`, [where]);
  const out = new Float64Array(n * K);
  for (let i = 0; i < n * K; i++) {
    const v = src[i]!;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${where}[${i}] = ${String(v)}; margins must be finite`, [where, i]);
    out[i] = v;
  }
  return out;
}

/** Checks query group sizes (rank:ndcg): positive integers that add up to the row count. */
export function checkGroups(group: unknown, n: number, objective: ObjectiveName, where = 'group'): Int32Array | null {
  if (group === undefined) {
    if (objective === 'rank:ndcg') throw bad(`objective 'rank:ndcg' needs ${where}: the sizes of consecutive query groups (adding up to ${n})`, [where]);
    return null;
  }
  if (objective !== 'rank:ndcg') throw bad(`${where} (query group sizes) is only used by objective 'rank:ndcg', not '${objective}'; remove it`, [where]);
  const src = group as ArrayLike<number>;
  if (src === null || typeof src !== 'object' || typeof src.length !== 'number' || src.length === 0) {
    throw bad(`${where} must be a non-empty array of query group sizes`, [where]);
  }
  const out = new Int32Array(src.length + 1);
  for (let g = 0; g < src.length; g++) {
    const s = src[g]!;
    if (!Number.isInteger(s) || s < 1) throw bad(`${where}[${g}] = ${String(s)}; group sizes must be positive integers`, [where, g]);
    out[g + 1] = out[g]! + s;
  }
  if (out[src.length] !== n) throw bad(`${where} sizes add up to ${out[src.length]} but there are ${n} rows`, [where]);
  return out;
}

/** Resolves `categorical` (feature names or indices) to a per-feature flag. */
export function resolveCategorical(categorical: unknown, names: string[]): Uint8Array {
  const flags = new Uint8Array(names.length);
  if (categorical === undefined) return flags;
  if (!Array.isArray(categorical)) throw badParam('categorical must be an array of feature names or indices', ['categorical']);
  for (const c of categorical as unknown[]) {
    if (typeof c === 'number' && Number.isInteger(c) && c >= 0 && c < names.length) flags[c] = 1;
    else if (typeof c === 'string' && names.includes(c)) flags[names.indexOf(c)] = 1;
    else {
      const hint = typeof c === 'string' ? didYouMean(c, names) : undefined;
      throw badParam(`categorical lists ${typeof c === 'string' ? `'${c}'` : String(c)}, which is not a feature${hint ? `; did you mean '${hint}'?` : ` (features: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''})`}`, ['categorical']);
    }
  }
  return flags;
}

/** Resolves monotone_constraints (array or object by name) to one -1/0/1 per feature. */
export function resolveMonotone(p: ResolvedParams, names: string[], isCat: Uint8Array): Int8Array {
  const out = new Int8Array(names.length);
  const m = p.monotone_constraints;
  if (m === undefined) return out;
  if (Array.isArray(m)) {
    if (m.length !== names.length) {
      throw badParam(`monotone_constraints has ${m.length} entries but there are ${names.length} features; give one -1/0/1 per feature or an object by feature name`, ['params', 'monotone_constraints']);
    }
    m.forEach((c, j) => { out[j] = c; });
  } else {
    for (const [name, c] of Object.entries(m)) {
      const j = names.indexOf(name);
      if (j < 0) {
        const hint = didYouMean(name, names);
        throw badParam(`monotone_constraints names '${name}', which is not a feature${hint ? `; did you mean '${hint}'?` : ''}`, ['params', 'monotone_constraints', name]);
      }
      out[j] = c;
    }
  }
  for (let j = 0; j < names.length; j++) {
    if (out[j] !== 0 && isCat[j]) {
      throw badParam(`monotone_constraints sets ${out[j]} on '${names[j]}', which is categorical; categories have no order, so remove the constraint or treat the feature as numeric`, ['params', 'monotone_constraints', names[j]!]);
    }
  }
  return out;
}

/** The error for a feature value that binning cannot accept. */
export function badFeatureValue(name: string, row: number, x: number, categorical: boolean, where = 'features'): KilnError {
  if (categorical) {
    return bad(`${where} '${name}' row ${row} is ${x}, but '${name}' is categorical: values must be integer category codes in [0, ${MAX_CATEGORY}) or NaN for missing`, [where, name, row]);
  }
  return bad(`${where} '${name}' row ${row} is ${x}; feature values must be finite and below the float32 maximum in magnitude (|x| < ${FLT_MAX.toExponential(6)}), NaN for missing`, [where, name, row]);
}
