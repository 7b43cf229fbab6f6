/**
 * Matrix factorisation on MovieLens-100k (issue 17's evidence): training time of implicit ALS (Cholesky
 * solves, and conjugate gradient with 3 steps) and BPR, and nearest-neighbour quality: for every movie with at least --min-ratings ratings, its
 * 10 most similar movies by cosine of item factors (`MfModel.similarItems`), and the share of those
 * neighbours that have at least one genre in common with it (u.item's 19 genre flags). The baseline is the
 * same share for 10 distinct movies drawn uniformly at random (seeded). Every rating counts as an
 * interaction of weight rating (ALS confidence 1 + alpha * rating); BPR uses the same pairs.
 * Data: ../shared/data/movielens-100k (MOVIELENS_DATA overrides); skipped with a message when absent.
 *
 *   npx tsx bench/mf.ts [--factors 64] [--iterations 15] [--epochs 40] [--alpha 1] [--min-ratings 20]
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { trainMf, type Interactions, type MfModel, type MfSpec } from '../src/embeddings/index.js';
import { arg, machine, printTable } from './util.js';

const DIR = process.env.MOVIELENS_DATA ?? resolve(import.meta.dirname, '../../shared/data/movielens-100k');

function load(): { data: Interactions; genres: Uint32Array; counts: Int32Array } {
  const users: number[] = [];
  const items: number[] = [];
  const weights: number[] = [];
  for (const line of readFileSync(resolve(DIR, 'u.data'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const [u, i, r] = line.split('\t');
    users.push(Number(u) - 1);
    items.push(Number(i) - 1);
    weights.push(Number(r));
  }
  const nUsers = Math.max(...users) + 1;
  const nItems = Math.max(...items) + 1;
  const genres = new Uint32Array(nItems);
  for (const line of readFileSync(resolve(DIR, 'u.item'), 'latin1').split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('|');
    const id = Number(f[0]) - 1;
    let mask = 0;
    for (let g = 0; g < 19; g++) if (f[5 + g] === '1') mask |= 1 << g;
    if (id >= 0 && id < nItems) genres[id] = mask >>> 0;
  }
  const counts = new Int32Array(nItems);
  for (const i of items) counts[i]!++;
  return {
    data: { users: Int32Array.from(users), items: Int32Array.from(items), weights: Float32Array.from(weights), nUsers, nItems },
    genres,
    counts,
  };
}

function agreement(queries: number[], genres: Uint32Array, neighbours: (q: number) => number[]): number {
  let same = 0;
  let total = 0;
  for (const q of queries) {
    for (const n of neighbours(q)) {
      if ((genres[q]! & genres[n]!) !== 0) same++;
      total++;
    }
  }
  return same / total;
}

function main(): void {
  if (!existsSync(resolve(DIR, 'u.data')) || !existsSync(resolve(DIR, 'u.item'))) {
    console.log(`bench/mf: MovieLens-100k not found at ${DIR} (u.data, u.item); skipped. Set MOVIELENS_DATA to its folder.`);
    return;
  }
  const factors = arg('factors', 64);
  const minRatings = arg('min-ratings', 20);
  const { data, genres, counts } = load();
  const queries: number[] = [];
  for (let i = 0; i < data.nItems; i++) if (counts[i]! >= minRatings && genres[i] !== 0) queries.push(i);
  console.log(`MovieLens-100k: ${data.users.length} ratings, ${data.nUsers} users, ${data.nItems} movies; ${queries.length} query movies (>= ${minRatings} ratings); ${machine()}`);
  const rng = new Rng(arg('seed', 1), 77);
  const randomNeighbours = (q: number): number[] => {
    const out = new Set<number>();
    while (out.size < 10) {
      const j = rng.int(data.nItems);
      if (j !== q) out.add(j);
    }
    return [...out];
  };
  const rows: (string | number)[][] = [];
  rows.push(['random', '-', '-', agreement(queries, genres, randomNeighbours).toFixed(3)]);
  const specs: [string, MfSpec][] = [
    ['ALS (Cholesky)', { method: 'als', factors, iterations: arg('iterations', 15), regularization: arg('reg', 0.1), alpha: arg('alpha', 1), seed: 1 }],
    ['ALS (CG, 3 steps)', { method: 'als', factors, iterations: arg('iterations', 15), regularization: arg('reg', 0.1), alpha: arg('alpha', 1), seed: 1, solver: 'cg', cgSteps: 3 }],
    ['BPR (SGD)', { method: 'bpr', factors, epochs: arg('epochs', 40), learningRate: arg('lr', 0.05), regularization: arg('bpr-reg', 0.01), seed: 1 }],
  ];
  for (const [name, spec] of specs) {
    const t0 = performance.now();
    const model: MfModel = trainMf(data, spec);
    const sec = (performance.now() - t0) / 1000;
    const steps = spec.method === 'als' ? `${spec.iterations} sweeps` : `${spec.epochs} epochs, ${((data.users.length * (spec.epochs ?? 0)) / sec / 1e6).toFixed(2)} M steps/s`;
    const agree = agreement(queries, genres, (q) => model.similarItems(q, 10).map((s) => s.id));
    rows.push([name, sec.toFixed(2), steps, agree.toFixed(3)]);
  }
  printTable(['method', 'train s', 'work', 'genre agreement@10'], rows);
  console.log(`factors ${factors}; agreement = share of the 10 nearest movies sharing >= 1 genre with the query`);
}

main();
