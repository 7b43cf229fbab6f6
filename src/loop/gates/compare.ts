/**
 * Champion against challenger on one evaluation set: every metric of `GATE_METRICS` for both models,
 * over all rows and per value of each slice column. Conventions of kiln's evaluation: label 1 = default,
 * pd = probability of default, approve when pd < cutoff (each model has its own cutoff). Metrics that need
 * outcomes use the rows whose label is known (NaN = not yet matured) and report that count as `rows`;
 * approval rate and adverse impact ratio use every row. A metric the data cannot define (one outcome
 * only, no approved row, no protected attribute) is null, never an error. The numbers come from the
 * kernels of `../../eval/`, so a gate sees exactly what `kiln eval` reports.
 */
import { didYouMean, KilnError } from '../../core/errors.js';
import { auc, brier, expectedCalibrationError, fairnessReport, ks, logLoss } from '../../eval/index.js';

/** What one metric computes from, for one model on one slice. */
export interface MetricInput {
  /** 0/1 outcomes, NaN where not yet known. */
  readonly label: Float64Array;
  readonly pd: Float64Array;
  readonly cutoff: number;
  /** Protected attribute per row (null = unknown, left out of AIR); null when the set has none. */
  readonly group: readonly (string | null)[] | null;
  readonly reference: string | undefined;
}

interface GateMetricDef {
  /** Which way is better: change thresholds are read in this direction (TFX's `lower_is_better`). */
  readonly better: 'higher' | 'lower';
  /** Rows counted: those with a known label, or every row. */
  readonly rows: 'labelled' | 'all';
  readonly doc: string;
  compute(m: MetricInput): number | null;
}

function labelled(m: MetricInput): { y: Float64Array; pd: Float64Array; pos: number } {
  let n = 0, pos = 0;
  for (let i = 0; i < m.label.length; i++) if (m.label[i] === m.label[i]) { n++; pos += m.label[i]!; }
  const y = new Float64Array(n), pd = new Float64Array(n);
  for (let i = 0, k = 0; i < m.label.length; i++) if (m.label[i] === m.label[i]) { y[k] = m.label[i]!; pd[k++] = m.pd[i]!; }
  return { y, pd, pos };
}

const bothClasses = (f: (y: Float64Array, pd: Float64Array) => number) => (m: MetricInput): number | null => {
  const l = labelled(m);
  return l.pos > 0 && l.pos < l.y.length ? f(l.y, l.pd) : null;
};
const anyLabel = (f: (y: Float64Array, pd: Float64Array) => number) => (m: MetricInput): number | null => {
  const l = labelled(m);
  return l.y.length > 0 ? f(l.y, l.pd) : null;
};

