/**
 * Recommendations on MovieLens-100k under the protocol of Microsoft's `recommenders` benchmark (issue 18):
 * a per-user stratified random split 75/25 (seeded), top-10 over all items the user has not rated in
 * train (no sampled negatives), nDCG@10 and Recall@10 averaged over users with test items. Every rating
 * is an interaction (implicit feedback, as in their table); the rating is kept as the row's weight,
 * which only the ranker's features read (item and user mean rating).
 *
 * Rows: popularity, item2vec, ALS, BPR, two-tower, EASE^R, and retrieve-then-rank (the union of the
 * generators' top lists, 200 candidates per user, re-ranked by a GBDT `rank:ndcg` over their scores and
 * ranks, item popularity, user activity, mean ratings, movie year and genres, user age, gender and
 * occupation, and time features). Hyper-parameters never see the test split: each generator's grid is scored on a
 * validation split carved out of train (tuneGenerator), and the ranker is fitted on another one
 * (fitRetrieveThenRank), with early stopping on a share of its users.
 * Latency: re-ranking one user's 200 candidates (features + GBDT + sort) and the whole request
 * (generators, union, re-rank), p50/p99 over users drawn with a seed, after a warm-up.
 * A second shape (syntheticMarketplace: categories, prices, release times) runs the same code.
 * Data: ../shared/data/movielens-100k (MOVIELENS_DATA overrides); skipped with a message when absent.
 *
 *   npx tsx bench/recs.ts [--seed 42 | --seeds 42,43,44] [--quick 1] [--latency-users 300] [--candidates 200]
 * With --seeds, each seed is a split of its own, tuned and fitted from scratch, and a summary gives the
 * mean, sd and minimum of each model over the seeds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Rng } from '../src/core/rng.js';
import {
  evaluateTopK, fitGenerator, fitRetrieveThenRank, stratifiedSplit, syntheticMarketplace, tuneGenerator,
  type EntityAttributes, type GeneratorSpec, type InteractionTable, type RetrieveThenRank, type RetrieveThenRankOptions,
} from '../src/recs/index.js';
import { arg, machine, printTable } from './util.js';

const DIR = process.env.MOVIELENS_DATA ?? resolve(import.meta.dirname, '../../shared/data/movielens-100k');
const GENRES = ['unknown', 'action', 'adventure', 'animation', 'children', 'comedy', 'crime', 'documentary', 'drama', 'fantasy', 'film_noir', 'horror', 'musical', 'mystery', 'romance', 'sci_fi', 'thriller', 'war', 'western'];

interface Shape {
  table: InteractionTable;
  userAttributes: EntityAttributes;
  itemAttributes: EntityAttributes;
}

function loadMovieLens(): Shape | null {
  if (!['u.data', 'u.item', 'u.user'].every((f) => existsSync(resolve(DIR, f)))) {
    console.log(`bench/recs: MovieLens-100k not found at ${DIR} (u.data, u.item, u.user); skipped. Set MOVIELENS_DATA to its folder.`);
    return null;
  }
  const u: number[] = [];
  const i: number[] = [];
  const t: number[] = [];
  const w: number[] = [];
  for (const line of readFileSync(resolve(DIR, 'u.data'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const [user, item, rating, ts] = line.split('\t').map(Number);
    u.push(user! - 1);
    i.push(item! - 1);
    w.push(rating!);
    t.push(ts!);
  }
  const nUsers = Math.max(...u) + 1;
  const nItems = Math.max(...i) + 1;
  const year = new Float32Array(nItems).fill(NaN);
  const flags = GENRES.map(() => new Float32Array(nItems));
  const genre = new Int32Array(nItems).fill(-1);
  for (const line of readFileSync(resolve(DIR, 'u.item'), 'latin1').split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('|');
    const id = Number(f[0]) - 1;
    const y = /(\d{4})$/.exec(f[2] ?? '');
    if (y) year[id] = Number(y[1]);
    GENRES.forEach((_, g) => {
      if (f[5 + g] !== '1') return;
      flags[g]![id] = 1;
      if (genre[id] === -1) genre[id] = g;
    });
  }
  const age = new Float32Array(nUsers).fill(NaN);
  const gender = new Int32Array(nUsers).fill(-1);
  const occupation = new Int32Array(nUsers).fill(-1);
  const occupations: string[] = [];
  for (const line of readFileSync(resolve(DIR, 'u.user'), 'latin1').split('\n')) {
    if (!line.trim()) continue;
    const [id, a, g, o] = line.split('|');
    const user = Number(id) - 1;
    age[user] = Number(a);
    gender[user] = g === 'F' ? 1 : 0;
    if (!occupations.includes(o!)) occupations.push(o!);
    occupation[user] = occupations.indexOf(o!);
  }
  const numeric: Record<string, Float32Array> = { year };
  GENRES.forEach((g, k) => { numeric[`genre_${g}`] = flags[k]!; });
  return {
    table: { nUsers, nItems, users: Int32Array.from(u), items: Int32Array.from(i), times: Float64Array.from(t), weights: Float32Array.from(w) },
    userAttributes: { numeric: { age }, categorical: { gender, occupation } },
    itemAttributes: { numeric, categorical: { genre } },
  };
}

/**
 * Each kind's grid, scored on a validation split of train; --quick takes the first point of each.
 * `inRanker`: whether the ranker reads it (two-tower added nothing there on the validation split of
 * train and costs a fit per fold, so it is measured alone).
 */
