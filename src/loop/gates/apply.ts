/**
 * Applying the gates to the rows of `compareModels`: one `GateResult` per threshold per slice, each with
 * the figures it was decided on, then the decision (`action.onPass` when every gate that was not skipped
 * passed, else `action.onFail`). The rule for values that cannot be computed (null) and for small slices:
 *  - a slice value with fewer than `minSliceRows` rows (for that metric) is skipped, whatever its values;
 *  - on a slice value with enough rows, a metric that is null for BOTH models (the data cannot define it:
 *    one outcome only, no protected attribute) is skipped;
 *  - otherwise a null the threshold needs (the challenger's value; the champion's too for a change
 *    threshold) fails closed — always so on 'all', and for a missing 'all' row or slice column.
 * Skipped gates are recorded (`skipped: true`, `passed: true`) and do not block. `maxInputDriftPsi` adds
 * one gate per input feature; with it set and no drift figures given, that gate fails closed.
 */
import { compareModels, GATE_METRICS, type EvalSet, type GateMetric, type MetricRow } from './compare.js';
import { parseGateSpec, type GateRule, type GateSpec, type GateSpecInput } from './spec.js';
import { swapSet, type SwapSet } from './swap.js';

export type GateKind = 'min' | 'max' | 'maxDrop' | 'maxRise' | 'maxPsi';

export interface GateResult {
  /** Human text: 'auc drop <= 0.01 (all)'. */
  gate: string;
  metric: string;
  /** 'all', `column=value`, or `feature=name` for input drift. */
  slice: string;
  kind: GateKind;
  /** True when the gate holds or was skipped. */
  passed: boolean;
  skipped: boolean;
  /** The challenger's value (for change thresholds too; the change is champion vs value). */
  value: number | null;
  champion: number | null;
  threshold: number;
  rows: number | null;
  /** A sentence with the figures. */
  reason: string;
}

export interface GateDecision {
  passed: boolean;
  action: 'promote' | 'shadow' | 'reject';
  results: GateResult[];
  swap: SwapSet | null;
  summary: string;
}

export interface GateExtra {
  /** PSI of each of the challenger's inputs between its training sample and recent decisions. */
  inputDrift?: { feature: string; psi: number }[];
  swap?: SwapSet;
}

const fmt = (v: number | null): string => (v === null ? 'undefined' : Number.isInteger(v) ? String(v) : v.toFixed(4));

function gateText(metric: string, kind: GateKind, threshold: number, slice: string): string {
  const op = kind === 'min' ? `${metric} >= ${threshold}` : kind === 'max' ? `${metric} <= ${threshold}`
    : kind === 'maxDrop' ? `${metric} drop <= ${threshold}` : kind === 'maxRise' ? `${metric} rise <= ${threshold}` : `input drift psi <= ${threshold}`;
  return `${op} (${slice})`;
}

function judge(rule: GateRule, kind: Exclude<GateKind, 'maxPsi'>, threshold: number, row: MetricRow | undefined, slice: string, minSliceRows: number): GateResult {
  const base = { gate: gateText(rule.metric, kind, threshold, slice), metric: rule.metric, slice, kind, threshold };
  if (!row) {
    return { ...base, passed: false, skipped: false, value: null, champion: null, rows: null, reason: `${rule.metric} was not evaluated on ${slice}; fails closed (compare the models with this metric and slice)` };
  }
  const r = { ...base, value: row.challenger, champion: row.champion, rows: row.rows };
  const change = kind === 'maxDrop' || kind === 'maxRise';
  if (slice !== 'all' && row.rows < minSliceRows) {
    return { ...r, passed: true, skipped: true, reason: `skipped: ${slice} has ${row.rows} rows, fewer than minSliceRows ${minSliceRows}` };
  }
  if (row.challenger === null || (change && row.champion === null)) {
    if (slice !== 'all' && row.challenger === null && row.champion === null) {
      return { ...r, passed: true, skipped: true, reason: `skipped: ${rule.metric} is undefined on ${slice} for both models (e.g. one outcome only)` };
    }
    const who = row.challenger === null ? 'the challenger' : 'the champion';
    return { ...r, passed: false, skipped: false, reason: `${rule.metric} is undefined for ${who} on ${slice} (${row.rows} rows); fails closed` };
  }
  const ch = row.challenger;
  let passed: boolean, reason: string;
  if (kind === 'min') { passed = ch >= threshold; reason = `challenger ${rule.metric} ${fmt(ch)} ${passed ? '>=' : '<'} ${threshold}`; }
  else if (kind === 'max') { passed = ch <= threshold; reason = `challenger ${rule.metric} ${fmt(ch)} ${passed ? '<=' : '>'} ${threshold}`; }
  else {
    const worse = kind === 'maxDrop' ? row.champion! - ch : ch - row.champion!;
    passed = worse <= threshold;
    reason = `challenger ${rule.metric} ${fmt(ch)} vs champion ${fmt(row.champion)}: ${kind === 'maxDrop' ? 'drop' : 'rise'} ${fmt(worse)} ${passed ? '<=' : '>'} ${threshold}`;
  }
  return { ...r, passed, skipped: false, reason: `${reason} on ${slice} (${row.rows} rows)` };
}

