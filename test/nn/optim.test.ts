/**
 * Adam, AdamW and clip_grad_norm_ against PyTorch 1.13 (fixtures/optim.json, made by
 * scripts/nn-fixtures/optim.py): parameters after each step to 1e-6 relative and within one float32
 * ulp, moments likewise; a
 * checkpointed run resumed bit for bit; learning-rate schedules at their edges; early stopping.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import {
  Adam, AdamW, Dense, EarlyStopping, Params, bceWithLogits, clipGradNorm, lrAt, type OptimizerState,
} from '../../src/nn/index.js';
import { ctxFor, randomArray } from './gradcheck.js';

interface OptCase {
  lrs: number[]; weight_decay: number; beta1: number; beta2: number; eps: number;
  w0: number[]; b0: number[]; grads: { w: number[]; b: number[] }[]; after: { w: number[]; b: number[] }[];
  m: number[][]; v: number[][];
}
interface ClipCase { max_norm: number; g1: number[]; g2: number[]; norm: number; clipped1: number[]; clipped2: number[] }
const fx = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  adam: OptCase; adam_l2: OptCase; adamw: OptCase; clip: ClipCase[];
};

/** |a - e| <= rel * |e| (+ a floor far below float32 resolution at these magnitudes). */
function expectRel(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    if (Math.abs(actual[i]! - e) > rel * Math.abs(e) + 1e-12) throw new Error(`at ${i}: ${actual[i]} vs ${e}`);
  }
}

/** Float32 values at most `ulps` representable values apart (both finite, same sign here). */
function expectUlps(actual: ArrayLike<number>, expected: ArrayLike<number>, ulps: number): void {
  const a = new Int32Array(Float32Array.from(actual).buffer);
  const e = new Int32Array(Float32Array.from(expected).buffer);
  for (let i = 0; i < e.length; i++) if (Math.abs(a[i]! - e[i]!) > ulps) throw new Error(`at ${i}: ${actual[i]} vs ${expected[i]}`);
}

function runCase(c: OptCase, kind: 'adam' | 'adamw'): void {
  const params = new Params(ctxFor().arena);
  const w = params.add('w', [3, 4]);
  const b = params.add('b', [4], false);
  w.value.set(c.w0);
  b.value.set(c.b0);
  const config = { lr: c.lrs[0]!, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weight_decay };
  const opt = kind === 'adam' ? new Adam(params, config) : new AdamW(params, config);
  c.grads.forEach((g, s) => {
    w.grad.set(g.w);
    b.grad.set(g.b);
    opt.step(c.lrs[s]!);
    expectRel(w.value, c.after[s]!.w, 1e-6);
    expectRel(b.value, c.after[s]!.b, 1e-6);
    expectUlps(w.value, c.after[s]!.w, 1);
    expectUlps(b.value, c.after[s]!.b, 1);
  });
  const state = opt.exportState();
  expect(state.step).toBe(c.grads.length);
  state.slots.forEach((slot, k) => {
    expectRel(slot.m, c.m[k]!, 1e-6);
    expectRel(slot.v, c.v[k]!, 1e-6);
    expectUlps(slot.m, c.m[k]!, 1);
    expectUlps(slot.v, c.v[k]!, 1);
  });
}