/** The metrics a gate can name, with their direction; the compiler keeps `GateMetric` and this table in step. */
export const GATE_METRICS = {
  auc: { better: 'higher', rows: 'labelled', doc: 'ROC AUC of pd against the outcome', compute: bothClasses((y, pd) => auc(y, pd)) },
  ks: { better: 'higher', rows: 'labelled', doc: 'Kolmogorov-Smirnov statistic between the pd of defaults and non-defaults', compute: bothClasses((y, pd) => ks(y, pd).statistic) },
  ece: { better: 'lower', rows: 'labelled', doc: 'expected calibration error, 10 uniform bins', compute: anyLabel((y, pd) => expectedCalibrationError(y, pd)) },
  brier: { better: 'lower', rows: 'labelled', doc: 'Brier score (mean squared error of pd)', compute: anyLabel((y, pd) => brier(y, pd)) },
  logloss: { better: 'lower', rows: 'labelled', doc: 'mean log loss of pd', compute: anyLabel((y, pd) => logLoss(y, pd)) },
  badRate: {
    better: 'lower', rows: 'labelled', doc: 'default rate among the approved (pd < cutoff) rows with a known outcome',
    compute: (m) => {
      let n = 0, bad = 0;
      for (let i = 0; i < m.pd.length; i++) if (m.pd[i]! < m.cutoff && m.label[i] === m.label[i]) { n++; bad += m.label[i]!; }
      return n > 0 ? bad / n : null;
    },
  },
  approvalRate: {
    better: 'higher', rows: 'all', doc: 'share of rows approved (pd < cutoff)',
    compute: (m) => {
      let a = 0;
      for (let i = 0; i < m.pd.length; i++) if (m.pd[i]! < m.cutoff) a++;
      return m.pd.length > 0 ? a / m.pd.length : null;
    },
  },
  air: {
    better: 'higher', rows: 'all', doc: 'smallest adverse impact ratio over the groups of the protected attribute (four-fifths rule: >= 0.8)',
    compute: (m) => {
      if (!m.group) return null;
      const keep: number[] = [];
      for (let i = 0; i < m.group.length; i++) if (m.group[i] !== null) keep.push(i);
      if (keep.length === 0) return null;
      const groups = keep.map((i) => m.group![i]!);
      if (m.reference !== undefined && !groups.includes(m.reference)) return null;
      const pd = Float64Array.from(keep, (i) => m.pd[i]!);
      return fairnessReport(pd, groups, { cutoff: m.cutoff, ...(m.reference !== undefined ? { reference: m.reference } : {}) }).minAdverseImpactRatio;
    },
  },
} as const satisfies Record<string, GateMetricDef>;

export type GateMetric = keyof typeof GATE_METRICS;
export const GATE_METRIC_NAMES = Object.keys(GATE_METRICS) as [GateMetric, ...GateMetric[]];

export interface EvalSet {
  /** 0/1 outcome per row (1 = default); NaN where the outcome is not yet known. */
  readonly label: Float64Array;
  readonly championPd: Float64Array;
  readonly challengerPd: Float64Array;
  /** Slice columns: one value per row (null is its own slice, `col=null`). */
  readonly slices?: Record<string, readonly (string | null)[]>;
  /** Protected attribute for the adverse impact ratio; reference defaults to the most approved group. */
  readonly group?: { column: string; values: readonly (string | null)[]; reference?: string };
  /** Approve when championPd < championCutoff. */
  readonly championCutoff: number;
  readonly challengerCutoff: number;
}

export interface MetricRow {
  metric: string;
  /** 'all', or `column=value` (e.g. 'region=coastal'). */
  slice: string;
  /** Rows the metric was computed on: those with a known label for outcome metrics, else every row of the slice. */
  rows: number;
  champion: number | null;
  challenger: number | null;
  /** challenger − champion; null when either is. */
  delta: number | null;
}

export interface CompareOptions {
  /** Slice columns to break down by (default: every column of `set.slices`). */
  slices?: string[];
  /** Slice values with fewer rows (for that metric) get null metrics: too small to judge (default 1). */
  minSliceRows?: number;
  /** Metrics to compute (default all of GATE_METRICS). */
  metrics?: GateMetric[];
}

function bad(argument: string, message: string): never {
  throw new KilnError('EVAL_INPUT_INVALID', `compareModels: ${message}`, { path: ['compareModels', argument] });
}

