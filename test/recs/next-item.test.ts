import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { KilnError } from '../../src/core/errors.js';
import { Arena, kernelsFor, MultiheadAttention, Params, softmaxCrossEntropy, type Ctx } from '../../src/nn/index.js';
import { fullSoftmaxGrad } from '../../src/recs/sequence-net.js';
import { checkAttentionGradients, ctxFor } from '../nn/gradcheck.js';
import {
  checkGeneratorSpec, evaluateNextItem, evaluateTopK, fitGenerator, fitPopularity, leaveLastOut, rankOf, syntheticMarketplace, trainingWindows, userSequences,
  type GeneratorSpec, type InteractionTable,
} from '../../src/recs/index.js';

/** Users walk the catalogue in order: item i is always followed by item i + 1 (mod items). */
function successorTable(users: number, items: number, seed: number): InteractionTable {
  const rng = new Rng(seed);
  const u: number[] = [];
  const it: number[] = [];
  const t: number[] = [];
  for (let x = 0; x < users; x++) {
    const start = rng.int(items);
    const n = 4 + rng.int(8);
    for (let k = 0; k < n; k++) { u.push(x); it.push((start + k) % items); t.push(1000 * x + k); }
  }
  // rows shuffled so time, not row order, must give the sequence
  const order = Array.from({ length: u.length }, (_, k) => k);
  for (let k = order.length - 1; k > 0; k--) { const j = rng.int(k + 1); [order[k], order[j]] = [order[j]!, order[k]!]; }
  return { nUsers: users, nItems: items, users: Int32Array.from(order, (k) => u[k]!), items: Int32Array.from(order, (k) => it[k]!), times: Float64Array.from(order, (k) => t[k]!) };
}

describe('leaveLastOut', () => {
  it('holds out each user\'s last row by time, the later row on ties; a user with one row stays in train', () => {
    const t: InteractionTable = {
      nUsers: 3, nItems: 6,
      users: Int32Array.from([0, 0, 0, 1, 1, 2, 1]),
      items: Int32Array.from([0, 1, 2, 3, 4, 5, 0]),
      times: Float64Array.from([5, 9, 1, 7, 7, 3, 2]),
    };
    const { train, test } = leaveLastOut(t);
    expect(Array.from(test.users)).toEqual([0, 1]);
    expect(Array.from(test.items)).toEqual([1, 4]);
    expect(Array.from(test.times!)).toEqual([9, 7]);
    expect(Array.from(train.users)).toEqual([0, 0, 1, 2, 1]);
    expect(Array.from(train.items)).toEqual([0, 2, 3, 5, 0]);
    // without times: the last row of each user; applied again it carves the validation split
    const noTimes = { ...t, times: undefined };
    expect(Array.from(leaveLastOut(noTimes).test.items)).toEqual([2, 0]);
    const v = leaveLastOut(train);
    expect(Array.from(v.test.items)).toEqual([0, 3]);
    expect(() => leaveLastOut({ ...t, nItems: 3 })).toThrow(/items\.3: id 3 is outside 0\.\.2/);
  });

  it('orders each user\'s items by time for the sequence model, windows cut from the end', () => {
    const t = successorTable(3, 20, 4);
    const seq = userSequences(t);
    for (let u = 0; u < 3; u++) {
      const s = Array.from(seq.tokens.subarray(seq.offsets[u]!, seq.offsets[u + 1]!));
      s.forEach((x, k) => { if (k > 0) expect(x).toBe((s[k - 1]! + 1) % 20); });
    }
    const one = { tokens: Int32Array.from([7, 8, 9, 10, 11, 12]), offsets: Int32Array.from([0, 6]) };
    const w = trainingWindows(one, 3, 99);
    expect(w.count).toBe(2);
    expect(Array.from(w.lengths)).toEqual([3, 2]);
    expect(Array.from(w.ids)).toEqual([9, 10, 11, 7, 8, 99]);
    expect(Array.from(w.targets)).toEqual([10, 11, 12, 8, 9, -100]);
  });
});

