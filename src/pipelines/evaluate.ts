import type { ModelSpec } from '../config/index.js';
import {
  approvalCurve, auc, brier, bySlice, calibrationTable, expectedCalibrationError, fairnessReport, fitIsotonic, fitPlatt, gini, ks,
  liftTable, logLoss, prAuc, reasonCodes, rocCurve, scoreDistribution, scorecardScaling, type Calibrator, type CalibratorJson,
} from '../eval/index.js';
import type { Split } from './dataset.js';

/** Everything the report and the registry need about a model's out-of-time performance (JSON-safe). */
export interface Evaluation {
  format: 'kiln.evaluation@1';
  rows: number;
  positives: number;
  metrics: { auc: number; gini: number; ks: number; ksScore: number; logLoss: number; brier: number; prAuc: number; ece: number; eceCalibrated: number | null };
  validMetrics: { auc: number; logLoss: number };
  roc: { fpr: number[]; tpr: number[] };
  calibration: { meanPredicted: number | null; observedRate: number | null; count: number }[];
  calibrationAfter: { meanPredicted: number | null; observedRate: number | null; count: number }[] | null;
  calibrator: CalibratorJson | null;
  lift: { group: number; count: number; positives: number; rate: number | null; lift: number | null; captureRate: number }[];
  /** Deciles (1 = riskiest) whose bad rate is below that of the next, less risky decile: the rank order breaks there. */
  rankOrderBreaks: number[];
  scoreDistribution: { lower: number; upper: number; good: number; bad: number }[];
  approval: { cutoff: number; approvalRate: number; badRate: number }[];
  byMonth: { slice: string; count: number; rate: number | null; auc: number | null }[];
  slices: Record<string, { slice: string; count: number; rate: number | null; auc: number | null }[]>;
  cutoff: number;
  fairness: null | { feature: string; reference: string; overallApprovalRate: number; minAdverseImpactRatio: number | null; flagged: string[]; groups: { group: string; count: number; approvalRate: number | null; adverseImpactRatio: number | null; approvalRateDifference: number | null }[] };
  scaling: { basePoints: number; baseOdds: number; pdo: number; pointsAtCutoff: number };
  /** Mean |SHAP contribution| per input on the test window (the SHAP summary); null without contributions. */
  shapSummary: { feature: string; meanAbs: number; meanSigned: number }[] | null;
  /** The test rows SHAP (summary and reason statistics) was computed on: all of them, or a seeded sample. */
  shapRows: { explained: number; of: number } | null;
  reasonCodes: null | { declined: number; /** Declined rows among the SHAP-explained ones (the frequencies count these). */ explainedDeclined: number; examples: { row: number; score: number; reasons: { reason: string; text: string | null; contribution: number }[] }[]; frequency: { reason: string; text: string | null; count: number }[] };
}

const round = (x: number, d = 6): number => Math.round(x * 10 ** d) / 10 ** d;
const roundOrNull = (x: number | null | undefined, d = 6): number | null => (x === null || x === undefined ? null : round(x, d));
const arr = (a: ArrayLike<number>, maxPoints = 200): number[] => {
  const step = Math.max(1, Math.ceil(a.length / maxPoints));
  const out: number[] = [];
  for (let i = 0; i < a.length; i += step) out.push(round(a[i]!));
  if ((a.length - 1) % step !== 0 && a.length) out.push(round(a[a.length - 1]!));
  return out;
};

/**
 * Evaluates test-window scores: ranking, probability quality, calibration (fitted on the validation
 * window), lift, score distributions, the approval/bad-rate trade-off, month-by-month and per-slice
 * metrics, fairness at the cutoff, and adverse-action reason codes for declined rows.
 */
