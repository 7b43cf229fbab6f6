import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { DataParallel, sharedField, type TrainData } from '../../src/nn/index.js';

function data(rows: number, f: number, seed: number): TrainData {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * f).map(() => rng.normal());
  const y = new Float32Array(rows).map((_, i) => (x[i * f]! + 0.5 * x[i * f + 1]! + rng.normal() * 0.3 > 0 ? 1 : 0));
  return { rows, fields: [sharedField('x', f, x), sharedField('y', 1, y)] };
}

/** A few SGD steps; returns the final parameters' bytes and the losses. */
async function run(nthread: number, wasm: boolean): Promise<{ params: Float32Array; losses: number[] }> {
  const d = data(300, 6, 1);
  const dp = await DataParallel.start({ kind: 'mlp', inputs: 6, hidden: [8], seed: 3 }, d, { nthread, shards: 3, maxBatch: 64, seed: 5, wasm });
  pools.push(dp);
  const losses: number[] = [];
  const rng = new Rng(9);
  for (let step = 0; step < 20; step++) {
    const rows = Int32Array.from({ length: 64 }, () => rng.int(d.rows));
    losses.push(dp.step(rows, step));
    for (const p of dp.params.list) for (let i = 0; i < p.value.length; i++) p.value[i] = p.value[i]! - 0.5 * p.grad[i]!;
  }
  const params = Float32Array.from(dp.params.list.flatMap((p) => [...p.value]));
  return { params, losses };
}

const pools: DataParallel[] = [];
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

describe('data-parallel training', () => {
  it('learns, and gives the same bytes on 1 and 2 threads', async () => {
    const one = await run(1, false);
    const two = await run(2, false);
    expect(one.losses.at(-1)!).toBeLessThan(one.losses[0]! * 0.8);
    expect(Buffer.from(two.params.buffer).equals(Buffer.from(one.params.buffer))).toBe(true);
    expect(two.losses).toEqual(one.losses);
  }, 60_000);

  it('predicts every row in order on several threads', async () => {
    const d = data(700, 6, 2);
    const dp = await DataParallel.start({ kind: 'mlp', inputs: 6, hidden: [4], seed: 3 }, d, { nthread: 2, maxBatch: 64, seed: 5, wasm: false });
    pools.push(dp);
    const rows = Int32Array.from({ length: 700 }, (_, i) => 699 - i);
    const all = dp.predict(rows);
    const single = dp.predict(rows.subarray(0, 1));
    expect(all.length).toBe(700);
    expect(single[0]).toBe(all[0]);
  }, 60_000);
});
