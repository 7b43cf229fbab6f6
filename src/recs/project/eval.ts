/**
 * `kiln recs eval NAME`: the declared recommender measured with the code that trains and serves it. The
 * interactions are split per user (stratified, seeded; `ratio` to train), the whole pipeline is fitted on
 * train alone (its ranker labels come from a validation split carved out of train), and every user with
 * a test item outside train is scored over the full catalogue (no sampled negatives): each generator
 * alone, popularity, and retrieve-then-rank with its rules.
 */
import type { Project } from '../../store/index.js';
import { fitPopularity } from '../generator.js';
import { evaluateTopK } from '../metrics.js';
import { fitRetrieveThenRank, type RankerReport } from '../ranker.js';
import { stratifiedSplit } from '../split.js';
import { loadRecsData } from './data.js';
import { fitOptions, recommenderSpec, roundLogger } from './versions.js';

export interface RecsEvalOptions {
  /** Share of each user's interactions in train (default 0.75). */
  ratio?: number;
  /** Split seed (default 42). */
  seed?: number;
  /** Cut-off (default 10). */
  k?: number;
  log?: (line: string) => void;
}

export interface RecsEvalRow {
  model: string;
  ndcg: number;
  recall: number;
  precision: number;
}

export interface RecsEvalReport {
  recommender: string;
  k: number;
  ratio: number;
  seed: number;
  interactions: number;
  train: number;
  test: number;
  /** Users averaged over. */
  users: number;
  rows: RecsEvalRow[];
  ranker: RankerReport;
  seconds: number;
}

export async function evaluateRecommender(project: Project, name: string, opts: RecsEvalOptions = {}): Promise<RecsEvalReport> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const ratio = opts.ratio ?? 0.75;
  const seed = opts.seed ?? 42;
  const k = opts.k ?? 10;
  const spec = recommenderSpec(project, name);
  const loaded = await loadRecsData(project, name, spec);
  const { train, test } = stratifiedSplit(loaded.data.train, { ratio, seed });
  log(`recs eval ${name}: ${loaded.rows} interactions split ${ratio}/${(1 - ratio).toFixed(2)} per user (seed ${seed}): ${train.users.length} train, ${test.users.length} test`);
  const model = await fitRetrieveThenRank({ ...loaded.data, train }, { ...fitOptions(spec), log: (l) => log(`recs eval ${name}: ${l}`), onRound: roundLogger((l) => log(`recs eval ${name}: ${l}`)) });
  log(`recs eval ${name}: fitted in ${model.report.seconds.toFixed(1)} s; scoring ${train.nUsers} users over ${train.nItems} items`);
  const rows: RecsEvalRow[] = [];
  let users = 0;
  const add = (label: string, recommend: (u: number, n: number) => ArrayLike<number>): void => {
    const r = evaluateTopK({ train, test, k, recommend });
    users = r.users;
    rows.push({ model: label, ndcg: r.ndcg, recall: r.recall, precision: r.precision });
  };
  if (!model.generators.some((g) => g.kind === 'popularity')) {
    const pop = fitPopularity(train);
    add('popularity (baseline)', (u, n) => pop.candidates(u, n).items);
  }
  for (const g of model.generators) add(g.name === g.kind ? g.name : `${g.name} (${g.kind})`, (u, n) => g.candidates(u, n).items);
  add('retrieve-then-rank', (u, n) => model.recommend(u, n).items);
  return {
    recommender: name, k, ratio, seed, interactions: loaded.rows, train: train.users.length, test: test.users.length, users, rows, ranker: model.report,
    seconds: (performance.now() - t0) / 1000,
  };
}
