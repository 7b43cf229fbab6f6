/**
 * Candidate features over one source, the way a feature engineer would list them: counts over a ladder
 * of windows, aggregations of numeric columns, counts and shares per categorical value, recency, trends
 * (a short window over a long one, scaled so a steady rate reads 1) and distinct counts of id-like columns.
 *
 * A candidate is a plan (plain data); `planDefinition` turns it into a definition with kiln's own builders
 * and `emit.ts` writes the same builder call as TypeScript, so what is evaluated is what is written.
 * Families are interleaved round-robin so that a small budget still samples every family.
 */
import type { SourceSpec } from '../features/index.js';

export const WINDOW_LADDER = ['90d', '30d', '365d', '7d', '180d'] as const;
export const AGG_OPS = ['mean', 'stddev', 'max', 'sum', 'min'] as const;
export const TRENDS = [['30d', '90d'], ['7d', '30d'], ['90d', '365d']] as const;
export const FAMILIES = ['count', 'category', 'share', 'aggregate', 'recency', 'trend', 'distinct', 'attribute'] as const;
export type CandidateFamily = (typeof FAMILIES)[number];

export type AggOp = 'count' | 'sum' | 'mean' | 'min' | 'max' | 'stddev' | 'countDistinct' | 'timeSinceLast' | 'attribute';

/** One aggregate over the source (a candidate itself, or the input of a share or a trend). */
export interface AggregatePlan {
  readonly type: 'aggregate';
  readonly name: string;
  readonly op: AggOp;
  readonly column: string | null;
  /** Canonical window text; 'lifetime' for recency and attributes. */
  readonly window: string;
  readonly where: { readonly column: string; readonly value: string | number | boolean } | null;
}

/** `num / (den / scale)`: a share (scale 1) or a trend (scale = long window / short window). */
export interface RatioPlan {
  readonly type: 'ratio';
  readonly name: string;
  readonly num: AggregatePlan;
  readonly den: AggregatePlan;
  readonly scale: number;
}

export type Plan = AggregatePlan | RatioPlan;

export interface Candidate {
  readonly name: string;
  readonly family: CandidateFamily;
  /** What it computes, in words, for the report. */
  readonly text: string;
  readonly plan: Plan;
}

/** How discovery reads the source's columns (from its declared types and the data). */
export interface ColumnProfile {
  readonly numeric: readonly string[];
  /** Categorical columns with their values in priority order (most entity-specific first). */
  readonly categorical: readonly { readonly column: string; readonly values: readonly (string | number | boolean)[] }[];
  readonly idLike: readonly string[];
}

const slug = (v: string | number | boolean): string => String(v).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'blank';
const windowDays = (w: string): number => Number(w.replace(/d$/, ''));

/** Splits the declared columns into numeric, categorical and id-like ones (values are filled in by the caller). */
export function classifyColumns(source: SourceSpec): { numeric: string[]; categorical: string[]; idLike: string[] } {
  const numeric: string[] = [], categorical: string[] = [], idLike: string[] = [];
  for (const [col, type] of Object.entries(source.columns)) {
    if (col === source.key || col === source.timestamp || col === source.availableAt) continue;
    const isId = col === source.tiebreak || /(^|_)id$/i.test(col);
    if (isId) { if (col !== source.tiebreak) idLike.push(col); continue; }
    if (type === 'double' || type === 'integer' || type === 'bigint') numeric.push(col);
    else if (type === 'varchar' || type === 'boolean') categorical.push(col);
  }
  return { numeric, categorical, idLike };
}

