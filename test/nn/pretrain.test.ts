/**
 * Self-supervised pre-training (src/nn/pretrain.ts): the contrastive (CoLES) and next-event losses'
 * gradients through a small SeqNet against finite differences, the views' sampling (deterministic for a
 * seed, inside each row's events, the same bytes on 1 and 2 threads of the data-parallel trainer), and
 * the encoder's weights loading into a supervised SeqNet by name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import {
  Arena, copyParamsByName, DataParallel, drawViews, jsKernels, SeqNet, SeqPretrainNet, sharedField, sliceSteps,
  type Batch, type Ctx, type SeqNetSpec, type SeqPretrainSpec, type TrainData,
} from '../../src/nn/index.js';
import { checkGradients } from './gradcheck.js';

const T = 5;
const LENGTHS = [5, 3, 0, 1, 4, 2, 5];

function net(encoder: SeqNetSpec['encoder'], pooling: SeqNetSpec['pooling'], seed = 3): SeqNetSpec {
  return {
    kind: 'seq', seed, steps: T, numeric: 3, categorical: [{ name: 'kind', vocab: 6, dim: 2 }], encoder, pooling, tabular: 2, trunk: 4,
    heads: [{ name: 'default', type: 'binary', weight: 1 }],
  };
}

/** Rows of right-padded events (as encode.ts writes them), `LENGTHS` events each. */
function batch(arena: Arena, seed: number): Batch {
  const rng = new Rng(seed);
  const n = LENGTHS.length;
  const len = Int32Array.from(LENGTHS);
  const valid = (i: number): boolean => i % T < len[Math.floor(i / T)]!;
  const num = arena.f32(n * T * 3).map((_, i) => (valid(Math.floor(i / 3)) ? rng.normal() : 0));
  const ids = arena.i32(n * T).map((_, i) => (valid(i) ? 1 + rng.int(5) : 0));
  const gap = arena.f32(n * T).map((_, i) => (valid(i) ? rng.uniform() * 1000 : 0));
  const lenA = arena.i32(n);
  lenA.set(len);
  return { n, f32: { num, gap, tab: arena.f32(n * 2) }, i32: { 'c.kind': ids, len: lenA } };
}

const ENCODERS: [string, SeqNetSpec['encoder'], SeqNetSpec['pooling']][] = [
  ['GRU, last', { type: 'gru', hidden: 4 }, 'last'],
  ['transformer, time positions, mean', { type: 'transformer', dim: 4, layers: 1, heads: 2, ff: 8, dropout: 0, positions: 'time' }, 'mean'],
];

const METHODS: [SeqPretrainSpec['method'], Partial<SeqPretrainSpec>][] = [
  ['contrastive', { tau: 0.5, minLength: 2 }],
  ['next-event', { field: 'kind' }],
];

