/**
 * Realised performance by cohort, as of a time. A cohort is the UTC month ('YYYY-MM') of the decision.
 * Nothing later than `asOf` is read: decisions after it are dropped, a loan originated after it is not
 * originated yet, a label known after it is unknown, a bad event after it has not happened yet. So a
 * report as of a past date shows exactly what could be seen on that date.
 *
 * Vintage curves: for months on book m = 1, 2, ..., the share of a cohort's loans with a bad event within
 * m calendar months of origination, among the loans observable for m months (originated + m months <=
 * asOf). The denominator shrinks as m grows, so each point says how many loans it rests on.
 */
import { auc, calibrationTable, expectedCalibrationError, ks, type CalibrationBin, type CalibrationStrategy } from '../../eval/index.js';
import { cbpe, type CbpeEstimate } from './cbpe.js';
import { badOption, checkIntOption, checkTime } from './check.js';
import type { JoinedDecision } from './join.js';

/** 'YYYY-MM' of a time in epoch ms, UTC. */
export function monthOf(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** `ms` plus `months` calendar months, UTC; the day is clamped to the month's length (Jan 31 + 1 = Feb 28/29). */
export function addMonthsUtc(ms: number, months: number): number {
  const d = new Date(ms);
  const y = d.getUTCFullYear(), m = d.getUTCMonth() + months;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

export interface CohortPerformance {
  /** 'YYYY-MM' of the decision time, UTC. */
  cohort: string;
  /** Decisions made in the month (up to asOf). */
  decisions: number;
  /** Of them, those with a loan originated by asOf. */
  originated: number;
  /** Of those, the ones whose label was known by asOf. */
  labelled: number;
  /** labelled / originated (0 when nothing was originated). */
  maturity: number;
  /** Observed bad rate among the labelled; null when none is labelled. */
  badRate: number | null;
  /** AUC, KS, ECE and the calibration table over the labelled rows; null below `minLabelled` or with one class. */
  auc: number | null;
  ks: number | null;
  /** Mean pd of the labelled rows (compare with badRate); null when none is labelled. */
  meanPd: number | null;
  ece: number | null;
  calibration: CalibrationBin[] | null;
  /** Label-free estimate (CBPE) from the pd of every originated loan, labelled or not; null when none. */
  estimate: CbpeEstimate | null;
}

export interface CohortOptions {
  asOf: number;
  /** Fewer labelled rows than this (or only one class): metrics are null. Default 30. */
  minLabelled?: number;
  /** Calibration bins (default 10) and strategy (default 'uniform'), as in `calibrationTable`. */
  bins?: number;
  strategy?: CalibrationStrategy;
}

/** The label of a loan as known at `asOf`, or null. */
export function labelAsOf(row: JoinedDecision, asOf: number): 0 | 1 | null {
  const o = row.outcome;
  if (o === null || o.originatedAt > asOf || o.label === null) return null;
  return o.labelAvailableAt !== null && o.labelAvailableAt <= asOf ? o.label : null;
}

function byCohort(rows: readonly JoinedDecision[], asOf: number, key: (r: JoinedDecision) => number | null): Map<string, JoinedDecision[]> {
  const groups = new Map<string, JoinedDecision[]>();
  for (const r of rows) {
    const t = key(r);
    if (t === null || r.time > asOf) continue;
    const c = monthOf(t);
    let g = groups.get(c);
    if (!g) groups.set(c, (g = []));
    g.push(r);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Realised performance per decision month, as of `asOf`, with each cohort's maturity. */
export function cohortPerformance(rows: readonly JoinedDecision[], opts: CohortOptions): CohortPerformance[] {
  const FN = 'cohortPerformance';
  checkTime(FN, 'asOf', opts?.asOf);
  const { asOf } = opts;
  const minLabelled = opts.minLabelled ?? 30;
  checkIntOption(FN, 'minLabelled', minLabelled, 1, Number.MAX_SAFE_INTEGER);
  const calOpts = { bins: opts.bins ?? 10, strategy: opts.strategy ?? 'uniform' };
  const out: CohortPerformance[] = [];
  for (const [cohort, group] of byCohort(rows, asOf, (r) => r.time)) {
    const y: number[] = [], pd: number[] = [], originatedPd: number[] = [];
    for (const r of group) {
      if (r.outcome === null || r.outcome.originatedAt > asOf) continue;
      originatedPd.push(r.pd);
      const label = labelAsOf(r, asOf);
      if (label !== null) { y.push(label); pd.push(r.pd); }
    }
    const bads = y.reduce((s, v) => s + v, 0);
    const enough = y.length >= minLabelled && bads > 0 && bads < y.length;
    out.push({
      cohort, decisions: group.length, originated: originatedPd.length, labelled: y.length,
      maturity: originatedPd.length > 0 ? y.length / originatedPd.length : 0,
      badRate: y.length > 0 ? bads / y.length : null,
      auc: enough ? auc(y, pd) : null,
      ks: enough ? ks(y, pd).statistic : null,
      meanPd: pd.length > 0 ? pd.reduce((s, v) => s + v, 0) / pd.length : null,
      ece: enough ? expectedCalibrationError(y, pd, calOpts) : null,
      calibration: enough ? calibrationTable(y, pd, calOpts).bins : null,
      estimate: originatedPd.length > 0 ? cbpe(originatedPd) : null,
    });
  }
  return out;
}

export interface VintagePoint {
  monthsOnBook: number;
  /** Share of the observed loans with a bad event within `monthsOnBook` months of origination. */
  cumulativeBadRate: number;
  /** Loans with at least `monthsOnBook` months on book as of asOf. */
  observed: number;
}

export interface VintageCurve {
  cohort: string;
  /** Loans of the cohort originated by asOf. */
  originated: number;
  /** One point per month on book that at least one loan has reached, 1..maxMonths. */
  points: VintagePoint[];
}

export interface VintageOptions {
  asOf: number;
  /** Longest months on book (default 12). */
  maxMonths?: number;
  /** Cohort by the decision's month (default, as cohortPerformance) or the loan's origination month. */
  cohortBy?: 'decision' | 'origination';
}

/**
 * Cumulative bad rate by months on book (bad event within m months of origination), per cohort,
 * counting only loans observable for m months as of asOf. The bad event is `badAt`; a loan labelled 1
 * (known by asOf) without a `badAt` counts as bad at its `labelAvailableAt`.
 */
export function vintageCurves(rows: readonly JoinedDecision[], opts: VintageOptions): VintageCurve[] {
  const FN = 'vintageCurves';
  checkTime(FN, 'asOf', opts?.asOf);
  const { asOf } = opts;
  const maxMonths = opts.maxMonths ?? 12;
  checkIntOption(FN, 'maxMonths', maxMonths, 1, 1200);
  const cohortBy = opts.cohortBy ?? 'decision';
  if (cohortBy !== 'decision' && cohortBy !== 'origination') badOption(FN, 'cohortBy', `cohortBy '${String(cohortBy)}' is unknown; use 'decision' or 'origination'`);
  const key = (r: JoinedDecision): number | null => (r.outcome === null || r.outcome.originatedAt > asOf ? null : cohortBy === 'decision' ? r.time : r.outcome.originatedAt);
  const out: VintageCurve[] = [];
  for (const [cohort, group] of byCohort(rows, asOf, key)) {
    const observed = new Float64Array(maxMonths + 1), bad = new Float64Array(maxMonths + 1);
    for (const r of group) {
      const o = r.outcome!;
      const badAt = o.badAt ?? (labelAsOf(r, asOf) === 1 ? o.labelAvailableAt : null);
      for (let m = 1; m <= maxMonths; m++) {
        const horizon = addMonthsUtc(o.originatedAt, m);
        if (horizon > asOf) break;
        observed[m]!++;
        if (badAt !== null && badAt <= horizon) bad[m]!++;
      }
    }
    const points: VintagePoint[] = [];
    for (let m = 1; m <= maxMonths && observed[m]! > 0; m++) points.push({ monthsOnBook: m, cumulativeBadRate: bad[m]! / observed[m]!, observed: observed[m]! });
    out.push({ cohort, originated: group.length, points });
  }
  return out;
}
