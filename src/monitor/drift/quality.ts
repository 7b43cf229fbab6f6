/**
 * Data-quality checks of a decision-log window against the reference profile. Pure functions over
 * counts; the monitor decides what to do with the flags.
 *  - Null spike: one-sided binomial z-test of the window's null rate against the reference's,
 *    z = (rate - p0) / sqrt(p0·(1 - p0) / rows), flagged when z >= 3 AND the rate rose by at least
 *    5 points (the floor keeps huge windows from flagging a meaningless 0.1-point rise).
 *  - Out of range: the share of non-missing values below the reference min or above its max.
 *  - Volume: a robust z-score of the window's row count against previous windows, (current - median) /
 *    (1.4826·MAD), the MAD floored at Poisson noise sqrt(median) (at least 1) so a perfectly flat history
 *    does not flag a one-row change; flagged when |z| >= 3.5 (Iglewicz-Hoaglin). Needs 3 windows.
 *  - Schema: columns added, removed, or whose type changed.
 */
import { checkNumberOption, invalid, isMissing, requireArray } from './check.js';

export interface NullSpikeOptions {
  /** z at or above which the rise is significant (default 3, one-sided p ~ 0.0013). */
  z?: number;
  /** Smallest rise of the null rate that counts, in absolute terms (default 0.05 = 5 points). */
  minIncrease?: number;
}

/** One-sided binomial z-test of a window's null rate against the reference's (see the module header). */
export function nullSpike(referenceNullRate: number, currentNulls: number, currentRows: number, opts: NullSpikeOptions = {}): { rate: number; spike: boolean; z: number } {
  const fn = 'nullSpike';
  checkNumberOption(fn, 'referenceNullRate', referenceNullRate, 0, 1);
  if (typeof referenceNullRate !== 'number') invalid(fn, 'referenceNullRate', 'referenceNullRate is missing; expected a rate in [0, 1]');
  if (!Number.isInteger(currentRows) || currentRows < 0) invalid(fn, 'currentRows', `currentRows is ${String(currentRows)}; expected an integer >= 0`);
  if (!Number.isInteger(currentNulls) || currentNulls < 0 || currentNulls > currentRows) invalid(fn, 'currentNulls', `currentNulls is ${String(currentNulls)}; expected an integer in [0, currentRows = ${currentRows}]`);
  const zMin = opts.z ?? 3, minIncrease = opts.minIncrease ?? 0.05;
  checkNumberOption(fn, 'z', zMin, 0, Infinity);
  checkNumberOption(fn, 'minIncrease', minIncrease, 0, 1);
  if (currentRows === 0) return { rate: 0, spike: false, z: 0 };
  const rate = currentNulls / currentRows;
  const p0 = referenceNullRate;
  const se = Math.sqrt((p0 * (1 - p0)) / currentRows);
  const diff = rate - p0;
  const z = se > 0 ? diff / se : diff > 0 ? Infinity : diff < 0 ? -Infinity : 0;
  return { rate, spike: z >= zMin && diff >= minIncrease, z };
}

/** Share of non-missing values outside [ref.min, ref.max]; NaN and null are not counted (rate 0 when none remain). */
export function outOfRange(values: ArrayLike<number>, ref: { min: number; max: number }): { rate: number; below: number; above: number } {
  const fn = 'outOfRange';
  requireArray(fn, 'values', values);
  if (ref == null || typeof ref.min !== 'number' || typeof ref.max !== 'number' || ref.min !== ref.min || ref.max !== ref.max || ref.min > ref.max) {
    invalid(fn, 'ref', `ref is ${JSON.stringify(ref)}; expected { min, max } numbers with min <= max (a reference with values)`);
  }
  let below = 0, above = 0, present = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number | null | undefined;
    if (isMissing(v)) continue;
    if (typeof v !== 'number') invalid(fn, 'values', `values[${i}] is ${JSON.stringify(v)}; expected a number (NaN or null for missing)`);
    present++;
    if (v < ref.min) below++;
    else if (v > ref.max) above++;
  }
  return { rate: present > 0 ? (below + above) / present : 0, below, above };
}