describe('self-supervised pre-training', () => {
  for (const [name, encoder, pooling] of ENCODERS) {
    for (const [method, extra] of METHODS) {
      it(`${name}: gradients of the ${method} loss match finite differences`, () => {
        const arena = new Arena(1 << 22, false);
        const pre = new SeqPretrainNet({ kind: 'seq-pretrain', net: net(encoder, pooling), method, tau: 0.1, minLength: 2, ...extra }, arena);
        const b = batch(arena, 9);
        const loss = (): number => {
          const m = arena.mark();
          pre.params.zeroGrad();
          const ctx: Ctx = { arena, k: jsKernels, training: true, rng: new Rng(4) };
          const v = pre.lossAndGrad(ctx, b, 1 / b.n);
          arena.release(m);
          return v;
        };
        const l0 = loss();
        expect(Number.isFinite(l0) && l0 > 0).toBe(true);
        const grads = pre.params.list.map((p) => p.grad.slice());
        expect(grads.some((g) => g.some((x) => x !== 0))).toBe(true);
        checkGradients(loss, pre.params.list.map((p) => p.value), grads, { eps: 3e-3, samples: 6, atol: 1e-3, rtol: 3e-2 });
      });
    }
  }

  it('draws views inside each row\'s events, the same for a seed, skipping rows with fewer than 2 events', () => {
    const a = drawViews(new Rng(11), LENGTHS, 3);
    const b = drawViews(new Rng(11), LENGTHS, 3);
    const c = drawViews(new Rng(12), LENGTHS, 3);
    expect(a).toEqual(b);
    expect([...a.start, ...a.length]).not.toEqual([...c.start, ...c.length]);
    expect(a.pairs).toBe(5);
    expect([...a.src]).toEqual([0, 1, 4, 5, 6, 0, 1, 4, 5, 6]);
    for (let v = 0; v < a.src.length; v++) {
      const len = LENGTHS[a.src[v]!]!;
      expect(a.length[v]).toBeGreaterThanOrEqual(Math.min(3, len));
      expect(a.start[v]! + a.length[v]!).toBeLessThanOrEqual(len);
    }
  });

  it('slices steps into a right-padded batch of sub-sequences', () => {
    const arena = new Arena(1 << 20, false);
    const b = batch(arena, 2);
    const ctx: Ctx = { arena, k: jsKernels, training: true, rng: new Rng(1) };
    const s = sliceSteps(ctx, b, net({ type: 'gru', hidden: 4 }, 'last'), Int32Array.of(0, 4), Int32Array.of(2, 1), Int32Array.of(3, 2));
    expect([...s.i32.len!]).toEqual([3, 2]);
    expect([...s.i32['c.kind']!]).toEqual([...b.i32['c.kind']!.subarray(2, 5), 0, 0, ...b.i32['c.kind']!.subarray(21, 23), 0, 0, 0]);
    expect([...s.f32.num!.subarray(0, 9)]).toEqual([...b.f32.num!.subarray(6, 15)]);
    expect([...s.f32.gap!.subarray(5, 10)]).toEqual([...b.f32.gap!.subarray(21, 23), 0, 0, 0]);
  });

  it('loads the pre-trained encoder into a supervised SeqNet by name: the same embeddings', () => {
    const arena = new Arena(1 << 22, false);
    const encoder: SeqNetSpec['encoder'] = { type: 'transformer', dim: 4, layers: 1, heads: 2, ff: 8, dropout: 0, positions: 'learned' };
    const pre = new SeqPretrainNet({ kind: 'seq-pretrain', net: net(encoder, 'mean', 3), method: 'next-event', tau: 0.1, minLength: 2, field: 'kind' }, arena);
    const sup = new SeqNet(net(encoder, 'mean', 99), arena);
    const names = pre.params.list.map((p) => p.name);
    expect(names.slice(-2)).toEqual(['pretrain.next.weight', 'pretrain.next.bias']);
    expect(names.slice(0, -2)).toEqual(sup.encoderParams.map((p) => p.name));
    expect(sup.params.list.slice(0, names.length - 2).map((p) => p.name)).toEqual(names.slice(0, -2));
    const ctx: Ctx = { arena, k: jsKernels, training: false, rng: new Rng(1) };
    const b = batch(arena, 5);
    const want = pre.predict(ctx, b).slice();
    expect([...sup.embed(ctx, b)]).not.toEqual([...want]);
    const copied = copyParamsByName(pre.params, sup.params);
    expect(copied).toEqual(names.slice(0, -2));
    expect([...sup.embed(ctx, b)]).toEqual([...want]);
    const out = sup.predict(ctx, b);
    for (let r = 0; r < b.n; r++) for (let j = 0; j < 4; j++) expect(out[r * sup.outputs + 1 + j]).toBe(want[r * 4 + j]);
    const other = new SeqNet({ ...net({ type: 'gru', hidden: 5 }, 'last'), seed: 1 }, arena);
    const gru = new SeqNet(net({ type: 'gru', hidden: 4 }, 'last'), arena);
    expect(() => copyParamsByName(gru.params, other.params)).toThrow(/shape/);
  });

  it('pre-trains on 1 and 2 threads to the same bytes, the contrastive loss falling', async () => {
    const rows = 96;
    const rng = new Rng(21);
    const len = Int32Array.from({ length: rows }, () => rng.int(T + 1));
    const num = new Float32Array(rows * T * 3);
    const ids = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) {
      const kind = 1 + rng.int(5);
      for (let t = 0; t < len[r]!; t++) {
        ids[r * T + t] = rng.uniform() < 0.7 ? kind : 1 + rng.int(5);
        for (let j = 0; j < 3; j++) num[(r * T + t) * 3 + j] = kind - 3 + rng.normal() * 0.3;
      }
    }
    const data: TrainData = { rows, fields: [sharedField('num', T * 3, num), sharedField('gap', T, new Float32Array(rows * T)), sharedField('len', 1, len), sharedField('c.kind', T, ids)] };
    const spec: SeqPretrainSpec = { kind: 'seq-pretrain', net: net({ type: 'gru', hidden: 6 }, 'last'), method: 'contrastive', tau: 0.2, minLength: 2 };
    const run = async (nthread: number): Promise<{ params: Buffer; losses: number[] }> => {
      const dp = await DataParallel.start(spec, data, { nthread, shards: 3, maxBatch: 48, seed: 5, wasm: false });
      pools.push(dp);
      const losses: number[] = [];
      const order = new Rng(8);
      for (let step = 0; step < 30; step++) {
        losses.push(dp.step(Int32Array.from({ length: 48 }, () => order.int(rows)), step));
        for (const p of dp.params.list) for (let i = 0; i < p.value.length; i++) p.value[i] = p.value[i]! - 0.5 * p.grad[i]!;
      }
      return { params: Buffer.concat(dp.params.list.map((p) => Buffer.from(p.value.slice().buffer))), losses };
    };
    const one = await run(1);
    const two = await run(2);
    expect(two.losses).toEqual(one.losses);
    expect(two.params.equals(one.params)).toBe(true);
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(one.losses.slice(-5))).toBeLessThan(mean(one.losses.slice(0, 5)));
  }, 60_000);
});

const pools: DataParallel[] = [];
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });
