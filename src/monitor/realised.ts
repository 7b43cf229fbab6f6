/**
 * A model's performance in production, from the decision log and the outcomes table: decisions joined
 * to outcomes by entity and time (performance/join.ts), by decision-month cohort as of a time (no label
 * known after it is used), the vintage curves, CBPE per cohort, and, when asked, the shift-aware estimate
 * per cohort (the deciding version's labelled reference sample reweighted to the cohort's inputs).
 *
 * Outcomes default to the model's own spine: its key, its time (origination), its label and the label's
 * `availableAt`; `monitor.outcomes.<model>` in the config can name another table or the time of the bad
 * event (`badAt`, for the vintage curves).
 */
import { KilnError } from '../core/errors.js';
import { quoteIdent, quoteLiteral, type Project } from '../store/index.js';
import { labelSql } from '../pipelines/index.js';
import {
  cohortPerformance, densityRatioWeights, joinOutcomes, labelAsOf, monthOf, shiftAwareEstimate, vintageCurves,
  type CohortPerformance, type JoinedDecision, type Outcome, type ScoredDecision, type VintageCurve,
} from './performance/index.js';
import { modelDecisions, versionReference } from './status.js';
import { decisionLogOf, readDecisions, type DecisionRecord } from '../serve/index.js';

export interface OutcomeSource {
  readonly table: string;
  readonly key: string;
  readonly time: string;
  /** SQL of the 0/1 label (NULL while unknown). */
  readonly label: string;
  readonly availableAt: string | null;
  readonly badAt: string | null;
  readonly maxLagDays: number;
}

/** Where a model's outcomes are: the config's monitor.outcomes.<model>, else the model's spine and label. */
export function outcomeSource(project: Project, model: string): OutcomeSource {
  const spec = project.config.models[model];
  if (!spec) throw new KilnError('MODEL_NOT_FOUND', `no model '${model}' in the config`, { path: ['model'] });
  const o = project.config.monitor?.outcomes?.[model] ?? {};
  const key = o.key ?? spec.spine.key;
  const time = o.time ?? spec.spine.timestamp;
  if (!key || !time) {
    throw new KilnError('CONFIG_INVALID', `model '${model}': monitoring joins decisions to outcomes by entity and time; give monitor.outcomes.${model}.key and .time (the spine has ${key ? 'no timestamp' : 'no key'})`, { path: ['monitor', 'outcomes', model] });
  }
  return {
    table: o.table ?? spec.spine.table, key, time,
    label: o.label ? quoteIdent(o.label) : labelSql(spec),
    availableAt: o.availableAt ?? spec.label.availableAt ?? null,
    badAt: o.badAt ?? null,
    maxLagDays: o.maxLagDays ?? 90,
  };
}

/** The outcomes of the entities in `entityIds` (all when absent). */
export async function readOutcomes(project: Project, src: OutcomeSource, entityIds?: readonly string[]): Promise<Outcome[]> {
  if (entityIds !== undefined && entityIds.length === 0) return [];
  const only = entityIds === undefined ? '' : ` AND CAST(${quoteIdent(src.key)} AS VARCHAR) IN (${entityIds.map(quoteLiteral).join(', ')})`;
  const ms = (c: string | null): string => (c ? `epoch_ms(CAST(${quoteIdent(c)} AS TIMESTAMP))::DOUBLE` : 'NULL::DOUBLE');
  const rows = await project.offline.all<{ k: string; t: number; y: number | null; av: number | null; bad: number | null }>(
    `SELECT CAST(${quoteIdent(src.key)} AS VARCHAR) AS k, ${ms(src.time)} AS t, CAST(${src.label} AS INTEGER) AS y, ${ms(src.availableAt)} AS av, ${src.badAt ? `CASE WHEN CAST(${src.label} AS INTEGER) = 1 THEN ${ms(src.badAt)} END` : 'NULL::DOUBLE'} AS bad
     FROM ${quoteIdent(src.table)} WHERE ${quoteIdent(src.time)} IS NOT NULL${only}`);
  return rows.map((r) => ({
    entityId: r.k, originatedAt: Number(r.t), label: r.y === null ? null : (Number(r.y) ? 1 : 0),
    labelAvailableAt: r.av === null ? null : Number(r.av), badAt: r.bad === null ? null : Number(r.bad),
  }));
}

export interface CohortEstimate {
  readonly cohort: string;
  readonly version: number;
  readonly rows: number;
  readonly classifierAuc: number;
  readonly effectiveSampleSize: number;
  readonly auc: number;
  readonly ks: number;
  readonly badRate: number;
}

export interface RealisedPerformance {
  readonly model: string;
  readonly asOf: string;
  readonly decisions: number;
  readonly matched: number;
  readonly cohorts: CohortPerformance[];
  readonly vintages: VintageCurve[];
  /** Shift-aware estimates per cohort (with `shiftAware`), against the deciding version's reference. */
  readonly shiftAware: CohortEstimate[];
}

function scored(r: DecisionRecord): ScoredDecision | null {
  if (r.entityId === null) return null;
  return { id: r.id, entityId: r.entityId, time: Date.parse(r.time), pd: r.score.calibrated ?? r.score.raw, version: r.version };
}

/** Decisions of one cohort and version as model columns (the reference sample's inputs, in order). */
function columnsOf(recs: readonly DecisionRecord[], inputs: readonly string[], categories: Readonly<Record<string, string[]>>): Float64Array[] {
  return inputs.map((name) => {
    const dict = categories[name];
    const index = dict ? new Map(dict.map((c, i) => [c, i])) : null;
    return Float64Array.from(recs, (r) => {
      const v = r.features[name];
      if (v === null || v === undefined) return NaN;
      if (index) return index.get(String(v)) ?? NaN;
      return typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
    });
  });
}