/**
 * The gates of `spec` applied to `rows` (from `compareModels`), plus the input-drift gate.
 * @example applyGates(compareModels(set, { slices: ['region'] }), spec, { swap: swapSet(set) }) // { passed: false, action: 'reject', summary: 'failed 1 of 12 gates: auc drop <= 0.01 (all) …' }
 */
export function applyGates(rows: MetricRow[], spec: GateSpec | GateSpecInput, extra: GateExtra = {}): GateDecision {
  const s = parseGateSpec(spec);
  const byKey = new Map(rows.map((r) => [`${r.metric}\u0000${r.slice}`, r]));
  const sliceValues = new Map<string, string[]>(s.slices.map((col) => [col, []]));
  for (const r of rows) {
    const col = r.slice === 'all' ? null : r.slice.slice(0, r.slice.indexOf('='));
    const vals = col === null ? undefined : sliceValues.get(col);
    if (vals && !vals.includes(r.slice)) vals.push(r.slice);
  }
  const results: GateResult[] = [];
  for (const rule of s.metrics) {
    const kinds = (['min', 'max', 'maxDrop', 'maxRise'] as const).filter((k) => rule[k] !== undefined);
    for (const kind of kinds) {
      const threshold = rule[kind]!;
      results.push(judge(rule, kind, threshold, byKey.get(`${rule.metric}\u0000all`), 'all', s.minSliceRows));
      if (!rule.perSlice) continue;
      for (const [col, slices] of sliceValues) {
        if (slices.length === 0) {
          results.push({ gate: gateText(rule.metric, kind, threshold, `${col}=*`), metric: rule.metric, slice: `${col}=*`, kind, threshold, passed: false, skipped: false,
            value: null, champion: null, rows: null, reason: `slice column '${col}' was not evaluated; fails closed (pass slices: ['${col}'] to compareModels)` });
          continue;
        }
        for (const slice of slices) results.push(judge(rule, kind, threshold, byKey.get(`${rule.metric}\u0000${slice}`), slice, s.minSliceRows));
      }
    }
  }
  if (s.maxInputDriftPsi !== undefined) {
    const max = s.maxInputDriftPsi;
    if (!extra.inputDrift) {
      results.push({ gate: gateText('psi', 'maxPsi', max, 'all'), metric: 'input_psi', slice: 'all', kind: 'maxPsi', threshold: max, passed: false, skipped: false,
        value: null, champion: null, rows: null, reason: "no input drift figures were given; fails closed (measure PSI of the challenger's inputs)" });
    }
    for (const d of extra.inputDrift ?? []) {
      const ok = Number.isFinite(d.psi) && d.psi <= max;
      const slice = `feature=${d.feature}`;
      results.push({ gate: gateText('psi', 'maxPsi', max, slice), metric: 'input_psi', slice, kind: 'maxPsi', threshold: max, passed: ok, skipped: false,
        value: Number.isFinite(d.psi) ? d.psi : null, champion: null, rows: null, reason: `PSI of input '${d.feature}' is ${fmt(Number.isFinite(d.psi) ? d.psi : null)} ${ok ? '<=' : 'above'} ${max}` });
    }
  }
  const failed = results.filter((r) => !r.passed);
  const skipped = results.filter((r) => r.skipped).length;
  const passed = failed.length === 0;
  const action = passed ? s.action.onPass : s.action.onFail;
  const counted = `${results.length} gates${skipped ? `, ${skipped} skipped` : ''}`;
  const summary = passed
    ? `passed all ${counted}; ${action}`
    : `failed ${failed.length} of ${counted}: ${failed.slice(0, 3).map((f) => `${f.gate}: ${f.reason}`).join('; ')}${failed.length > 3 ? `; and ${failed.length - 3} more` : ''}; ${action}`;
  return { passed, action, results, swap: extra.swap ?? null, summary };
}

/**
 * compareModels + swapSet + applyGates in one call, with the slices and minimum slice size of `spec`:
 * the evidence recorded with a decision.
 */
export function evaluateChallenger(set: EvalSet, spec: GateSpec | GateSpecInput, extra: { inputDrift?: { feature: string; psi: number }[] } = {}): GateDecision & { rows: MetricRow[] } {
  const s = parseGateSpec(spec);
  const metrics = [...new Set(s.metrics.map((m) => m.metric))] as GateMetric[];
  const all = Object.keys(GATE_METRICS) as GateMetric[];
  const rows = compareModels(set, { slices: s.slices, minSliceRows: s.minSliceRows, metrics: all.filter((m) => metrics.includes(m) || m === 'approvalRate' || m === 'badRate') });
  const swap = swapSet(set);
  return { ...applyGates(rows, s, { ...extra, swap }), rows };
}