describe('evaluateNextItem', () => {
  it('ranks the held-out item among unseen items (ties to the lower id, NaN last)', () => {
    const s = Float32Array.from([0.5, 0.9, 0.5, NaN, 0.7, 0.5]);
    const seen = Int32Array.from([1]);
    expect(rankOf(s, 4, seen)).toBe(1);
    expect(rankOf(s, 0, seen)).toBe(2);
    expect(rankOf(s, 2, seen)).toBe(3);
    expect(rankOf(s, 5, seen)).toBe(4);
    expect(rankOf(s, 3, seen)).toBe(5);
    const train: InteractionTable = { nUsers: 2, nItems: 6, users: Int32Array.from([0, 1]), items: Int32Array.from([1, 1]) };
    const test: InteractionTable = { nUsers: 2, nItems: 6, users: Int32Array.from([0, 1]), items: Int32Array.from([2, 1]) };
    const r = evaluateNextItem({ train, test, k: 2, scoreAll: (_u, out) => out.set(s) });
    expect(r).toEqual({ k: 2, users: 1, skipped: 1, hr: 0, ndcg: 0, mrr: 1 / 3 });
    const two = { ...test, users: Int32Array.from([0, 0]) };
    expect(() => evaluateNextItem({ train, test: two, scoreAll: () => {} })).toThrow(/more than one row for user 0/);
  });

  it('gives HR@10 = Recall@10 and the same nDCG@10 as the top-k evaluation with one target', () => {
    const m = syntheticMarketplace({ users: 150, items: 90, perUser: 12, seed: 2 });
    const { train, test } = leaveLastOut(m.table);
    const pop = fitPopularity(train);
    const a = evaluateNextItem({ train, test, scoreAll: (u, out) => pop.scoreAll(u, out) });
    const b = evaluateTopK({ train, test, k: 10, recommend: (u, k) => pop.candidates(u, k).items });
    expect(a.users).toBe(b.users);
    expect(a.hr).toBeCloseTo(b.recall, 12);
    expect(a.ndcg).toBeCloseTo(b.ndcg, 12);
    expect(a.mrr).toBeGreaterThan(0);
  });
});