describe('Adam and AdamW', () => {
  it('follow torch.optim.Adam step for step', () => runCase(fx.adam, 'adam'));
  it('follow torch.optim.Adam with L2 weight decay on the decayed parameter only, lr changing each step', () => runCase(fx.adam_l2, 'adam'));
  it('follow torch.optim.AdamW: decoupled decay with the step lr, none on the bias', () => runCase(fx.adamw, 'adamw'));

  it('resume from exported state bit for bit (a run killed mid-training and restarted)', () => {
    const train = (from: { values: Float32Array[]; state: OptimizerState } | null, steps: number, saveAt: number) => {
      const ctx = ctxFor(3);
      const params = new Params(ctx.arena);
      const dense = new Dense(params, 'fc', 6, 1, new Rng(1));
      const opt = new AdamW(params, { lr: 0.05, weightDecay: 0.1 });
      if (from) {
        params.list.forEach((p, k) => p.value.set(from.values[k]!));
        opt.importState(JSON.parse(JSON.stringify(from.state)) as OptimizerState);
      }
      let saved: { values: Float32Array[]; state: OptimizerState } | null = null;
      const data = new Rng(17);
      const x = randomArray(8 * 6 * steps, data);
      const y = Array.from({ length: 8 * steps }, () => data.int(2));
      for (let s = opt.stepCount; s < steps; s++) {
        const m = ctx.arena.mark();
        opt.zeroGrad();
        const logits = dense.forward(ctx, x.subarray(s * 48, (s + 1) * 48), 8);
        dense.backward(ctx, bceWithLogits(ctx, logits, y.slice(s * 8, (s + 1) * 8)).grad);
        clipGradNorm(params, 0.5);
        opt.step(0.05 * (1 - s / steps));
        ctx.arena.release(m);
        if (opt.stepCount === saveAt) saved = { values: params.list.map((p) => p.value.slice()), state: opt.exportState() };
      }
      return { values: params.list.map((p) => p.value.slice()), saved: saved! };
    };
    const whole = train(null, 10, 4);
    const resumed = train(whole.saved, 10, -1);
    resumed.values.forEach((v, k) => expect(new Uint8Array(v.buffer)).toEqual(new Uint8Array(whole.values[k]!.buffer)));
    expect(resumed.values[0]).not.toEqual(whole.saved.values[0]);
  });

  it('refuse state of another model or optimizer, and bad hyper-parameters', () => {
    const params = new Params(ctxFor().arena);
    params.add('w', [2, 2]);
    const adam = new Adam(params);
    const state = adam.exportState();
    expect(() => new AdamW(params).importState(state)).toThrow(/adam's, not adamw's/);
    expect(() => adam.importState({ ...state, slots: [{ name: 'v', m: [0, 0, 0, 0], v: [0, 0, 0, 0] }] })).toThrow(/parameter 0 is v/);
    expect(() => adam.importState({ ...state, slots: [{ name: 'w', m: [0], v: [0] }] })).toThrow(/has 4 values/);
    expect(() => new Adam(params, { beta2: 1 })).toThrow(/beta2/);
    expect(() => adam.step(Number.NaN)).toThrow(/learning rate/);
  });

  it('zeroGrad clears every gradient', () => {
    const params = new Params(ctxFor().arena);
    const p = params.add('w', [3]);
    p.grad.set([1, 2, 3]);
    new Adam(params).zeroGrad();
    expect([...p.grad]).toEqual([0, 0, 0]);
  });
});

describe('clipGradNorm', () => {
  it('matches torch.nn.utils.clip_grad_norm_: the norm, and gradients scaled only above max_norm', () => {
    for (const c of fx.clip) {
      const params = new Params(ctxFor().arena);
      const a = params.add('a', [5, 3]);
      const b = params.add('b', [7]);
      a.grad.set(c.g1);
      b.grad.set(c.g2);
      const norm = clipGradNorm(params, c.max_norm);
      expectRel([norm], [c.norm], 1e-6);
      expectRel(a.grad, c.clipped1, 1e-6);
      expectRel(b.grad, c.clipped2, 1e-6);
      if (c.norm <= c.max_norm) expect([...a.grad]).toEqual([...Float32Array.from(c.g1)]);
    }
    expect(fx.clip.some((c) => c.norm > c.max_norm) && fx.clip.some((c) => c.norm < c.max_norm)).toBe(true);
  });

  it('returns a non-finite norm and leaves the gradients for the caller to skip the step', () => {
    const params = new Params(ctxFor().arena);
    const p = params.add('w', [2]);
    p.grad.set([Number.POSITIVE_INFINITY, 1]);
    expect(clipGradNorm(params, 1)).toBe(Number.POSITIVE_INFINITY);
    expect([...p.grad]).toEqual([Number.POSITIVE_INFINITY, 1]);
  });
});

