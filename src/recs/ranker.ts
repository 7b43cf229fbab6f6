/**
 * Retrieve-then-rank. Candidates for a user are the union of several generators' top lists (taken
 * round-robin by rank, `candidates` in all, seen items excluded); a GBDT with objective `rank:ndcg`
 * orders them from the features of features.ts; rules apply last (at most `maxPerCategory` items per
 * category of an item attribute).
 *
 * Training never reads the test split: a validation split is carved out of train per user (stratified,
 * seeded). The generators are fitted on train minus validation, each user's validation items label their
 * candidates (1 = held out, 0 = not), and the ranker is fitted on those query groups, with early
 * stopping on a seeded share of the users. The generators are then refitted on the whole of train, and
 * the model ranks with them.
 */
import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { train as trainGbdt, type Booster, type GbdtParams, type IterationInfo } from '../gbdt/index.js';
import { FeatureBuilder, type FeatureOptions } from './features.js';
import { itemCounts, type CandidateGenerator, type Candidates } from './generator.js';
import { checkGeneratorSpec, fitGenerator, generatorName, type GeneratorContext, type GeneratorSpec } from './generators.js';
import { baseMargins, concatRows, fitEach, pickGroups, trainingRows, type RankingRows } from './ranker-rows.js';
import { beforeImpressions, checkImpressions, impressionRows, type ImpressionLog } from './impressions.js';
import { checkInteractions, throwIssues, type EntityAttributes, type InteractionTable, type Issue } from './table.js';

export interface DiversityRule {
  /** A categorical item attribute. */
  column: string;
  maxPerCategory: number;
}

export interface RetrieveThenRankOptions {
  generators: GeneratorSpec[];
  /** Candidates per user (default 200). */
  candidates?: number;
  /** How deep each generator's list is read (default: candidates). */
  perGenerator?: number;
  /**
   * How the ranker's rows are labelled: `ratio` of each user's train rows held out (default 0.25), or,
   * with `folds` = k >= 2, every one of k per-user folds held out in turn (k fits; more rows); and the seed.
   */
  validation?: { ratio?: number; folds?: number; seed?: number };
  /** GBDT parameters over RANKER_DEFAULTS (objective stays rank:ndcg). */
  ranker?: GbdtParams;
  /** Share of the labelled users whose groups drive early stopping (default 0.2; 0 = none). */
  earlyStoppingShare?: number;
  /**
   * After early stopping, refit the ranker on every group (default true), for the round whose
   * early-stopping metric averaged over the 5 rounds either side is highest (`smoothedBest`).
   */
  refit?: boolean;
  diversity?: DiversityRule;
  /**
   * The ranker's starting score: `scale` x the named generator's standardised score (its `.z` feature),
   * so the trees learn corrections to a strong retrieval order instead of rebuilding it from binned
   * features (default: the first generator, scale 1; null = start from zero).
   */
  base?: { generator: string; scale?: number } | null;
  features?: FeatureOptions;
  seed?: number;
  /** After each boosting round of the ranker (metrics on the early-stopping groups in `valid`). */
  onRound?: (info: IterationInfo) => void;
  /**
   * Where the ranker's query groups come from with `data.impressions`: 'both' (default), 'impressions'
   * alone, or 'held-out' alone (the impressions ignored). Without impressions: held-out.
   */
  rankerRows?: 'both' | 'impressions' | 'held-out';
  /** Progress lines: each generator fitted (which part, how long), the ranker's rows, the final refit. */
  log?: (line: string) => void;
}

export interface RecsData {
  train: InteractionTable;
  userAttributes?: EntityAttributes;
  itemAttributes?: EntityAttributes;
  /** Logged impressions (impressions.ts): query groups of shown-and-taken vs shown-and-passed items. */
  impressions?: ImpressionLog;
  /**
   * The attributes as they were at the first impression (same names as userAttributes and
   * itemAttributes), for the impressions' ranker rows: values of the feature store move with time,
   * and those rows must not see what happened after the user was shown the slate. Default: the above.
   */
  impressionAttributes?: { userAttributes?: EntityAttributes; itemAttributes?: EntityAttributes };
}

/**
 * Attribute values of the request's moment (the online feature store's), written over the stored ones
 * for one `rerank`: the user's by column, the items' by column with one value per entry of `items`.
 * NaN (numeric) and -1 (category code) are missing values, as in the stored columns.
 */
export interface FreshAttributes {
  user?: { numeric?: Record<string, Float32Array | number[]>; categorical?: Record<string, Int32Array | number[]> };
  items?: { numeric?: Record<string, Float32Array>; categorical?: Record<string, Int32Array> };
}

