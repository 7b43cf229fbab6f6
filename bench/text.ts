/**
 * Text encoders (issue 17): throughput of TextLsa (fit, and encode of unseen texts) and of the tiny
 * ONNX BERT-like encoder (scripts/make-text-encoder.ts, one intra-op thread, batches of 32), on two
 * shapes of a seeded synthetic topical corpus (src/embeddings/text/synthetic.ts): short titles (~8 words)
 * and documents (~200 words). Quality: the share of each text's 10 nearest neighbours (cosine) in its
 * own topic, against 10 random texts. The tiny ONNX model has random weights: its figures are speed only.
 * With MovieLens-100k (../shared/data/movielens-100k, MOVIELENS_DATA overrides): TextLsa fitted on the
 * movie titles (u.item field 2), and the share of each movie's 10 nearest titles that share a genre with
 * it (the 19 genre flags), against 10 random movies; titles with and without the "(1995)" year.
 *
 *   npx tsx bench/text.ts [--seed 7] [--titles 20000] [--docs 2000] [--dim 64]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { OnnxTextEncoder, TextLsa, topicalCorpus } from '../src/embeddings/index.js';
import { writeTinyTextEncoder } from '../scripts/make-text-encoder.js';
import { arg, machine, printTable } from './util.js';

const DIR = process.env.MOVIELENS_DATA ?? resolve(import.meta.dirname, '../../shared/data/movielens-100k');

/** For `queries` rows (the first ones), the share of their k nearest rows (cosine of unit vectors) with `same(q, j)`. */
function agreement(v: Float32Array, dim: number, n: number, queries: number[], same: (q: number, j: number) => boolean, k = 10): number {
  let hits = 0;
  const sims = new Float64Array(n);
  for (const q of queries) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += v[q * dim + c]! * v[j * dim + c]!;
      sims[j] = j === q ? -Infinity : s;
    }
    const top = Array.from(sims.keys()).sort((a, b) => sims[b]! - sims[a]! || a - b).slice(0, k);
    for (const j of top) if (same(q, j)) hits++;
  }
  return hits / (queries.length * k);
}

function randomAgreement(n: number, queries: number[], same: (q: number, j: number) => boolean, seed: number, k = 10): number {
  const rng = new Rng(seed, 99);
  let hits = 0;
  for (const q of queries) {
    const picked = new Set<number>();
    while (picked.size < k) {
      const j = rng.int(n);
      if (j !== q) picked.add(j);
    }
    for (const j of picked) if (same(q, j)) hits++;
  }
  return hits / (queries.length * k);
}

async function timed<T>(f: () => T | Promise<T>): Promise<{ value: T; sec: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, sec: (performance.now() - t0) / 1000 };
}

const rate = (n: number, sec: number): string => Math.round(n / sec).toLocaleString('en-US');

async function synthetic(seed: number, dim: number, onnxDir: string): Promise<void> {
  const shapes = [
    { name: 'titles', texts: arg('titles', 20000), words: 8 },
    { name: 'documents', texts: arg('docs', 2000), words: 200 },
  ];
  const rows: (string | number)[][] = [];
  const onnx = await OnnxTextEncoder.load(onnxDir, { batchSize: 32 });
  for (const s of shapes) {
    const train = topicalCorpus({ texts: s.texts, words: s.words, seed });
    const fresh = topicalCorpus({ texts: Math.min(s.texts, 5000), words: s.words, seed: seed + 1 });
    const fit = await timed(() => TextLsa.fitTransform(train.texts, { dim, seed }));
    const enc = await timed(() => fit.value.model.encodeSync(fresh.texts));
    const queries = Array.from({ length: Math.min(500, s.texts) }, (_, i) => i);
    const same = (q: number, j: number): boolean => train.topic[q] === train.topic[j];
    const agree = agreement(fit.value.vectors, dim, s.texts, queries, same);
    const chance = randomAgreement(s.texts, queries, same, seed);
    const onnxN = Math.min(fresh.texts.length, s.words > 50 ? 500 : 5000);
    const on = await timed(() => onnx.encode(fresh.texts.slice(0, onnxN)));
    rows.push([s.name, `${s.texts} x ${s.words}`, rate(s.texts, fit.sec), rate(fresh.texts.length, enc.sec), rate(onnxN, on.sec), fit.value.model.buckets.length, agree.toFixed(3), chance.toFixed(3)]);
  }
  await onnx.release();
  printTable(['shape', 'texts x words', 'LSA fit texts/s', 'LSA encode texts/s', 'tiny ONNX texts/s', 'LSA columns', 'topic agreement@10', 'random'], rows);
  console.log(`synthetic topical corpus: 5 topics, half filler words, 5% typos, seed ${seed}; LSA dim ${dim}, minDf 2, 2^18 buckets; encode = unseen texts (other seed)`);
}

function movielens(seed: number, dim: number): void {
  const path = resolve(DIR, 'u.item');
  if (!existsSync(path)) {
    console.log(`MovieLens-100k not found at ${DIR} (u.item); title agreement skipped. Set MOVIELENS_DATA to its folder.`);
    return;
  }
  const titles: string[] = [];
  const genres: number[] = [];
  for (const line of readFileSync(path, 'latin1').split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('|');
    let mask = 0;
    for (let g = 0; g < 19; g++) if (f[f.length - 19 + g] === '1') mask |= 1 << g;
    titles.push(f[1] ?? '');
    genres.push(mask);
  }
  const n = titles.length;
  const queries = genres.flatMap((g, i) => (g !== 0 ? [i] : []));
  const same = (q: number, j: number): boolean => (genres[q]! & genres[j]!) !== 0;
  const rows: (string | number)[][] = [['random', '-', '-', randomAgreement(n, queries, same, seed).toFixed(3)]];
  for (const [name, texts] of [['LSA, title', titles], ['LSA, title without year', titles.map((t) => t.replace(/\(\d{4}\)\s*$/, ''))]] as const) {
    const fit = TextLsa.fitTransform(texts, { dim, seed });
    const zero = Array.from({ length: n }, (_, i) => i).filter((i) => fit.vectors.subarray(i * dim, (i + 1) * dim).every((v) => v === 0)).length;
    rows.push([name, fit.model.buckets.length, zero, agreement(fit.vectors, dim, n, queries, same).toFixed(3)]);
  }
  printTable(['MovieLens-100k titles', 'LSA columns', 'titles with no known feature', 'genre agreement@10'], rows);
  console.log(`${n} movies, ${queries.length} with a genre as queries; agreement = share of the 10 nearest titles sharing >= 1 genre`);
}

async function main(): Promise<void> {
  const seed = arg('seed', 7);
  const dim = arg('dim', 64);
  console.log(`bench/text: ${machine()}`);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-text-'));
  try {
    writeTinyTextEncoder(dir, { seed });
    await synthetic(seed, dim, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  movielens(seed, dim);
}

await main();
