/**
 * A whole SeqNet exported to ONNX (src/nn/onnx/seqnet.ts) and run by onnxruntime gives SeqNet.predict's
 * heads and embedding to 1e-5, on random batches with padding (garbage in the padded steps), empty
 * histories and full ones, for GRU and transformer encoders with every pooling, learned and time-gap
 * positions, categorical embeddings, tabular fusion and a trunk; unknown kinds are refused by name.
 */
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import {
  Arena, exportSeqNet, jsKernels, OnnxSession, onnxSignature, SeqNet, seqNetOnnxInputs,
  type Batch, type Ctx, type Feed, type SeqNetSpec, type StateDict,
} from '../../src/nn/index.js';

const T = 6;
const NUM = 4;

function spec(encoder: SeqNetSpec['encoder'], pooling: SeqNetSpec['pooling'], extra: Partial<SeqNetSpec> = {}): SeqNetSpec {
  return {
    kind: 'seq', seed: 11, steps: T, numeric: NUM, categorical: [{ name: 'kind', vocab: 7, dim: 3 }, { name: 'channel', vocab: 5, dim: 2 }],
    encoder, pooling, tabular: 3, trunk: 5,
    heads: [{ name: 'default', type: 'binary', weight: 1 }, { name: 'next', type: 'softmax', classes: 4, weight: 0.5 }], ...extra,
  };
}

/** A net whose every parameter is moved off its initial value (layer norms, zero biases included). */
function net(s: SeqNetSpec): { net: SeqNet; sd: StateDict; arena: Arena } {
  const arena = new Arena(1 << 23, false);
  const n = new SeqNet(s, arena);
  const rng = new Rng(s.seed, 77);
  const values: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const p of n.params.list) {
    for (let i = 0; i < p.value.length; i++) p.value[i] = p.value[i]! + 0.3 * rng.normal();
    values[p.name] = p.value.slice();
    shapes[p.name] = [...p.shape];
  }
  return { net: n, sd: { values, shapes }, arena };
}

/** Lengths cycle through empty, full and partial histories; padded steps hold random values and ids. */
function batch(arena: Arena, s: SeqNetSpec, n: number, seed: number): Batch {
  const rng = new Rng(seed);
  const num = arena.f32(n * T * NUM).map(() => rng.normal());
  const i32: Record<string, Int32Array> = { len: arena.i32(n).map((_, i) => [0, T, 1, 3, 5, 0, 2][(i + seed) % 7]!) };
  for (const c of s.categorical) i32[`c.${c.name}`] = arena.i32(n * T).map(() => rng.int(c.vocab));
  const gaps = [0, 0.5, 3, 60, 3600, 86400 * 30, 1e-4, -5, 86400 * 365 * 3];
  const gap = arena.f32(n * T).map(() => gaps[rng.int(gaps.length)]! * (0.5 + rng.uniform()));
  const tab = arena.f32(n * s.tabular).map(() => rng.normal());
  return { n, f32: { num, gap, tab }, i32 };
}

function feeds(s: SeqNetSpec, b: Batch): Record<string, Feed> {
  const out: Record<string, Feed> = {};
  const n = b.n;
  for (const inp of seqNetOnnxInputs(s)) {
    const dims = inp.dims.map((d) => (d === 'batch' ? n : (d as number)));
    if (inp.name === 'len' || inp.name.startsWith('c.')) out[inp.name] = { data: b.i32[inp.name]!, dims };
    else out[inp.name] = { data: b.f32[inp.name]!, dims };
  }
  return out;
}

/** |a - b| <= tol (1 + |b|) everywhere; returns the largest difference. */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    worst = Math.max(worst, d);
    if (!(d <= tol * (1 + Math.abs(b[i]!)))) expect.fail(`element ${i}: ${a[i]} vs ${b[i]} (diff ${d})`);
  }
  return worst;
}