export const RANKER_DEFAULTS = {
  objective: 'rank:ndcg', learning_rate: 0.05, n_estimators: 500, max_depth: 6, min_child_weight: 0.1,
  subsample: 0.8, colsample_bytree: 0.8, eval_metric: 'ndcg@10', early_stopping_rounds: 50,
} as const satisfies GbdtParams;

export interface RankerReport {
  /** Users whose held-out items gave the ranker rows (with at least one positive candidate), and their query groups (one per fold). */
  labelledUsers: number;
  groups: number;
  rows: number;
  positives: number;
  /** Share of the validation items found among the candidates (the ranker's ceiling). */
  candidateRecall: number;
  /** Boosting rounds kept, and the early-stopping groups' ndcg@10 there (NaN without early stopping). */
  rounds: number;
  validNdcg: number;
  /** Query groups that came from logged impressions (0 without). */
  impressionGroups: number;
  /** Whether the ranker was refitted on all groups after early stopping chose its rounds. */
  refit: boolean;
  seconds: number;
}

/** The resolved settings a fitted model ranks with (saved with it). */
export interface RankerSettings { candidates: number; perGenerator: number; valRatio: number; folds: number; valSeed: number; share: number; seed: number; base: { feature: string; scale: number } | null }

function resolve(opts: RetrieveThenRankOptions, data: RecsData): RankerSettings {
  const issues: Issue[] = [];
  const candidates = opts.candidates ?? 200;
  const perGenerator = opts.perGenerator ?? candidates;
  const valRatio = opts.validation?.ratio ?? 0.25;
  const folds = opts.validation?.folds ?? 1;
  const share = opts.earlyStoppingShare ?? 0.2;
  const seed = opts.seed ?? 1;
  if (!Array.isArray(opts.generators) || opts.generators.length === 0) issues.push({ path: ['generators'], message: 'give at least one generator spec' });
  const int = (name: string, v: number): void => { if (!Number.isInteger(v) || v < 1) issues.push({ path: [name], message: `must be a positive integer, got ${v}` }); };
  int('candidates', candidates);
  int('perGenerator', perGenerator);
  if (!(valRatio > 0 && valRatio < 1)) issues.push({ path: ['validation', 'ratio'], message: `must be in (0, 1), got ${valRatio}` });
  if (!Number.isInteger(folds) || folds < 1 || folds > 20) issues.push({ path: ['validation', 'folds'], message: `must be an integer in [1, 20], got ${folds}` });
  if (!(share >= 0 && share < 1)) issues.push({ path: ['earlyStoppingShare'], message: `must be in [0, 1), got ${share}` });
  if (!Number.isInteger(seed)) issues.push({ path: ['seed'], message: `must be an integer, got ${seed}` });
  const d = opts.diversity;
  if (d !== undefined) {
    if (!(d.column in (data.itemAttributes?.categorical ?? {}))) {
      issues.push({ path: ['diversity', 'column'], message: `'${d.column}' is not a categorical item attribute (have: ${Object.keys(data.itemAttributes?.categorical ?? {}).join(', ') || 'none'})` });
    }
    int('diversity.maxPerCategory', d.maxPerCategory);
  }
  const base = opts.base === undefined ? { generator: opts.generators?.[0] ? generatorName(opts.generators[0]) : '', scale: 1 } : opts.base;
  if (base !== null) {
    const known = (opts.generators ?? []).map(generatorName);
    if (!known.includes(base.generator)) issues.push({ path: ['base', 'generator'], message: `'${base.generator}' is not one of the generators (${known.join(', ')})` });
    const scale = base.scale ?? 1;
    if (!Number.isFinite(scale) || scale < 0) issues.push({ path: ['base', 'scale'], message: `must be a finite number >= 0, got ${scale}` });
  }
  throwIssues('RECS_PARAM_INVALID', 'retrieve-then-rank options', issues);
  const names = new Set<string>();
  opts.generators.forEach((g, k) => {
    checkGeneratorSpec(g, data.train.nItems, ['generators', k]);
    if (names.has(generatorName(g))) throwIssues('RECS_PARAM_INVALID', 'retrieve-then-rank options', [{ path: ['generators', k, 'name'], message: `'${generatorName(g)}' names two generators; give each a distinct name` }]);
    names.add(generatorName(g));
  });
  return {
    candidates, perGenerator, valRatio, folds, valSeed: opts.validation?.seed ?? seed + 1, share, seed,
    base: base === null ? null : { feature: `${base.generator}.z`, scale: base.scale ?? 1 },
  };
}