/** Checks an evaluation set once at the edge; the metric kernels trust it afterwards. */
export function checkEvalSet(set: EvalSet): number {
  if (!set || !(set.label instanceof Float64Array)) bad('label', 'label must be a Float64Array of 0/1 outcomes (NaN = not yet known)');
  const n = set.label.length;
  if (n === 0) bad('label', 'the evaluation set is empty; pass at least one row');
  for (let i = 0; i < n; i++) {
    const v = set.label[i]!;
    if (v !== 0 && v !== 1 && v === v) bad('label', `label[${i}] is ${v}; labels must be 0, 1 or NaN (outcome not yet known)`);
  }
  for (const name of ['championPd', 'challengerPd'] as const) {
    const pd = set[name];
    if (!(pd instanceof Float64Array)) bad(name, `${name} must be a Float64Array of probabilities of default`);
    if (pd.length !== n) bad(name, `${name} has ${pd.length} values but label has ${n}; pass one value per row`);
    for (let i = 0; i < n; i++) if (!(pd[i]! >= 0 && pd[i]! <= 1)) bad(name, `${name}[${i}] is ${pd[i]}; expected a probability of default in [0, 1]`);
  }
  for (const name of ['championCutoff', 'challengerCutoff'] as const) {
    if (typeof set[name] !== 'number' || !Number.isFinite(set[name])) bad(name, `${name} is ${String(set[name])}; expected a finite number (approve when pd < cutoff)`);
  }
  for (const [col, values] of Object.entries(set.slices ?? {})) {
    if (!Array.isArray(values) || values.length !== n) bad(`slices.${col}`, `slices.${col} must hold one value per row (${n}); it has ${Array.isArray(values) ? values.length : 'no array'}`);
  }
  if (set.group && (!Array.isArray(set.group.values) || set.group.values.length !== n)) {
    bad('group', `group.values (${set.group.column}) must hold one value per row (${n})`);
  }
  return n;
}

function take<T>(a: ArrayLike<T>, idx: readonly number[] | null): T[] {
  return idx ? idx.map((i) => a[i]!) : Array.from(a);
}

/**
 * Every metric for both models, over all rows ('all') and per value of each slice column, slices in
 * column order then by value (null last).
 * @example compareModels(set, { slices: ['region'] }) // [{ metric: 'auc', slice: 'all', rows: 5000, champion: 0.74, challenger: 0.76, delta: 0.02 }, …]
 */
export function compareModels(set: EvalSet, opts: CompareOptions = {}): MetricRow[] {
  checkEvalSet(set);
  const columns = opts.slices ?? Object.keys(set.slices ?? {});
  const known = Object.keys(set.slices ?? {});
  for (const col of columns) {
    if (!known.includes(col)) {
      const hint = didYouMean(col, known);
      bad('slices', `slice column '${col}' is not in the evaluation set${hint ? ` (did you mean '${hint}'?)` : ''}; it has: ${known.join(', ') || 'no slice columns'}`);
    }
  }
  const metrics = opts.metrics ?? GATE_METRIC_NAMES;
  for (const m of metrics) if (!(m in GATE_METRICS)) bad('metrics', `metric '${m}' is unknown; use some of: ${GATE_METRIC_NAMES.join(', ')}`);
  const minRows = opts.minSliceRows ?? 1;
  const parts: { slice: string; idx: number[] | null }[] = [{ slice: 'all', idx: null }];
  for (const col of columns) {
    const by = new Map<string | null, number[]>();
    set.slices![col]!.forEach((v, i) => { const k = v ?? null; (by.get(k) ?? by.set(k, []).get(k)!).push(i); });
    const keys = [...by.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
    for (const k of keys) parts.push({ slice: `${col}=${k}`, idx: by.get(k)! });
  }
  const out: MetricRow[] = [];
  for (const { slice, idx } of parts) {
    const label = Float64Array.from(take(set.label, idx));
    let nLabelled = 0;
    for (let i = 0; i < label.length; i++) if (label[i] === label[i]) nLabelled++;
    const group = set.group ? take(set.group.values, idx) : null;
    const input = (pd: Float64Array, cutoff: number): MetricInput => ({ label, pd: Float64Array.from(take(pd, idx)), cutoff, group, reference: set.group?.reference });
    const champ = input(set.championPd, set.championCutoff);
    const chall = input(set.challengerPd, set.challengerCutoff);
    for (const metric of metrics) {
      const def: GateMetricDef = GATE_METRICS[metric];
      const rows = def.rows === 'labelled' ? nLabelled : label.length;
      const small = slice !== 'all' && rows < minRows;
      const champion = small ? null : def.compute(champ);
      const challenger = small ? null : def.compute(chall);
      out.push({ metric, slice, rows, champion, challenger, delta: champion === null || challenger === null ? null : challenger - champion });
    }
  }
  return out;
}