const TR = (positions: 'learned' | 'time' | 'none', layers = 2): SeqNetSpec['encoder'] => ({ type: 'transformer', dim: 8, layers, heads: 2, ff: 12, dropout: 0.1, positions });
const CASES: [string, SeqNetSpec][] = [
  ['GRU, last pooling (its final state), joint with a trunk', spec({ type: 'gru', hidden: 6 }, 'last')],
  ['GRU, mean pooling, sequence only, no trunk', spec({ type: 'gru', hidden: 6 }, 'mean', { tabular: 0, trunk: 0 })],
  ['GRU, attention pooling', spec({ type: 'gru', hidden: 6 }, 'attention', { trunk: 0 })],
  ['transformer, learned positions, mean pooling', spec(TR('learned'), 'mean')],
  ['transformer, time-gap positions, attention pooling', spec(TR('time', 1), 'attention')],
  ['transformer, no positions, last pooling, one binary head, no categorical fields', spec(TR('none'), 'last', { categorical: [], heads: [{ name: 'default', type: 'binary', weight: 1 }] })],
];

describe('SeqNet -> ONNX', () => {
  for (const [name, s] of CASES) {
    it(`${name}: onnxruntime equals SeqNet.predict to 1e-5`, async () => {
      const { net: model, sd, arena } = net(s);
      const ctx: Ctx = { arena, k: jsKernels, training: false, rng: new Rng(1) };
      const bytes = exportSeqNet(s, sd);
      const session = await OnnxSession.create(bytes);
      try {
        for (const [n, seed] of [[21, 5], [1, 6]] as const) {
          const b = batch(arena, s, n, seed);
          const want = model.predict(ctx, b).slice();
          const got = await session.run(feeds(s, b));
          const W = model.outputs;
          const D = model.embeddingDim;
          const HW = W - D;
          expect(got.logits!.dims).toEqual([n, HW]);
          expect(got.embedding!.dims).toEqual([n, D]);
          const wantLogits = new Float32Array(n * HW);
          const wantEmb = new Float32Array(n * D);
          for (let r = 0; r < n; r++) {
            wantLogits.set(want.subarray(r * W, r * W + HW), r * HW);
            wantEmb.set(want.subarray(r * W + HW, (r + 1) * W), r * D);
          }
          expectClose(got.logits!.data, wantLogits);
          expectClose(got.embedding!.data, wantEmb);
          // Empty histories get the learned empty vector.
          const empty = sd.values['pool.empty']!;
          b.i32.len!.forEach((L, r) => { if (L === 0) expectClose(got.embedding!.data.subarray(r * D, (r + 1) * D), empty); });
        }
      } finally {
        await session.release();
      }
    });
  }

  it('declares kiln input names with a dynamic batch and fixed steps, int64 lengths and ids', () => {
    const s = spec(TR('time', 1), 'mean');
    const sig = onnxSignature(exportSeqNet(s, net(s).sd));
    expect(sig.inputs).toEqual([
      { name: 'num', type: 'float32', dims: ['batch', T, NUM] },
      { name: 'len', type: 'int64', dims: ['batch'] },
      { name: 'c.kind', type: 'int64', dims: ['batch', T] },
      { name: 'c.channel', type: 'int64', dims: ['batch', T] },
      { name: 'gap', type: 'float32', dims: ['batch', T] },
      { name: 'tab', type: 'float32', dims: ['batch', 3] },
    ]);
    expect(sig.outputs).toEqual([{ name: 'logits', type: 'float32', dims: ['batch', 5] }, { name: 'embedding', type: 'float32', dims: ['batch', 8] }]);
  });

  it('refuses what it cannot export, by name, and a parameter of the wrong shape', () => {
    const s = spec({ type: 'gru', hidden: 6 }, 'last');
    const { sd } = net(s);
    const bad = { ...s, pooling: 'max' } as unknown as SeqNetSpec;
    try {
      exportSeqNet(bad, sd);
      expect.fail('exported');
    } catch (e) {
      expect(isKilnError(e) && e.code).toBe('INVALID_ARGUMENT');
      expect((e as Error).message).toContain("pooling 'max' is not supported");
    }
    const wrong = { ...s, heads: [{ name: 'default', type: 'binary', weight: 1 }] } as SeqNetSpec;
    expect(() => exportSeqNet(wrong, sd)).toThrow(/heads\.weight has shape \[5, 5\], expected \[1, 5\]/);
  });
});