describe('learning-rate schedules', () => {
  it('warm up linearly from the first step to the base rate', () => {
    const s = { base: 0.01, warmup: 4 };
    expect([0, 1, 2, 3, 4, 100].map((t) => lrAt(s, t))).toEqual([0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01]);
    expect(lrAt({ base: 0.01 }, 0)).toBe(0.01);
  });

  it('decay linearly or by cosine to min at total, never zero before, and stay there', () => {
    const lin = { base: 1, warmup: 2, decay: 'linear' as const, total: 6, min: 0.2 };
    const want = [0.5, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.2];
    [0, 1, 2, 3, 4, 5, 6, 50].forEach((t, i) => expect(lrAt(lin, t)).toBeCloseTo(want[i]!, 12));
    const cos = { base: 1, decay: 'cosine' as const, total: 4 };
    expect(lrAt(cos, 0)).toBe(1);
    expect(lrAt(cos, 2)).toBeCloseTo(0.5, 12);
    expect(lrAt(cos, 3)).toBeCloseTo((1 + Math.cos((3 * Math.PI) / 4)) / 2, 12);
    expect(lrAt(cos, 3)).toBeGreaterThan(0);
    expect(lrAt(cos, 4)).toBe(0);
    expect(lrAt({ ...cos, warmup: 3 }, 3)).toBe(1);
  });

  it('refuse a decay without total steps beyond the warm-up, and bad steps', () => {
    expect(() => lrAt({ base: 1, decay: 'linear' }, 0)).toThrow(/needs total steps/);
    expect(() => lrAt({ base: 1, warmup: 5, decay: 'cosine', total: 5 }, 0)).toThrow(/greater than the warm-up/);
    expect(() => lrAt({ base: 1, min: 2 }, 0)).toThrow(/min 2/);
    expect(() => lrAt({ base: 1 }, -1)).toThrow(/step -1/);
    expect(() => lrAt({ base: 1, warmup: 1.5 }, 0)).toThrow(/warm-up/);
  });
});

describe('early stopping', () => {
  it('stops after patience epochs without an improvement above min delta and remembers the best epoch (max)', () => {
    const es = new EarlyStopping({ patience: 2, minDelta: 0.01 });
    const seen = [0.70, 0.75, 0.755, 0.78, 0.785, 0.77].map((v, e) => es.update(e, v));
    expect(seen.map((r) => r.improved)).toEqual([true, true, false, true, false, false]);
    expect(seen.map((r) => r.stop)).toEqual([false, false, false, false, false, true]);
    expect(es.bestEpoch).toBe(3);
    expect(es.best).toBe(0.78);
  });

  it('minimises in mode min, never improves on NaN, and with patience 0 stops at the first miss', () => {
    const es = new EarlyStopping({ patience: 0, mode: 'min' });
    expect(es.update(0, Number.NaN)).toEqual({ improved: false, stop: true });
    const es2 = new EarlyStopping({ patience: 1, mode: 'min' });
    expect(es2.update(0, 0.5).improved).toBe(true);
    expect(es2.update(1, 0.4).improved).toBe(true);
    expect(es2.update(2, 0.4)).toEqual({ improved: false, stop: true });
    expect(es2.bestEpoch).toBe(1);
  });

  it('resumes from exported state', () => {
    const a = new EarlyStopping({ patience: 3 });
    [0.5, 0.6, 0.55].forEach((v, e) => a.update(e, v));
    const b = new EarlyStopping({ patience: 3 });
    b.importState(JSON.parse(JSON.stringify(a.exportState())));
    expect(b.update(3, 0.58)).toEqual(a.update(3, 0.58));
    expect(b.update(4, 0.59)).toEqual({ improved: false, stop: true });
    expect(b.bestEpoch).toBe(1);
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(/patience/);
  });
});