export function evaluateModel(opts: {
  spec: ModelSpec;
  test: Split;
  testScore: Float64Array;
  valid: Split;
  validScore: Float64Array;
  /**
   * SHAP contributions toward the bad outcome (n x f, margin space) of the test rows `rows` (all when
   * absent), their column names and the feature of each column (a bucketed feature is one reason).
   */
  contributions?: { values: Float64Array; names: string[]; features?: string[]; rows?: Int32Array };
}): Evaluation {
  const { spec, test, testScore: p, valid, validScore } = opts;
  const y = test.label;
  const k = ks(y, p);
  let calibrator: Calibrator | null = null;
  if (spec.calibration === 'platt') calibrator = fitPlatt(validScore, valid.label);
  else if (spec.calibration === 'isotonic') calibrator = fitIsotonic(validScore, valid.label);
  const calibrated = calibrator ? calibrator.apply(p) : null;
  const cal = calibrationTable(y, p, { bins: 10, strategy: 'quantile' });
  const calAfter = calibrated ? calibrationTable(y, calibrated, { bins: 10, strategy: 'quantile' }) : null;
  // Default cutoff: decline the riskiest 30% of the validation window.
  const cutoff = spec.cutoff ?? quantile(validScore, 0.7);
  const months = test.timeMs ? Array.from(test.timeMs, (t) => new Date(t).toISOString().slice(0, 7)) : null;
  const sliceRows = (values: (string | null)[]) =>
    bySlice(y, p, values.map((v) => v ?? '(missing)'), ['auc']).map((r) => ({ slice: String(r.slice), count: r.count, rate: roundOrNull(r.rate), auc: roundOrNull(r.metrics.auc) }));
  const slices: Evaluation['slices'] = {};
  for (const s of spec.slices) slices[s] = sliceRows(test.extra[s]!);
  let fairness: Evaluation['fairness'] = null;
  if (spec.fairness) {
    const groups = test.extra[spec.fairness.feature]!.map((g) => g ?? '(missing)');
    const f = fairnessReport(p, groups, { cutoff, ...(spec.fairness.reference ? { reference: spec.fairness.reference } : {}) });
    fairness = {
      feature: spec.fairness.feature, reference: String(f.reference), overallApprovalRate: round(f.overallApprovalRate),
      minAdverseImpactRatio: f.minAdverseImpactRatio === null ? null : round(f.minAdverseImpactRatio), flagged: f.flagged.map(String),
      groups: f.groups.map((g) => ({ group: String(g.group), count: g.count, approvalRate: roundOrNull(g.approvalRate), adverseImpactRatio: roundOrNull(g.adverseImpactRatio), approvalRateDifference: roundOrNull(g.approvalRateDifference) })),
    };
  }
  const scaling = scorecardScaling(spec.scaling);
  let reasons: Evaluation['reasonCodes'] = null;
  if (opts.contributions) {
    const names = opts.contributions.names;
    const explained = opts.contributions.rows ?? Int32Array.from({ length: p.length }, (_, i) => i);
    let declinedAll = 0;
    for (let i = 0; i < p.length; i++) if (p[i]! >= cutoff) declinedAll++;
    // Declined rows among the explained ones (k indexes the contributions, row the test window).
    const declined: { k: number; row: number }[] = [];
    explained.forEach((row, k) => { if (p[row]! >= cutoff) declined.push({ k, row }); });
    const f = names.length;
    const sub = new Float64Array(declined.length * f);
    declined.forEach((d, r) => sub.set(opts.contributions!.values.subarray(d.k * f, d.k * f + f), r * f));
    const { groups, reasonText } = reasonConfig(spec, names, opts.contributions.features);
    const codes = declined.length ? reasonCodes(sub, names, { k: spec.maxReasons, reasonText, ...(Object.keys(groups).length ? { groups } : {}) }) : [];
    const freq = new Map<string, { text: string | null; count: number }>();
    for (const rc of codes) for (const r of rc) {
      const e = freq.get(r.reason) ?? { text: r.missingText ? null : r.text, count: 0 };
      e.count++;
      freq.set(r.reason, e);
    }
    reasons = {
      declined: declinedAll,
      explainedDeclined: declined.length,
      examples: codes.slice(0, 10).map((rc, i) => ({ row: declined[i]!.row, score: round(p[declined[i]!.row]!), reasons: rc.map((r) => ({ reason: r.reason, text: r.missingText ? null : r.text, contribution: round(r.contribution) })) })),
      frequency: [...freq.entries()].map(([reason, e]) => ({ reason, text: e.text, count: e.count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    };
  }
  const liftRows = liftTable(y, p, { groups: 10 }).map((r) => ({ group: r.group, count: r.count, positives: r.positives, rate: roundOrNull(r.rate), lift: roundOrNull(r.lift), captureRate: round(r.captureRate) }));
  const roc = rocCurve(y, p, { maxPoints: 200 });
  const dist = scoreDistribution(y, p, { bins: 20, range: [0, 1] });
  return {
    format: 'kiln.evaluation@1',
    rows: test.rows,
    positives: test.positives,
    metrics: {
      auc: round(auc(y, p)), gini: round(gini(y, p)), ks: round(k.statistic), ksScore: round(k.score), logLoss: round(logLoss(y, p)), brier: round(brier(y, p)),
      prAuc: round(prAuc(y, p)), ece: round(expectedCalibrationError(y, p, { bins: 10, strategy: 'quantile' })),
      eceCalibrated: calibrated ? round(expectedCalibrationError(y, calibrated, { bins: 10, strategy: 'quantile' })) : null,
    },
    validMetrics: { auc: round(auc(valid.label, validScore)), logLoss: round(logLoss(valid.label, validScore)) },
    roc: { fpr: arr(roc.fpr), tpr: arr(roc.tpr) },
    calibration: cal.bins.map((b) => ({ meanPredicted: roundOrNull(b.meanPredicted), observedRate: roundOrNull(b.observedRate), count: b.count })),
    calibrationAfter: calAfter ? calAfter.bins.map((b) => ({ meanPredicted: roundOrNull(b.meanPredicted), observedRate: roundOrNull(b.observedRate), count: b.count })) : null,
    calibrator: calibrator ? { format: calibrator.format, kind: calibrator.kind, params: calibrator.params } as CalibratorJson : null,
    lift: liftRows,
    scoreDistribution: dist.negative.map((good, i) => ({ lower: round(dist.edges[i]!), upper: round(dist.edges[i + 1]!), good, bad: dist.positive[i]! })),
    approval: approvalCurve(y, p, { points: 51 }).map((a) => ({ cutoff: round(a.cutoff), approvalRate: round(a.approvalRate), badRate: round(a.badRate ?? 0) })),
    rankOrderBreaks: rankOrderBreaks(liftRows),
    byMonth: months ? sliceRows(months) : [],
    slices,
    cutoff: round(cutoff),
    fairness,
    scaling: { ...spec.scaling, pointsAtCutoff: round(scaling.toPoints(cutoff), 1) },
    shapSummary: opts.contributions ? shapSummary(opts.contributions.values, opts.contributions.names) : null,
    shapRows: opts.contributions ? { explained: opts.contributions.rows?.length ?? p.length, of: p.length } : null,
    reasonCodes: reasons,
  };
}

/**
 * The reason texts and groups by input column that reason codes use (the evaluation and the model
 * bundle alike): the configured texts, and the default reason for every reason without one.
 */
export function reasonConfig(spec: ModelSpec, names: string[], features: string[] | undefined): { groups: Record<string, string[]>; reasonText: Record<string, string> } {
  const groups = reasonGroupsOf(spec, names, features);
  const reasonText = { ...spec.reasons };
  if (spec.defaultReason !== undefined) for (const u of [...Object.keys(groups), ...names]) if (!Object.hasOwn(reasonText, u) && !Object.values(groups).some((m) => m.includes(u))) reasonText[u] = spec.defaultReason;
  return { groups, reasonText };
}

/**
 * Reason groups by input column: the configured groups (features to their columns), and each bucketed
 * feature outside them as one reason under the feature's name, so one text covers all its buckets.
 */
function reasonGroupsOf(spec: ModelSpec, names: string[], features: string[] | undefined): Record<string, string[]> {
  const groups: Record<string, string[]> = Object.fromEntries(Object.entries(spec.reasonGroups).map(([g, fs]) => [g, fs.flatMap((x) => names.filter((n, j) => (features ? features[j] === x : n === x || n.startsWith(`${x}__`))))]));
  if (!features) return groups;
  const grouped = new Set(Object.values(spec.reasonGroups).flat());
  names.forEach((n, j) => {
    const f = features[j]!;
    if (f === n || grouped.has(f) || Object.hasOwn(spec.reasonGroups, f)) return;
    (groups[f] ??= []).push(n);
  });
  return groups;
}

/** Deciles (1 = riskiest) whose bad rate is lower than that of the next decile, which has lower scores. */
export function rankOrderBreaks(lift: readonly { group: number; rate: number | null }[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < lift.length; i++) {
    const a = lift[i]!.rate, b = lift[i + 1]!.rate;
    if (a !== null && b !== null && a < b) out.push(lift[i]!.group);
  }
  return out;
}

function shapSummary(values: Float64Array, names: string[]): { feature: string; meanAbs: number; meanSigned: number }[] {
  const f = names.length;
  const n = values.length / Math.max(1, f);
  const abs = new Float64Array(f);
  const sgn = new Float64Array(f);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) { const v = values[i * f + j]!; abs[j]! += Math.abs(v); sgn[j]! += v; }
  return names.map((feature, j) => ({ feature, meanAbs: round(abs[j]! / n), meanSigned: round(sgn[j]! / n) })).sort((a, b) => b.meanAbs - a.meanAbs);
}

function quantile(values: Float64Array, q: number): number {
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
