/**
 * What the simulated loop achieved, measured on the labels matured within the world's horizon:
 * per decision-month cohort, the AUC of the version that decided and of the first (stale) champion on
 * the same applicants, and CBPE's estimate made without labels; then the target: on cohorts
 * decided after the first promotion that follows the shock, the share of the AUC the stale champion lost
 * (against its pre-shock level) that the promoted models win back; detection and promotion delays.
 */
import { auc } from '../../eval/index.js';
import { joinOutcomes, modelDecisions, outcomeSource, readOutcomes, realisedPerformance } from '../../monitor/index.js';
import { versionBundle, type ScoreRow } from '../../pipelines/index.js';
import type { Project } from '../../store/index.js';
import type { LoopSimResult } from './run.js';

export interface CohortOutcome {
  month: string;
  labelled: number;
  bad: number;
  /** AUC of the versions that decided the cohort, and of the first champion on the same rows. */
  decided: number | null;
  stale: number | null;
  /** CBPE's label-free estimate for the month, made at the time. */
  estimated: number | null;
  /** The shift-aware estimate (the deciding version's reference reweighted to the month's inputs). */
  shiftAware: number | null;
  /** 'pre-shock', 'post-shock', 'post-promotion'. */
  phase: string;
}

export interface LoopSimOutcome {
  cohorts: CohortOutcome[];
  preShockAuc: number | null;
  /** Pooled over the cohorts decided after the first post-shock promotion. */
  stalePostAuc: number | null;
  promotedPostAuc: number | null;
  /** (promoted - stale) / (pre-shock - stale); the target is >= 0.8. */
  recovery: number | null;
  postRows: number;
  /** Months from the shock to the first score-drift alert (PSI >= 0.1) on the month's decisions. */
  detectionDelayMonths: number | null;
  promotionDelayMonths: number | null;
  firstAlert: string | null;
  firstPromotion: string | null;
  /** CBPE's mean absolute error against the realised AUC, before and after the shock. */
  cbpeErrorPre: number | null;
  cbpeErrorPost: number | null;
  /** The same for the shift-aware estimate. */
  shiftErrorPre: number | null;
  shiftErrorPost: number | null;
}

const MIN_LABELLED = 30;

function aucOrNull(y: number[], s: number[]): number | null {
  const pos = y.reduce((a, b) => a + b, 0);
  if (y.length < MIN_LABELLED || pos === 0 || pos === y.length) return null;
  return auc(Float64Array.from(y), Float64Array.from(s));
}

const mean = (a: number[]): number | null => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);

export async function loopSimOutcome(project: Project, r: LoopSimResult, horizonEnd: number): Promise<LoopSimOutcome> {
  const records = await modelDecisions(project, r.model);
  // label-free estimates per cohort, as monitoring makes them (realised.ts)
  const perf = await realisedPerformance(project, r.model, { asOf: horizonEnd, shiftAware: true });
  const shiftBy = new Map(perf.shiftAware.map((e) => [e.cohort, e.auc]));
  const outcomes = await readOutcomes(project, outcomeSource(project, r.model));
  project.releaseOffline();
  const joined = joinOutcomes(records.filter((x) => x.entityId !== null).map((x) => ({ id: x.id, entityId: x.entityId!, time: Date.parse(x.time), pd: x.score.calibrated ?? x.score.raw, version: x.version })), outcomes);
  const byId = new Map(records.map((x) => [x.id, x]));
  const stale = versionBundle(project.registry.getVersion(r.model, r.initialVersion));
  const labelled = joined.filter((j) => j.outcome && j.outcome.label !== null && (j.outcome.labelAvailableAt ?? Infinity) <= horizonEnd);
  const staleScore = labelled.length ? stale.score(labelled.map((j) => byId.get(j.id)!.features as ScoreRow)) : null;
  const staleScores = staleScore ? (staleScore.calibrated ?? staleScore.probability) : new Float64Array(0);
  // The promotion that answers the shock: the first of a challenger judged on outcomes after it (its test
  // window starts at or after the shock month); earlier promotions were decided on pre-shock outcomes.
  const promotion = r.timeline.find((m) => r.shock !== null && m.month >= r.shock && m.run?.outcome === 'promoted' && (m.run.split?.testFrom.slice(0, 7) ?? '') >= r.shock) ?? null;
  // Detection: the first month from the shock on whose decisions' score PSI reached the warning band.
  const alert = r.timeline.find((m) => r.shock !== null && m.month >= r.shock && m.scoreDrift > 0) ?? null;
  const phase = (month: string): string => (r.shock === null || month < r.shock ? 'pre-shock' : promotion && month > promotion.month ? 'post-promotion' : 'post-shock');
  const groups = new Map<string, { y: number[]; decided: number[]; stale: number[] }>();
  labelled.forEach((j, i) => {
    const month = new Date(j.time).toISOString().slice(0, 7);
    let g = groups.get(month);
    if (!g) groups.set(month, (g = { y: [], decided: [], stale: [] }));
    g.y.push(j.outcome!.label!);
    g.decided.push(j.pd);
    g.stale.push(staleScores[i]!);
  });
  const cohorts: CohortOutcome[] = r.timeline.map((m) => {
    const g = groups.get(m.month) ?? { y: [], decided: [], stale: [] };
    return { month: m.month, labelled: g.y.length, bad: g.y.reduce((a, b) => a + b, 0), decided: aucOrNull(g.y, g.decided), stale: aucOrNull(g.y, g.stale), estimated: m.cbpeAuc, shiftAware: shiftBy.get(m.month) ?? null, phase: phase(m.month) };
  });
  const pool = (which: string, key: 'decided' | 'stale'): { auc: number | null; rows: number } => {
    const y: number[] = [];
    const s: number[] = [];
    for (const c of cohorts) if (c.phase === which) { const g = groups.get(c.month); if (g) { y.push(...g.y); s.push(...g[key]); } }
    return { auc: aucOrNull(y, s), rows: y.length };
  };
  const pre = pool('pre-shock', 'stale').auc;
  const post = pool('post-promotion', 'decided');
  const stalePost = pool('post-promotion', 'stale').auc;
  const recovery = pre !== null && post.auc !== null && stalePost !== null && pre - stalePost > 1e-9 ? (post.auc - stalePost) / (pre - stalePost) : null;
  const monthIndex = (month: string): number => { const [y, mo] = month.split('-').map(Number); return y! * 12 + mo! - 1; };
  const err = (which: (p: string) => boolean, key: 'estimated' | 'shiftAware' = 'estimated'): number | null =>
    mean(cohorts.filter((c) => which(c.phase) && c.decided !== null && c[key] !== null).map((c) => Math.abs(c[key]! - c.decided!)));
  return {
    cohorts, preShockAuc: pre, stalePostAuc: stalePost, promotedPostAuc: post.auc, recovery, postRows: post.rows,
    detectionDelayMonths: alert && r.shock ? monthIndex(alert.month) - monthIndex(r.shock) : null,
    promotionDelayMonths: promotion && r.shock ? monthIndex(promotion.month) - monthIndex(r.shock) : null,
    firstAlert: alert?.month ?? null, firstPromotion: promotion?.month ?? null,
    cbpeErrorPre: err((p) => p === 'pre-shock'), cbpeErrorPost: err((p) => p !== 'pre-shock'),
    shiftErrorPre: err((p) => p === 'pre-shock', 'shiftAware'), shiftErrorPost: err((p) => p !== 'pre-shock', 'shiftAware'),
  };
}