export interface VolumeOptions {
  /** |robust z| at or above which the volume is anomalous (default 3.5). */
  z?: number;
  /** Windows of history needed before anything is flagged (default 3, at least 3). */
  minWindows?: number;
}

export interface VolumeResult {
  /** Median of the history. */
  expected: number;
  z: number;
  /** current / expected (Infinity when expected is 0 and current is not; 1 when both are 0). */
  ratio: number;
  anomaly: boolean;
  /** Why no decision was made (too little history). */
  reason?: string;
}

function median(sorted: Float64Array): number {
  const n = sorted.length, h = n >> 1;
  return n % 2 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
}

/** Robust z-score of a window's row count against previous windows (see the module header). */
export function volumeAnomaly(history: ArrayLike<number>, current: number, opts: VolumeOptions = {}): VolumeResult {
  const fn = 'volumeAnomaly';
  requireArray(fn, 'history', history);
  if (typeof current !== 'number' || !(current >= 0) || current === Infinity) invalid(fn, 'current', `current is ${String(current)}; expected a row count >= 0`);
  const zMin = opts.z ?? 3.5, minWindows = opts.minWindows ?? 3;
  checkNumberOption(fn, 'z', zMin, 0, Infinity);
  if (!Number.isInteger(minWindows) || minWindows < 3) invalid(fn, 'minWindows', `minWindows is ${String(minWindows)}; expected an integer >= 3`);
  const h = new Float64Array(history.length);
  for (let i = 0; i < history.length; i++) {
    const v = history[i]!;
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) invalid(fn, 'history', `history[${i}] is ${String(v)}; expected row counts >= 0`);
    h[i] = v;
  }
  h.sort();
  const expected = h.length > 0 ? median(h) : NaN;
  const ratio = expected > 0 ? current / expected : current === 0 ? 1 : Infinity;
  if (h.length < minWindows) {
    return { expected, z: 0, ratio: h.length > 0 ? ratio : NaN, anomaly: false, reason: `history has ${h.length} windows; at least ${minWindows} are needed to judge volume` };
  }
  const dev = new Float64Array(h.length);
  for (let i = 0; i < h.length; i++) dev[i] = Math.abs(h[i]! - expected);
  const mad = median(dev.sort());
  const scale = Math.max(1.4826 * mad, Math.sqrt(Math.max(expected, 1)));
  const z = (current - expected) / scale;
  return { expected, z, ratio, anomaly: Math.abs(z) >= zMin };
}

export interface Column { name: string; type: string }

/** Columns added, removed and retyped between two schemas; each list sorted by name. */
export function schemaChanges(reference: Column[], current: Column[]): { added: string[]; removed: string[]; retyped: { name: string; from: string; to: string }[] } {
  const fn = 'schemaChanges';
  const toMap = (arg: string, cols: Column[]): Map<string, string> => {
    if (!Array.isArray(cols)) invalid(fn, arg, `${arg} must be an array of { name, type }`);
    const m = new Map<string, string>();
    cols.forEach((c, i) => {
      if (c == null || typeof c.name !== 'string' || typeof c.type !== 'string') invalid(fn, arg, `${arg}[${i}] is ${JSON.stringify(c)}; expected { name: string, type: string }`);
      if (m.has(c.name)) invalid(fn, arg, `${arg} lists column '${c.name}' twice; names must be unique`);
      m.set(c.name, c.type);
    });
    return m;
  };
  const ref = toMap('reference', reference), cur = toMap('current', current);
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const added = [...cur.keys()].filter((n) => !ref.has(n)).sort(byName);
  const removed = [...ref.keys()].filter((n) => !cur.has(n)).sort(byName);
  const retyped = [...ref.keys()].filter((n) => cur.has(n) && cur.get(n) !== ref.get(n)).sort(byName)
    .map((name) => ({ name, from: ref.get(name)!, to: cur.get(name)! }));
  return { added, removed, retyped };
}
