/**
 * The determinism rule of kiln's neural training (src/nn/parallel/shard.ts): a batch is cut into a fixed
 * number of shards, each with its own random stream, and the gradients are summed in shard order, so the
 * same seed gives the same bytes on one thread and on two, with the WebAssembly kernels and dropout on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { AdamW, DataParallel, sharedField, type SeqNetSpec, type TrainData } from '../../src/nn/index.js';

const T = 12;
const F = 3;
function data(n: number): TrainData {
  const rng = new Rng(4);
  const num = new Float32Array(n * T * F).map(() => rng.normal());
  const ids = new Int32Array(n * T).map(() => 1 + rng.int(7));
  const len = new Int32Array(n).map(() => rng.int(T + 1));
  const gap = new Float32Array(n * T).map(() => rng.uniform() * 3600);
  const y = new Float32Array(n).map(() => (rng.uniform() < 0.3 ? 1 : 0));
  return { rows: n, fields: [sharedField('num', T * F, num), sharedField('c.kind', T, ids), sharedField('len', 1, len), sharedField('gap', T, gap), sharedField('y.default', 1, y)] };
}

const SPECS: [string, SeqNetSpec][] = [
  ['transformer with dropout and time positions', {
    kind: 'seq', seed: 2, steps: T, numeric: F, categorical: [{ name: 'kind', vocab: 8, dim: 3 }],
    encoder: { type: 'transformer', dim: 8, layers: 2, heads: 2, ff: 16, dropout: 0.1, positions: 'time' }, pooling: 'mean', tabular: 0, trunk: 0,
    heads: [{ name: 'default', type: 'binary', weight: 1 }],
  }],
  ['GRU with attention pooling', {
    kind: 'seq', seed: 2, steps: T, numeric: F, categorical: [{ name: 'kind', vocab: 8, dim: 3 }],
    encoder: { type: 'gru', hidden: 8 }, pooling: 'attention', tabular: 0, trunk: 4, heads: [{ name: 'default', type: 'binary', weight: 1 }],
  }],
];

const pools: DataParallel[] = [];
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

async function train(spec: SeqNetSpec, nthread: number): Promise<Buffer> {
  const d = data(200);
  const dp = await DataParallel.start(spec, d, { nthread, shards: 4, maxBatch: 64, seed: 9 });
  pools.push(dp);
  const opt = new AdamW(dp.params, { lr: 3e-3 });
  const rng = new Rng(1);
  for (let step = 0; step < 8; step++) {
    dp.step(Int32Array.from({ length: 64 }, () => rng.int(d.rows)), step);
    opt.step();
  }
  const out = Buffer.concat(dp.params.list.map((p) => Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength)));
  await dp.close();
  return out;
}

describe('neural training determinism', () => {
  for (const [name, spec] of SPECS) {
    it(`${name}: the same bytes twice, and on 1 and 2 threads`, async () => {
      const a = await train(spec, 1);
      const b = await train(spec, 1);
      const c = await train(spec, 2);
      expect(a.equals(b)).toBe(true);
      expect(c.equals(a)).toBe(true);
      const other = await train({ ...spec, seed: 3 }, 1);
      expect(other.equals(a)).toBe(false);
    }, 60_000);
  }
});