/** Every candidate of the source, families interleaved (the order `--budget` takes them in). */
export function generateCandidates(source: SourceSpec, profile: ColumnProfile): Candidate[] {
  const s = source.name;
  const agg = (name: string, op: AggOp, column: string | null, window: string, where: AggregatePlan['where'] = null): AggregatePlan =>
    ({ type: 'aggregate', name, op, column, window, where });
  const countOf = (w: string): AggregatePlan => agg(`${s}_count_${w}`, 'count', null, w);
  const families = new Map<CandidateFamily, Candidate[]>(FAMILIES.map((f) => [f, []]));
  const add = (family: CandidateFamily, text: string, plan: Plan): void => { families.get(family)!.push({ name: plan.name, family, text, plan }); };

  if (source.type === 'snapshot') {
    for (const col of [...profile.numeric, ...profile.categorical.map((c) => c.column)]) {
      add('attribute', `${col} as of the spine time`, agg(`${s}_${col}`, 'attribute', col, 'lifetime'));
    }
    return interleave(families);
  }
  for (const w of WINDOW_LADDER) add('count', `events in ${w}`, countOf(w));
  for (const w of ['90d', '30d', '365d']) {
    for (const { column, values } of profile.categorical) {
      for (const v of values) {
        const c = agg(`${s}_count_${w}_${column}_${slug(v)}`, 'count', null, w, { column, value: v });
        add('category', `events with ${column} = ${String(v)} in ${w}`, c);
        add('share', `share of events with ${column} = ${String(v)} in ${w}`, { type: 'ratio', name: `${s}_share_${w}_${column}_${slug(v)}`, num: c, den: countOf(w), scale: 1 });
      }
    }
  }
  for (const w of WINDOW_LADDER) {
    for (const col of profile.numeric) for (const op of AGG_OPS) add('aggregate', `${op} of ${col} over ${w}`, agg(`${s}_${col}_${op}_${w}`, op, col, w));
  }
  add('recency', 'days since the latest event', agg(`${s}_days_since_last`, 'timeSinceLast', null, 'lifetime'));
  for (const { column, values } of profile.categorical) {
    for (const v of values) add('recency', `days since the latest event with ${column} = ${String(v)}`, agg(`${s}_days_since_${column}_${slug(v)}`, 'timeSinceLast', null, 'lifetime', { column, value: v }));
  }
  for (const [a, b] of TRENDS) {
    const scale = windowDays(b) / windowDays(a);
    add('trend', `events in ${a} over the ${b} rate`, { type: 'ratio', name: `${s}_count_trend_${a}_${b}`, num: countOf(a), den: countOf(b), scale });
    for (const col of profile.numeric) {
      add('trend', `sum of ${col} in ${a} over the ${b} rate`, {
        type: 'ratio', name: `${s}_${col}_sum_trend_${a}_${b}`, num: agg(`${s}_${col}_sum_${a}`, 'sum', col, a), den: agg(`${s}_${col}_sum_${b}`, 'sum', col, b), scale,
      });
    }
  }
  for (const w of ['90d', '30d', '365d']) for (const col of profile.idLike) add('distinct', `distinct ${col} in ${w}`, agg(`${s}_${col}_distinct_${w}`, 'countDistinct', col, w));
  return interleave(families);
}

function interleave(families: Map<CandidateFamily, Candidate[]>): Candidate[] {
  const lists = [...families.values()];
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (let i = 0; lists.some((l) => i < l.length); i++) {
    for (const l of lists) {
      const c = l[i];
      if (c && !seen.has(c.name)) { seen.add(c.name); out.push(c); }
    }
  }
  return out;
}

/** The aggregates a plan reads, itself included for an aggregate. */
export function planInputs(plan: Plan): AggregatePlan[] {
  return plan.type === 'aggregate' ? [plan] : [plan.num, plan.den];
}

/** A key that is equal for equal meanings whatever the names: how candidates equal to current features are skipped. */
export function planKey(plan: Plan): string {
  if (plan.type === 'ratio') return `ratio(${planKey(plan.num)},${planKey(plan.den)},${plan.scale})`;
  const where = plan.where ? `${plan.where.column}=${JSON.stringify(plan.where.value)}` : '';
  return `${plan.op}(${plan.column ?? ''},${plan.window},${where})`;
}