export async function realisedPerformance(project: Project, model: string, opts: { asOf?: number; since?: number; until?: number; shiftAware?: boolean; seed?: number } = {}): Promise<RealisedPerformance> {
  const asOf = opts.asOf ?? Date.now();
  const records = await modelDecisions(project, model, { ...(opts.since !== undefined ? { since: opts.since } : {}), ...(opts.until !== undefined ? { until: opts.until } : {}) });
  const src = outcomeSource(project, model);
  const outcomes = await readOutcomes(project, src);
  const decisions = records.map(scored).filter((d): d is ScoredDecision => d !== null && d.time <= asOf);
  const joined: JoinedDecision[] = joinOutcomes(decisions, outcomes, { maxLagMs: src.maxLagDays * 86_400_000 });
  const shift: CohortEstimate[] = [];
  if (opts.shiftAware) {
    const groups = new Map<string, DecisionRecord[]>();
    for (const r of records) {
      if (Date.parse(r.time) > asOf) continue;
      const k = `${monthOf(Date.parse(r.time))}|${r.version}`;
      const g = groups.get(k);
      if (g) g.push(r); else groups.set(k, [r]);
    }
    const refs = new Map<number, ReturnType<typeof versionReference>>();
    for (const [k, recs] of groups) {
      const [cohort, v] = k.split('|');
      const version = Number(v);
      if (!refs.has(version)) refs.set(version, versionReference(project, model, version));
      const ref = refs.get(version)!;
      if (!ref.sample || recs.length < 50) continue;
      const categories = ref.categories;
      const refCols = ref.sample.columns.map((col) => Float64Array.from(col, (x) => (x === null ? NaN : x)));
      const cur = columnsOf(recs, ref.sample.inputs, categories);
      const ratio = await densityRatioWeights(refCols, cur, { seed: opts.seed ?? 7 });
      const est = shiftAwareEstimate({ label: ref.sample.label, pd: ref.sample.calibrated ?? ref.sample.probability }, ratio.weights);
      shift.push({ cohort: cohort!, version, rows: recs.length, classifierAuc: ratio.classifierAuc, effectiveSampleSize: ratio.effectiveSampleSize, auc: est.auc, ks: est.ks, badRate: est.badRate });
    }
    shift.sort((a, b) => (a.cohort < b.cohort ? -1 : a.cohort > b.cohort ? 1 : a.version - b.version));
  }
  return {
    model, asOf: new Date(asOf).toISOString(), decisions: decisions.length, matched: joined.filter((j) => j.outcome).length,
    cohorts: cohortPerformance(joined, { asOf }),
    vintages: vintageCurves(joined, { asOf }),
    shiftAware: shift,
  };
}

/** What became of one decision: the outcome it joins to (as `realisedPerformance` joins them) and its label as of a time. */
export interface DecisionOutcome {
  /**
   * 'no-entity': scored from a full feature row (nothing to join); 'no-outcome': no outcome of the entity
   * originated within `maxLagDays` after it (yet), or a later decision of the entity took it; 'pending':
   * originated, label not known yet; 'matured': the label is known.
   */
  readonly status: 'no-entity' | 'no-outcome' | 'pending' | 'matured';
  readonly source: OutcomeSource;
  readonly outcome: Outcome | null;
  /** The label as known at `asOf` (null unless matured). */
  readonly label: 0 | 1 | null;
  readonly asOf: string;
}

/**
 * The outcome of one decision as of `asOf` (default now), by the same join as realised performance: the
 * first outcome of its entity originated at or after it and within the lag, unless a later decision of
 * the same model and entity came before that outcome. Reads only this entity's outcomes and the decisions
 * between the decision and its candidate outcomes.
 */
export async function decisionOutcome(project: Project, record: DecisionRecord, asOf: number = Date.now()): Promise<DecisionOutcome> {
  const src = outcomeSource(project, record.model);
  const at = new Date(asOf).toISOString();
  if (record.entityId === null) return { status: 'no-entity', source: src, outcome: null, label: null, asOf: at };
  const entity = String(record.entityId);
  const t = Date.parse(record.time);
  const maxLagMs = src.maxLagDays * 86_400_000;
  const outcomes = (await readOutcomes(project, src, [entity])).filter((o) => o.originatedAt >= t && o.originatedAt - t <= maxLagMs && o.originatedAt <= asOf);
  if (!outcomes.length) return { status: 'no-outcome', source: src, outcome: null, label: null, asOf: at };
  // Later decisions of the entity up to the last candidate may take an outcome first; earlier ones never do.
  const last = Math.max(...outcomes.map((o) => o.originatedAt));
  const rivals: ScoredDecision[] = [];
  for await (const r of readDecisions(decisionLogOf(project), { model: record.model, entityId: entity, since: t, until: last + 1 })) {
    if (r.id !== record.id && Date.parse(r.time) <= last) rivals.push({ id: r.id, entityId: entity, time: Date.parse(r.time), pd: r.score.calibrated ?? r.score.raw, version: r.version });
  }
  const self: ScoredDecision = { id: record.id, entityId: entity, time: t, pd: record.score.calibrated ?? record.score.raw, version: record.version };
  const joined = joinOutcomes([self, ...rivals], outcomes, { maxLagMs })[0]!;
  if (!joined.outcome) return { status: 'no-outcome', source: src, outcome: null, label: null, asOf: at };
  const label = labelAsOf(joined, asOf);
  return { status: label === null ? 'pending' : 'matured', source: src, outcome: joined.outcome, label, asOf: at };
}