function grids(quick: boolean): { label: string; specs: GeneratorSpec[]; inRanker: boolean }[] {
  const g: { label: string; specs: GeneratorSpec[]; inRanker: boolean }[] = [
    { label: 'popularity', specs: [{ kind: 'popularity' }], inRanker: true },
    { label: 'item2vec', specs: [0.2, 0.1, 0.3].map((popularityWeight) => ({ kind: 'item2vec', dim: 64, epochs: 10, popularityWeight })), inRanker: true },
    { label: 'ALS', specs: [[32, 1], [64, 1], [32, 10], [64, 10]].map(([factors, regularization]) => ({ kind: 'als', factors, regularization, alpha: 1, iterations: 15 })), inRanker: true },
    { label: 'BPR', specs: [[64, 0.01], [32, 0.01], [64, 0.001]].map(([factors, regularization]) => ({ kind: 'bpr', factors, regularization, epochs: 40, learningRate: 0.05 })), inRanker: true },
    { label: 'two-tower', specs: [0.1, 0.05].map((temperature) => ({ kind: 'two-tower', dim: 32, hidden: 64, epochs: 20, batchSize: 256, lr: 0.01, temperature, weightDecay: 0.1 })), inRanker: false },
    { label: 'EASE^R', specs: [500, 200, 300, 800, 1200].map((lambda) => ({ kind: 'ease', lambda })), inRanker: true },
    { label: 'co-occurrence', specs: [[3, 0.5], [5, 0.5], [3, 0.25], [1, 0.5]].map(([window, popularityExponent]) => ({ kind: 'cooccurrence', window, decay: 0.5, popularityExponent })), inRanker: true },
  ];
  return quick ? g.map((x) => ({ ...x, specs: x.specs.slice(0, 1) })) : g;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

function latency(model: RetrieveThenRank, nUsers: number, count: number, seed: number): { rerank: number[]; request: number[] } {
  const rng = new Rng(seed, 0x1a7);
  const users = Array.from({ length: count }, () => rng.int(nUsers));
  for (const u of users.slice(0, 50)) model.recommend(u, 10);
  const rerank: number[] = [];
  const request: number[] = [];
  for (const u of users) {
    const cands = model.candidates(u);
    let t0 = performance.now();
    model.rerank(u, cands, true);
    rerank.push(performance.now() - t0);
    t0 = performance.now();
    model.recommend(u, 10);
    request.push(performance.now() - t0);
  }
  return { rerank, request };
}

/** nDCG@10 and Recall@10 per model label, for the summary over seeds. */
type Scores = Map<string, { ndcg: number; recall: number }>;

async function run(name: string, shape: Shape, quick: boolean, published: (string | number)[][], seed: number, latencyToo: boolean): Promise<Scores> {
  const scores: Scores = new Map();
  const { train, test } = stratifiedSplit(shape.table, { ratio: 0.75, seed });
  console.log(`\n${name}: ${shape.table.users.length} interactions, ${shape.table.nUsers} users, ${shape.table.nItems} items; split 75/25 per user (seed ${seed}): ${train.users.length} train, ${test.users.length} test`);
  const ctx = { userAttributes: shape.userAttributes, itemAttributes: shape.itemAttributes };
  const rows: (string | number)[][] = [];
  const chosen: GeneratorSpec[] = [];
  const plan = grids(quick);
  for (const { label, specs } of plan) {
    const t0 = performance.now();
    const { best, results } = await tuneGenerator(train, specs, { context: ctx, seed: 7 });
    const tuneSec = (performance.now() - t0) / 1000;
    chosen.push(best);
    const shown = results.map((r) => `${JSON.stringify(r.spec).replace(/"kind":"[^"]+",?/, '').replace(/"/g, '')} ${r.ndcg.toFixed(4)}`).join('; ');
    console.log(`  ${label}: validation nDCG@10 ${shown} -> ${JSON.stringify(best)} (${tuneSec.toFixed(1)} s)`);
  }
  const candidates = arg('candidates', 200);
  const folds = arg('folds', 4);
  const opts: RetrieveThenRankOptions = { generators: chosen.filter((_, k) => plan[k]!.inRanker), candidates, validation: { folds }, base: null, seed: 1 };
  const t0 = performance.now();
  const model = await fitRetrieveThenRank({ train, ...ctx }, opts);
  const fitSec = (performance.now() - t0) / 1000;
  let m = 0;
  for (const [k, { label, inRanker }] of plan.entries()) {
    const g = inRanker ? model.generators[m++]! : await fitGenerator(chosen[k]!, train, ctx);
    const r = evaluateTopK({ train, test, recommend: (u, n) => g.candidates(u, n).items });
    rows.push([`kiln ${label}`, r.ndcg.toFixed(4), r.recall.toFixed(4), JSON.stringify(chosen[k]).replace(/"/g, '')]);
    scores.set(label, { ndcg: r.ndcg, recall: r.recall });
  }
  const r = evaluateTopK({ train, test, recommend: (u, n) => model.recommend(u, n).items });
  const rep = model.report;
  scores.set('retrieve-then-rank', { ndcg: r.ndcg, recall: r.recall });
  rows.push(['kiln retrieve-then-rank', r.ndcg.toFixed(4), r.recall.toFixed(4), `${candidates} candidates (union of ${opts.generators.length}), GBDT rank:ndcg, ${folds} folds, ${rep.rounds} rounds, ${model.featureNames.length} features`]);
  console.log(`  ranker: ${rep.labelledUsers} users, ${rep.groups} groups, ${rep.rows} rows (${rep.positives} positive), candidate recall ${rep.candidateRecall.toFixed(3)}, early-stopping nDCG@10 ${rep.validNdcg.toFixed(4)}, ${rep.rounds} rounds; fit ${fitSec.toFixed(1)} s (generators twice + ranker)`);
  printTable(['model', 'nDCG@10', 'Recall@10', 'settings (chosen on validation)'], [...rows, ...published]);
  const imp = Object.entries(model.booster.featureImportance('gain')).sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(`  ranker gain importance: ${imp.map(([f, v]) => `${f} ${v.toFixed(2)}`).join(', ')}`);
  if (!latencyToo) return scores;
  const lat = latency(model, train.nUsers, arg('latency-users', 300), seed);
  printTable(['latency (ms, one user, one thread)', 'p50', 'p99', 'max'], [
    [`re-rank ${candidates} candidates (features + GBDT + sort)`, pct(lat.rerank, 0.5).toFixed(3), pct(lat.rerank, 0.99).toFixed(3), Math.max(...lat.rerank).toFixed(3)],
    ['whole request (generators + union + re-rank + rules)', pct(lat.request, 0.5).toFixed(3), pct(lat.request, 0.99).toFixed(3), Math.max(...lat.request).toFixed(3)],
  ]);
  return scores;
}

function seedList(): number[] {
  const i = process.argv.indexOf('--seeds');
  if (i < 0) return [arg('seed', 42)];
  return (process.argv[i + 1] ?? '').split(',').map(Number).filter(Number.isInteger);
}

function summary(runs: Scores[], seeds: number[]): void {
  if (runs.length < 2) return;
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
  const labels = [...runs[0]!.keys()];
  console.log(`\nMovieLens-100k over split seeds ${seeds.join(', ')} (each seed: its own split, tuning on a validation split of its train, fit, test):`);
  printTable(['model', 'nDCG@10 mean ± sd', 'min', 'Recall@10 mean ± sd'], labels.map((l) => {
    const n = runs.map((r) => r.get(l)!.ndcg);
    const rc = runs.map((r) => r.get(l)!.recall);
    return [`kiln ${l}`, `${mean(n).toFixed(4)} ± ${sd(n).toFixed(4)}`, Math.min(...n).toFixed(4), `${mean(rc).toFixed(4)} ± ${sd(rc).toFixed(4)}`];
  }));
}

async function main(): Promise<void> {
  console.log(`bench/recs: ${machine()}`);
  const quick = arg('quick', 0) === 1;
  const ml = loadMovieLens();
  const seeds = seedList();
  const runs: Scores[] = [];
  for (const [k, seed] of (ml ? seeds : []).entries()) {
    runs.push(await run('MovieLens-100k', ml!, quick, [
      ['recommenders BiVAE (published)', '0.475', '0.219', 'their table, same protocol'],
      ['recommenders BPR (published)', '0.442', '0.213', 'their table, same protocol'],
      ['recommenders SAR (published)', '0.382', '0.176', 'their table, same protocol'],
      ['EASE^R (issue 18, this machine)', '0.483', '0.221', 'lambda chosen on a validation split of train'],
    ], seed, k === 0));
  }
  summary(runs, seeds);
  const m = syntheticMarketplace({ users: 2000, items: 800, perUser: 25, seed: 3 });
  await run('synthetic marketplace (another shape)', m, true, [], seeds[0]!, true);
}

await main();