export class RetrieveThenRank {
  private readonly cols: Float32Array[];
  readonly features: FeatureBuilder;
  private readonly diversity: { codes: Int32Array; max: number } | null;
  private counts: Float32Array | undefined;

  /**
   * A fitted model from its parts: the training data (seen items, features), fitted generators, the
   * ranker and its settings. fitRetrieveThenRank builds one; persist.ts loads one from disk the same way.
   */
  constructor(
    readonly data: RecsData,
    readonly generators: CandidateGenerator[],
    readonly booster: Booster,
    readonly report: RankerReport,
    readonly settings: RankerSettings,
    readonly featureOptions: FeatureOptions = {},
    readonly diversityRule: DiversityRule | null = null,
  ) {
    this.features = new FeatureBuilder(data.train, generators, { userAttributes: data.userAttributes, itemAttributes: data.itemAttributes }, featureOptions);
    const codes = diversityRule ? data.itemAttributes?.categorical?.[diversityRule.column] : undefined;
    if (diversityRule && !codes) throw new KilnError('RECS_PARAM_INVALID', `diversity column '${diversityRule.column}' is not a categorical item attribute`, { path: ['diversity', 'column'] });
    this.diversity = diversityRule && codes ? { codes, max: diversityRule.maxPerCategory } : null;
    this.cols = this.features.names.map(() => new Float32Array(settings.candidates));
  }

  get featureNames(): string[] { return this.features.names; }

  /** The user's candidates (the union of the generators' lists). */
  candidates(user: number): Int32Array {
    this.features.score(user);
    return this.features.union(this.settings.candidates, this.settings.perGenerator);
  }

  /** Ranker scores of the given items for the user, best first, seen items dropped; rules not applied. */
  rerank(user: number, items: Int32Array, scored = false): Candidates {
    if (!scored) this.features.score(user);
    const keep = items.filter((i) => i >= 0 && i < this.generators[0]!.nItems && !this.features.hasSeen(user, i));
    if (keep.length > this.cols[0]!.length) throw new KilnError('RECS_PARAM_INVALID', `rerank takes at most ${this.cols[0]!.length} items (candidates), got ${keep.length}`, { path: ['items'] });
    this.features.write(keep, this.cols, 0);
    const cols = this.cols.map((c) => c.subarray(0, keep.length));
    const pred = this.booster.predictRaw(cols);
    const base = baseMargins(cols, this.features.names, this.settings.base, keep.length);
    if (base) for (let r = 0; r < keep.length; r++) pred[r]! += base[r]!;
    const order = Array.from({ length: keep.length }, (_, r) => r).sort((a, b) => pred[b]! - pred[a]! || keep[a]! - keep[b]!);
    return { items: Int32Array.from(order, (r) => keep[r]!), scores: Float32Array.from(order, (r) => pred[r]!) };
  }

  /**
   * As rerank, with the attribute values of the request's moment in place of the stored ones (for this
   * call only: the stored values are back when it returns, whatever happens).
   */
  rerankFresh(user: number, items: Int32Array, fresh: FreshAttributes): Candidates {
    const undo: (() => void)[] = [];
    const put = (cols: Record<string, Float32Array | Int32Array> | undefined, values: Record<string, ArrayLike<number>> | undefined, ids: ArrayLike<number>, what: string): void => {
      for (const [name, v] of Object.entries(values ?? {})) {
        const col = cols?.[name];
        if (!col) throw new KilnError('RECS_PARAM_INVALID', `fresh ${what} attribute '${name}' is not one the model was trained with (${Object.keys(cols ?? {}).join(', ') || 'none'})`, { path: ['fresh', what, name] });
        if (v.length !== ids.length) throw new KilnError('RECS_PARAM_INVALID', `fresh ${what} attribute '${name}' has ${v.length} values; expected ${ids.length}`, { path: ['fresh', what, name] });
        for (let r = 0; r < ids.length; r++) {
          const id = ids[r]!;
          if (id < 0 || id >= col.length) continue;
          const old = col[id]!;
          undo.push(() => { col[id] = old; });
          col[id] = v[r]!;
        }
      }
    };
    try {
      const ua = this.data.userAttributes;
      const ia = this.data.itemAttributes;
      put(ua?.numeric, fresh.user?.numeric, [user], 'user');
      put(ua?.categorical, fresh.user?.categorical, [user], 'user');
      put(ia?.numeric, fresh.items?.numeric, items, 'item');
      put(ia?.categorical, fresh.items?.categorical, items, 'item');
      return this.rerank(user, items);
    } finally {
      for (let j = undo.length - 1; j >= 0; j--) undo[j]!();
    }
  }