describe('sequence generator', () => {
  const table = successorTable(120, 60, 1);
  const { train, test } = leaveLastOut(table);
  const small: GeneratorSpec = { kind: 'sequence', dim: 16, maxLen: 8, epochs: 12, batch: 16, lr: 0.01, dropout: 0 };

  it('learns an obvious order (item i then i + 1) that popularity cannot see', async () => {
    const pop = fitPopularity(train);
    const p = evaluateNextItem({ train, test, scoreAll: (u, out) => pop.scoreAll(u, out) });
    const g = await fitGenerator(small, train);
    expect(g.kind).toBe('sequence');
    const r = evaluateNextItem({ train, test, scoreAll: (u, out) => g.scoreAll(u, out) });
    expect(p.hr).toBeLessThan(0.3);
    expect(r.hr).toBeGreaterThan(0.9);
    expect(r.mrr).toBeGreaterThan(0.6);
    const c = g.candidates(0, 5);
    const seen = g.seenItems(0);
    for (const i of c.items) expect(seen.includes(i)).toBe(false);
  }, 20_000);

  it('learns it with the causal transformer and with sampled negatives', async () => {
    const tr = await fitGenerator({ ...small, cell: 'transformer', layers: 1, heads: 2, epochs: 10 }, train);
    expect(evaluateNextItem({ train, test, scoreAll: (u, out) => tr.scoreAll(u, out) }).hr).toBeGreaterThan(0.9);
    const sampled = await fitGenerator({ ...small, negatives: 20, tied: false }, train);
    expect(evaluateNextItem({ train, test, scoreAll: (u, out) => sampled.scoreAll(u, out) }).hr).toBeGreaterThan(0.8);
  }, 20_000);

  it('computes the full softmax loss and gradient as the nn reference does', () => {
    const arena = new Arena(1 << 20);
    const ctx: Ctx = { arena, k: kernelsFor(arena), training: true, rng: new Rng(0) };
    const rng = new Rng(8);
    const [R, N] = [5, 37];
    const z = arena.f32(R * N);
    for (let i = 0; i < z.length; i++) z[i] = rng.normal() * 3;
    const tg = Int32Array.from([0, 36, 5, 5, 20]);
    const ref = softmaxCrossEntropy(ctx, Float32Array.from(z), tg, N);
    const { loss } = fullSoftmaxGrad(ctx.k, z, tg, R, N);
    expect(loss).toBeCloseTo(ref.loss, 5);
    for (let i = 0; i < z.length; i++) expect(z[i]).toBeCloseTo(ref.grad[i]!, 6);
  });

  it('is seeded: the same spec gives the same scores, another seed others', async () => {
    const spec: GeneratorSpec = { ...small, epochs: 2, dropout: 0.2 };
    const score = async (s: GeneratorSpec): Promise<Buffer> => {
      const out = new Float32Array(train.nItems);
      (await fitGenerator(s, train)).scoreAll(3, out);
      return Buffer.from(out.buffer);
    };
    const a = await score(spec);
    expect(await score(spec)).toEqual(a);
    expect(await score({ ...spec, seed: 2 })).not.toEqual(a);
  });

  it('names bad options', async () => {
    const err = await fitGenerator({ kind: 'sequence', cell: 'lstm' as 'gru', dim: 0 }, train).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).code).toBe('RECS_PARAM_INVALID');
    expect((err as KilnError).message).toMatch(/cell: must be 'gru' or 'transformer', got 'lstm'; dim: must be an integer in \[2, 1024\], got 0/);
    expect(() => checkGeneratorSpec({ kind: 'sequence', cell: 'transformer', dim: 10, heads: 4 })).toThrow(/heads: must divide dim \(10\), got 4/);
    expect(() => checkGeneratorSpec({ kind: 'sequence', maxlen: 5 } as GeneratorSpec)).toThrow(/maxlen: is not an option of the sequence generator \(did you mean 'maxLen'\?\)/);
    expect(() => checkGeneratorSpec({ kind: 'sequence', dropout: 1, lr: -1, negatives: 1.5 })).toThrow(/negatives: must be an integer in \[0, 1048576\], got 1\.5; lr: must be a finite number > 0, got -1; dropout: must be in \[0, 1\), got 1/);
  });
});

describe('causal attention', () => {
  it('keeps each step blind to the steps after it', () => {
    const arena = new Arena(1 << 20);
    const P = new Params(arena);
    const attn = new MultiheadAttention(P, 'a', 8, 2, new Rng(3), 0, true);
    const ctx: Ctx = { arena, k: kernelsFor(arena), training: false, rng: new Rng(0) };
    const rng = new Rng(4);
    const x = arena.f32(2 * 5 * 8);
    for (let j = 0; j < x.length; j++) x[j] = rng.normal();
    const lengths = Int32Array.from([5, 4]);
    const y1 = Float32Array.from(attn.forward(ctx, x, 2, 5, lengths));
    const x2 = Float32Array.from(x);
    for (let j = 3 * 8; j < 5 * 8; j++) x2[j] = rng.normal();
    const xa = arena.f32(x2.length);
    xa.set(x2);
    const y2 = attn.forward(ctx, xa, 2, 5, lengths);
    expect(Array.from(y2.subarray(0, 3 * 8))).toEqual(Array.from(y1.subarray(0, 3 * 8)));
    expect(Array.from(y2.subarray(3 * 8, 4 * 8))).not.toEqual(Array.from(y1.subarray(3 * 8, 4 * 8)));
    expect(Array.from(y2.subarray(5 * 8))).toEqual(Array.from(y1.subarray(5 * 8)));
  });

  it('has gradients that match finite differences (dropout 0.2, lengths 4, 3, 0)', () => {
    const base = ctxFor();
    const P = new Params(base.arena);
    const attn = new MultiheadAttention(P, 'a', 6, 3, new Rng(5), 0.2, true);
    checkAttentionGradients(base, P, attn, 6, 3, 4, [4, 3, 0]);
  });
});
