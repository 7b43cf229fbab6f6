/**
 * item2vec (src/embeddings/item2vec.ts): training throughput in (centre, context) pairs per second on a
 * synthetic corpus of planted clusters (~1M tokens), at dim 32, 64 and 128, on 1 and 2 threads, with each
 * kernel (WebAssembly SIMD where it runs, and the JS reference; --kernels wasm-simd for the first only),
 * with the neighbour agreement (share of the 10 nearest neighbours of every 10th item in its own cluster;
 * random = 1 / clusters) and the speed per thread against the target of 1M pairs/s per core at dim 64. Then, when
 * ../shared/data/movielens-100k exists, each user's ratings ordered by time form a sequence, and the
 * genre agreement of each movie's 10 nearest neighbours (share sharing at least one genre) is compared
 * with that of 10 random movies.
 *
 *   npx tsx bench/item2vec.ts [--dim 64] [--epochs 1] [--tokens 1000000] [--kernels wasm-simd,js]
 */
import { existsSync, readFileSync } from 'node:fs';
import { Rng } from '../src/core/rng.js';
import { clusteredCorpus, nearest, trainItem2Vec, type ItemVectors } from '../src/embeddings/index.js';
import { arg, machine, printTable } from './util.js';

const DIM = arg('dim', 64);
const EPOCHS = arg('epochs', 1);
const TOKENS = arg('tokens', 1_000_000);
const KERNELS = (process.argv.includes('--kernels') ? process.argv[process.argv.indexOf('--kernels') + 1]! : 'wasm-simd,js').split(',') as ('wasm-simd' | 'js')[];
/** Pairs per second per core that item2vec should reach at dim 64. */
const TARGET = 1e6;

function agreement(v: ItemVectors, same: (a: number, b: number) => boolean, skip: (i: number) => boolean = () => false): number {
  let hit = 0;
  let all = 0;
  for (let i = 0; i < v.count; i++) {
    if (skip(i)) continue;
    for (const nb of nearest(v, i, 10)) { all++; if (same(i, nb.id)) hit++; }
  }
  return hit / all;
}

console.log(`item2vec, ${machine()}; dim ${DIM}, window 5, 5 negatives, sample 1e-3, ${EPOCHS} epoch(s)`);
const c = clusteredCorpus({ clusters: 50, perCluster: 200, sequences: Math.round(TOKENS / 50), length: 50, seed: 1 });
const rows: (string | number)[][] = [];
for (const dim of [...new Set([32, 64, 128, DIM])]) {
  for (const kernel of KERNELS) {
    for (const threads of [1, 2]) {
      const r = await trainItem2Vec(c.tokens, c.offsets, { items: c.items, dim, epochs: EPOCHS, threads, seed: 7, kernel });
      const agree = agreement(r.input, (a, b) => c.cluster[a] === c.cluster[b], (i) => i % 10 !== 0);
      const perCore = r.pairs / r.seconds / threads;
      rows.push([`synthetic ${c.tokens.length} tokens`, dim, r.kernel, threads, r.pairs, r.seconds.toFixed(2), (r.pairs / r.seconds / 1e6).toFixed(3), `${(perCore / TARGET).toFixed(2)}x`, `${agree.toFixed(3)} (random ${(1 / 50).toFixed(3)})`]);
    }
  }
}

const ML = new URL('../../shared/data/movielens-100k/', import.meta.url);
if (existsSync(new URL('u.data', ML))) {
  const ratings = readFileSync(new URL('u.data', ML), 'utf8').trim().split('\n').map((l) => l.split('\t').map(Number) as [number, number, number, number]);
  const genres = readFileSync(new URL('u.item', ML), 'latin1').trim().split('\n').map((l) => l.split('|').slice(5).map(Number));
  const byUser = new Map<number, [number, number][]>();
  for (const [u, m, , t] of ratings) {
    const list = byUser.get(u) ?? [];
    list.push([t, m - 1]);
    byUser.set(u, list);
  }
  const tokens: number[] = [];
  const offsets = [0];
  for (const list of byUser.values()) {
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [, m] of list) tokens.push(m);
    offsets.push(tokens.length);
  }
  const items = genres.length;
  const counts = new Int32Array(items);
  for (const m of tokens) counts[m]!++;
  const share = (a: number, b: number): boolean => genres[a]!.some((g, k) => g === 1 && genres[b]![k] === 1);
  const rare = (i: number): boolean => counts[i]! < 20;
  const r = await trainItem2Vec(Int32Array.from(tokens), Int32Array.from(offsets), { items, dim: DIM, window: 5, epochs: 10, sample: 1e-3, seed: 7 });
  const agree = agreement(r.input, share, rare);
  const rng = new Rng(3);
  let hit = 0;
  let all = 0;
  for (let i = 0; i < items; i++) {
    if (rare(i)) continue;
    for (let k = 0; k < 10; k++) {
      let j = rng.int(items);
      while (j === i || rare(j)) j = rng.int(items);
      all++;
      if (share(i, j)) hit++;
    }
  }
  rows.push([`movielens-100k ${tokens.length} ratings, 10 epochs`, DIM, r.kernel, 1, r.pairs, r.seconds.toFixed(2), (r.pairs / r.seconds / 1e6).toFixed(3), `${(r.pairs / r.seconds / TARGET).toFixed(2)}x`, `genre ${agree.toFixed(3)} (random ${(hit / all).toFixed(3)}), movies with >= 20 ratings`]);
}
printTable(['corpus', 'dim', 'kernel', 'threads', 'pairs', 'seconds', 'Mpairs/s', 'per core / 1M target', 'neighbour agreement'], rows);
const dim64 = rows.filter((r) => r[1] === 64 && r[2] === 'wasm-simd' && r[3] === 1)[0] ?? rows.filter((r) => r[1] === 64 && r[3] === 1)[0];
if (dim64) console.log(`dim 64, 1 thread, ${dim64[2]}: ${dim64[6]} Mpairs/s = ${dim64[7]} the target of ${TARGET / 1e6}M pairs/s per core`);