  /**
   * The top k items for the user: candidates (or the given `items`), ranker, then the rules (items in
   * `exclude` dropped, the diversity rule).
   */
  recommend(user: number, k: number, opts: { exclude?: ReadonlySet<number>; items?: Int32Array } = {}): Candidates {
    const ranked = opts.items ? this.rerank(user, opts.items) : this.rerank(user, this.candidates(user), true);
    return this.select(ranked, k, opts.exclude);
  }

  /**
   * What a user the model has never seen gets: the most popular items of the training interactions (or
   * the given `items` by popularity), under the same rules. Scores are interaction counts.
   */
  popular(k: number, opts: { exclude?: ReadonlySet<number>; items?: Int32Array } = {}): Candidates {
    this.counts ??= itemCounts(this.data.train);
    const counts = this.counts;
    const pool = opts.items ? [...new Set(opts.items)].filter((i) => i >= 0 && i < counts.length) : Array.from({ length: counts.length }, (_, i) => i);
    pool.sort((a, b) => counts[b]! - counts[a]! || a - b);
    return this.select({ items: Int32Array.from(pool), scores: Float32Array.from(pool, (i) => counts[i]!) }, k, opts.exclude);
  }

  /** The first k of a ranked list that pass the rules. */
  select(ranked: Candidates, k: number, exclude?: ReadonlySet<number>): Candidates {
    const d = this.diversity;
    const items: number[] = [];
    const scores: number[] = [];
    const per = new Map<number, number>();
    for (let r = 0; r < ranked.items.length && items.length < k; r++) {
      const i = ranked.items[r]!;
      if (exclude?.has(i)) continue;
      if (d) {
        const c = d.codes[i]!;
        if (c >= 0) {
          const n = per.get(c) ?? 0;
          if (n >= d.max) continue;
          per.set(c, n + 1);
        }
      }
      items.push(i);
      scores.push(ranked.scores[r]!);
    }
    return { items: Int32Array.from(items), scores: Float32Array.from(scores) };
  }
}

/**
 * The round whose metric, averaged over the rounds within `half` of it, is highest: the early-stopping
 * users are few, so a single round's peak is mostly noise (ties: the earlier round).
 */
export function smoothedBest(curve: number[], half: number): number {
  let best = 0;
  let bestMean = -Infinity;
  for (let t = 0; t < curve.length; t++) {
    let s = 0;
    let c = 0;
    for (let q = Math.max(0, t - half); q <= Math.min(curve.length - 1, t + half); q++) { s += curve[q]!; c++; }
    if (s / c > bestMean) { bestMean = s / c; best = t; }
  }
  return best;
}

/**
 * Fits generators and a `rank:ndcg` ranker on train only (see the file comment).
 * @example
 * const model = await fitRetrieveThenRank({ train, itemAttributes }, {
 *   generators: [{ kind: 'ease', lambda: 300 }, { kind: 'als', factors: 64 }, { kind: 'popularity' }],
 * });
 * const top = model.recommend(7, 10);
 */
