/**
 * ANN evidence for issue 17: an HNSW index (usearch, through VectorIndex) over 100,000 x 64 clustered
 * vectors (256 clusters, noise 0.5 per coordinate; cos metric), against the exact brute-force index.
 * Builds once (all cores, M = 16, expansionAdd = 128), saves, then memory-maps the file at each search
 * beam (expansionSearch) and measures recall@10 against exact search on --queries held-out vectors and
 * queries/s on one thread, one query per call through VectorIndex.search (JS overhead included).
 * A last row measures a filtered search (half of the ids allowed, over-fetch) at the middle setting.
 * Target: recall@10 >= 0.95 at >= 2,000 queries/s on one thread.
 *
 * Usage: npx tsx bench/ann.ts [--n 100000] [--dim 64] [--queries 500] [--speed-queries 5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExactIndex, VectorIndex, clusteredVectors, type AnnHits, type AnnId } from '../src/embeddings/index.js';
import { arg, machine, printTable } from './util.js';

const N = arg('n', 100_000);
const DIM = arg('dim', 64);
const Q = arg('queries', 500);
const SPEED_Q = arg('speed-queries', 5000);
const EFS = [32, 64, 128, 256];
const K = 10;

function recall(got: AnnHits[], want: AnnHits[]): number {
  let s = 0;
  for (let i = 0; i < want.length; i++) {
    const truth = new Set(want[i]!.ids);
    s += got[i]!.ids.filter((id) => truth.has(id)).length / truth.size;
  }
  return s / want.length;
}

function qps(index: VectorIndex, queries: Float32Array, n: number, filter?: (id: AnnId) => boolean): number {
  const m = queries.length / DIM;
  for (let i = 0; i < 200; i++) index.search(queries.subarray((i % m) * DIM, (i % m + 1) * DIM), K, filter);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) index.search(queries.subarray((i % m) * DIM, (i % m + 1) * DIM), K, filter);
  return n / ((performance.now() - t0) / 1000);
}

const all = clusteredVectors(N + Math.max(Q, SPEED_Q), DIM, 256, 2026);
const data = all.subarray(0, N * DIM);
const queries = all.slice(N * DIM);
const recallQ = queries.subarray(0, Q * DIM);
const ids = Array.from({ length: N }, (_, i) => i);

console.log(`ANN bench: ${N} x ${DIM} clustered vectors, cos, k = ${K}; ${machine()}`);
let t = performance.now();
const built = VectorIndex.build(ids, data, { dim: DIM, metric: 'cos', connectivity: 16, expansionAdd: 128 });
const buildS = (performance.now() - t) / 1000;
console.log(`build (all cores, M 16, expansionAdd 128): ${buildS.toFixed(2)} s (${(N / buildS).toFixed(0)} vectors/s)`);
const dir = mkdtempSync(join(tmpdir(), 'kiln-ann-bench-'));
const path = join(dir, 'ann.usearch');
t = performance.now();
built.save(path);
console.log(`save: ${((performance.now() - t) / 1000).toFixed(2)} s`);

const exact = ExactIndex.build(ids, data, { dim: DIM, metric: 'cos' });
t = performance.now();
const truth = exact.searchBatch(recallQ, K);
const exactS = (performance.now() - t) / 1000;
console.log(`exact search (JS brute force, one thread): ${(Q / exactS).toFixed(1)} queries/s`);

const rows: (string | number)[][] = [];
for (const ef of EFS) {
  t = performance.now();
  const idx = VectorIndex.load(path, { view: true, expansionSearch: ef });
  const viewMs = performance.now() - t;
  const hits = Array.from({ length: Q }, (_, i) => idx.search(recallQ.subarray(i * DIM, (i + 1) * DIM), K));
  rows.push([ef, 'none', recall(hits, truth).toFixed(4), qps(idx, queries, SPEED_Q).toFixed(0), viewMs.toFixed(1)]);
}
const half = (id: AnnId): boolean => Number(id) % 2 === 0;
const mid = VectorIndex.load(path, { view: true, expansionSearch: 64 });
const truthHalf = exact.searchBatch(recallQ, K, { filter: half });
const hitsHalf = mid.searchBatch(recallQ, K, { filter: half });
rows.push([64, 'even ids', recall(hitsHalf, truthHalf).toFixed(4), qps(mid, queries, SPEED_Q, half).toFixed(0), '-']);
printTable(['expansionSearch', 'filter', `recall@${K}`, 'queries/s (1 thread)', 'view ms'], rows);
rmSync(dir, { recursive: true, force: true });