export async function fitRetrieveThenRank(data: RecsData, opts: RetrieveThenRankOptions): Promise<RetrieveThenRank> {
  const start = performance.now();
  checkInteractions(data.train, { users: data.userAttributes, items: data.itemAttributes }, 'train');
  if (data.impressionAttributes) checkInteractions(data.train, { users: data.impressionAttributes.userAttributes, items: data.impressionAttributes.itemAttributes }, 'impressionAttributes');
  const r = resolve(opts, data);
  const ctx: GeneratorContext = { userAttributes: data.userAttributes, itemAttributes: data.itemAttributes };
  const attrs = { userAttributes: data.userAttributes, itemAttributes: data.itemAttributes };
  const nParts = (r.folds > 1 ? r.folds : 1) + 1;
  let part = 0;
  const log = opts.log ?? (() => {});
  const fitGens = (train: InteractionTable, what?: string): Promise<CandidateGenerator[]> => {
    const label = what ?? (++part === nParts ? 'all of train' : `part ${part}/${nParts - 1} of train`);
    return fitEach(opts.generators, async (spec) => {
      const t0 = performance.now();
      const g = await fitGenerator(spec, train, ctx);
      log(`${generatorName(spec)} fitted on ${label} (${train.users.length} interactions) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return g;
    });
  };
  const which = data.impressions ? opts.rankerRows ?? 'both' : 'held-out';
  if (opts.rankerRows === 'impressions' && !data.impressions) throw new KilnError('RECS_PARAM_INVALID', "rankerRows 'impressions' needs data.impressions (a log of what users were shown)", { path: ['rankerRows'] });
  const parts: RankingRows[] = [];
  if (which !== 'impressions') parts.push(await trainingRows(data.train, r, async (fitPart) => new FeatureBuilder(fitPart, await fitGens(fitPart), attrs, opts.features)));
  let impressionGroups = 0;
  if (which !== 'held-out') {
    const shown = data.impressions!;
    checkImpressions(shown, data.train.nUsers, data.train.nItems);
    const before = beforeImpressions(data.train, shown);
    const impAttrs = { ...attrs, ...data.impressionAttributes };
    const imp = impressionRows(new FeatureBuilder(before, await fitGens(before, 'the interactions before the first impression'), impAttrs, opts.features), shown);
    log(`impressions: ${imp.groups.length} slates with a taken and a passed-over item, ${imp.label.length} rows`);
    impressionGroups = imp.groups.length;
    parts.push(imp);
  }
  const rows = parts.length === 1 ? parts[0]! : concatRows(parts);
  if (rows.groups.length === 0) {
    throw new KilnError('RECS_DATA_INVALID', 'no user has a validation item among its candidates; the ranker has nothing to learn (more interactions per user, or more candidates)', { path: ['train'] });
  }
  log(`ranker rows: ${rows.groups.length} query groups, ${rows.label.length} rows, candidate recall ${(rows.held > 0 ? rows.found / rows.held : 0).toFixed(3)}`);
  // early stopping on whole users: a user's groups from several folds stay on one side
  const rng = new Rng(r.seed, 0x7a4);
  const stopUser = new Map<number, boolean>();
  for (const u of rows.groupUser) if (!stopUser.has(u)) stopUser.set(u, rng.uniform() < r.share);
  const stop = rows.groupUser.map((u) => stopUser.get(u)!);
  const useEarly = r.share > 0 && stop.some(Boolean) && stop.some((s) => !s);
  const params: GbdtParams = { ...RANKER_DEFAULTS, seed: r.seed, ...opts.ranker, objective: 'rank:ndcg' };
  if (!useEarly) delete params.early_stopping_rounds;
  const fitRows = useEarly ? pickGroups(rows.cols, rows.label, rows.groups, stop.map((s) => !s)) : { cols: rows.cols, label: rows.label, group: rows.groups };
  const validRows = useEarly ? pickGroups(rows.cols, rows.label, rows.groups, stop) : null;
  const fitBase = baseMargins(fitRows.cols, rows.names, r.base, fitRows.label.length);
  const validBase = validRows ? baseMargins(validRows.cols, rows.names, r.base, validRows.label.length) : null;
  const curve: number[] = [];
  const chosen = await trainGbdt({
    features: fitRows.cols, label: fitRows.label, group: fitRows.group, featureNames: rows.names, categorical: rows.categorical, params,
    ...(fitBase ? { baseMargin: fitBase } : {}),
    ...(validRows ? { valid: { features: validRows.cols, label: validRows.label, group: validRows.group, ...(validBase ? { baseMargin: validBase } : {}) } } : {}),
    onIteration: (info) => {
      if (info.valid) curve.push(Object.values(info.valid).at(-1)!);
      opts.onRound?.(info);
    },
  });
  const refit = useEarly && (opts.refit ?? true);
  const rounds = refit ? smoothedBest(curve, 5) + 1 : chosen.bestIteration !== undefined ? chosen.bestIteration + 1 : chosen.numRounds;
  const allBase = refit ? baseMargins(rows.cols, rows.names, r.base, rows.label.length) : null;
  const { early_stopping_rounds: _e, ...refitParams } = params;
  const booster = refit
    ? await trainGbdt({
      features: rows.cols, label: rows.label, group: rows.groups, featureNames: rows.names, categorical: rows.categorical,
      params: { ...refitParams, n_estimators: rounds }, ...(allBase ? { baseMargin: allBase } : {}),
    })
    : chosen;
  part = nParts - 1;
  const final = await fitGens(data.train);
  const report: RankerReport = {
    labelledUsers: stopUser.size, groups: rows.groups.length, rows: rows.label.length, positives: rows.label.reduce((s, v) => s + v, 0),
    candidateRecall: rows.held > 0 ? rows.found / rows.held : 0, rounds, validNdcg: refit ? curve[rounds - 1]! : chosen.bestScore ?? NaN, impressionGroups, refit,
    seconds: (performance.now() - start) / 1000,
  };
  return new RetrieveThenRank(data, final, booster, report, r, opts.features ?? {}, opts.diversity ?? null);
}
