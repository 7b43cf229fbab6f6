import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import {
  heldOutRecall, inBatchSoftmax, plantedWorld, trainTwoTower, TwoTowerModel, type TwoTowerData, type TwoTowerOptions,
} from '../../src/embeddings/index.js';
import { distinctIds, LazyRowAdamW } from '../../src/embeddings/two-tower-optim.js';
import { AdamW, Arena, kernelsFor, Params, TwoTowerNet, type Ctx, type TwoTowerNetSpec } from '../../src/nn/index.js';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const FAST: TwoTowerOptions = { dim: 16, hidden: 32, epochs: 6, batchSize: 128, lr: 0.01, seed: 3 };

/** The loss of two-tower-loss.ts written out in float64, term by term. */
function naiveLoss(u: Float32Array, v: Float32Array, n: number, dim: number, tau: number, items: Int32Array, logQ: Float32Array | null, w: Float32Array | null): number {
  let W = 0;
  for (let i = 0; i < n; i++) W += w ? w[i]! : 1;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const z: number[] = [];
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += u[i * dim + d]! * v[j * dim + d]!;
      z.push(j !== i && items[j] === items[i] ? -Infinity : s / tau - (logQ ? logQ[j]! : 0));
    }
    const max = Math.max(...z);
    const lse = max + Math.log(z.reduce((a, x) => a + Math.exp(x - max), 0));
    total += ((w ? w[i]! : 1) / W) * (lse - z[i]!);
  }
  return total;
}

function unitRows(rng: Rng, n: number, dim: number, arena: Arena): Float32Array {
  const x = arena.f32(n * dim);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let d = 0; d < dim; d++) { x[r * dim + d] = rng.normal(); s += x[r * dim + d]! ** 2; }
    for (let d = 0; d < dim; d++) x[r * dim + d] = x[r * dim + d]! / Math.sqrt(s);
  }
  return x;
}

describe('in-batch softmax', () => {
  const n = 9;
  const dim = 5;
  const arena = new Arena(1 << 20);
  const k = kernelsFor(arena);
  const rng = new Rng(11);
  const u = unitRows(rng, n, dim, arena);
  const v = unitRows(rng, n, dim, arena);
  const items = Int32Array.from([4, 1, 7, 1, 2, 9, 4, 1, 3]);
  const logQ = Float32Array.from(items, (i) => Math.log((i + 1) / 50));
  const w = Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 3));
  const gu = arena.f32(n * dim);
  const gv = arena.f32(n * dim);

  it('matches the loss written out, with repeats masked, log-q and weights', () => {
    for (const [lq, ww, tau] of [[null, null, 0.1], [logQ, null, 0.05], [logQ, w, 0.2]] as const) {
      const got = inBatchSoftmax(k, arena, { u, v, n, dim, temperature: tau, items, logQ: lq, weights: ww }, gu, gv);
      expect(got).toBeCloseTo(naiveLoss(u, v, n, dim, tau, items, lq, ww), 4);
    }
  });

  it('has the gradient of finite differences', () => {
    const input = { u, v, n, dim, temperature: 0.2, items, logQ, weights: w };
    inBatchSoftmax(k, arena, input, gu, gv);
    const h = 1e-3;
    for (const [x, g] of [[u, gu], [v, gv]] as const) {
      for (const at of [0, 7, 23, 44]) {
        const keep = x[at]!;
        x[at] = keep + h;
        const up = naiveLoss(u, v, n, dim, 0.2, items, logQ, w);
        x[at] = keep - h;
        const down = naiveLoss(u, v, n, dim, 0.2, items, logQ, w);
        x[at] = keep;
        expect(g[at]!).toBeCloseTo((up - down) / (2 * h), 3);
      }
    }
  });

  it('gives a finite loss when the positive is far below its negatives', () => {
    const far = arena.f32(2 * dim);
    far[0] = 1;
    const vv = arena.f32(2 * dim);
    vv[0] = -1;
    vv[dim] = 1;
    far[dim] = 1;
    const loss = inBatchSoftmax(k, arena, { u: far, v: vv, n: 2, dim, temperature: 0.001, items: Int32Array.from([0, 1]), logQ: null, weights: null }, gu, gv);
    expect(loss).toBeCloseTo(1000, 0);
  });
});

describe('two-tower network', () => {
  it('back-propagates through ids, features, ReLU and the normalisation (finite differences)', () => {
    const spec: TwoTowerNetSpec = { kind: 'two-tower', seed: 4, dim: 4, hidden: 6, user: { ids: 5, idDim: 3, features: 2 }, item: { ids: 0, idDim: 3, features: 3 } };
    const arena = new Arena(1 << 20);
    const net = new TwoTowerNet(spec, arena);
    const ctx: Ctx = { arena, k: kernelsFor(arena), training: true, rng: new Rng(0) };
    const n = 6;
    const rng = new Rng(5);
    const uid = arena.i32(n);
    uid.set([0, 3, -1, 4, 3, 1]);
    const uf = arena.f32(n * 2).map(() => rng.normal());
    const itf = arena.f32(n * 3).map(() => rng.normal());
    const items = Int32Array.from({ length: n }, (_, i) => i);
    const gu = arena.f32(n * 4);
    const gv = arena.f32(n * 4);
    const loss = (): number => {
      const mark = arena.mark();
      const u = net.user.forward(ctx, uid, uf, n);
      const v = net.item.forward(ctx, null, itf, n);
      const l = inBatchSoftmax(ctx.k, arena, { u, v, n, dim: 4, temperature: 0.5, items, logQ: null, weights: null }, gu, gv);
      arena.release(mark);
      return l;
    };
    net.params.zeroGrad();
    const mark = arena.mark();
    const u = net.user.forward(ctx, uid, uf, n);
    const v = net.item.forward(ctx, null, itf, n);
    inBatchSoftmax(ctx.k, arena, { u, v, n, dim: 4, temperature: 0.5, items, logQ: null, weights: null }, gu, gv);
    net.user.backward(ctx, gu, 0, 4);
    net.item.backward(ctx, gv, 0, 4);
    arena.release(mark);
    const grads = net.params.list.map((p) => Float32Array.from(p.grad));
    const padding = net.params.get('user.ids.weight');
    expect(Array.from(padding.grad.subarray(5 * 3, 6 * 3))).toEqual([0, 0, 0]);
    expect(Array.from(padding.grad.subarray(2 * 3, 3 * 3))).toEqual([0, 0, 0]);
    let checked = 0;
    net.params.list.forEach((p, pi) => {
      for (const at of [0, Math.floor(p.value.length / 2), p.value.length - 1]) {
        if (p.name === 'user.ids.weight' && at >= 15) continue;
        const keep = p.value[at]!;
        const h = 1e-2;
        p.value[at] = keep + h;
        const up = loss();
        p.value[at] = keep - h;
        const down = loss();
        p.value[at] = keep;
        const fd = (up - down) / (2 * h);
        expect(Math.abs(grads[pi]![at]! - fd), `${p.name}[${at}]`).toBeLessThan(2e-3 + 0.02 * Math.abs(fd));
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(15);
  });

  it('embeds a cold id (-1) from features alone: a zero id vector', async () => {
    const w = plantedWorld({ seed: 2, users: 80, items: 40 });
    const r = await trainTwoTower(w.train, { ...FAST, epochs: 1 });
    const f = w.train.userFeatures!.subarray(0, 3 * 8);
    const cold = r.model.embedUsers(Int32Array.from([-1, -1, -1]), f);
    const json = r.model.toJSON();
    const zeroTable = TwoTowerModel.fromJSON({
      ...json,
      params: json.params.map((p) => (p.name === 'user.ids.weight' ? { ...p, data: Buffer.alloc(p.shape[0]! * p.shape[1]! * 4).toString('base64') } : p)),
    });
    expect(bytes(zeroTable.embedUsers(Int32Array.from([0, 1, 2]), f)).equals(bytes(cold))).toBe(true);
    expect(bytes(cold).equals(bytes(r.model.embedUsers(Int32Array.from([0, 1, 2]), f)))).toBe(false);
    for (let i = 0; i < 3; i++) {
      let s = 0;
      for (let d = 0; d < r.dim; d++) s += cold[i * r.dim + d]! ** 2;
      expect(s).toBeCloseTo(1, 5);
    }
  });
});

describe('lazy AdamW over id tables', () => {
  it('is AdamW byte for byte when every row is touched, and leaves untouched rows alone', () => {
    const mk = (): Params => {
      const p = new Params(new Arena(1 << 16));
      const t = p.add('t', [4, 3]);
      const rng = new Rng(8);
      t.value.forEach((_, i) => { t.value[i] = rng.normal(); });
      return p;
    };
    const a = mk();
    const b = mk();
    const dense = new AdamW(a, { lr: 0.05, weightDecay: 0.1 });
    const lazy = new LazyRowAdamW(b.list, { weightDecay: 0.1 });
    const rng = new Rng(9);
    for (let s = 0; s < 5; s++) {
      const g = Float32Array.from({ length: 12 }, () => rng.normal());
      a.list[0]!.grad.set(g);
      b.list[0]!.grad.set(g);
      dense.step(0.05);
      lazy.step(0.05, [Int32Array.from([2, 0, 3, 1])]);
    }
    expect(bytes(b.list[0]!.value).equals(bytes(a.list[0]!.value))).toBe(true);
    const before = Float32Array.from(b.list[0]!.value);
    b.list[0]!.grad.fill(1);
    lazy.step(0.05, [Int32Array.from([1])]);
    const after = b.list[0]!.value;
    expect(bytes(after.subarray(0, 3)).equals(bytes(before.subarray(0, 3)))).toBe(true);
    expect(bytes(after.subarray(6)).equals(bytes(before.subarray(6)))).toBe(true);
    expect(after[3]).not.toBe(before[3]);
  });

  it('lists the distinct ids of a batch once each', () => {
    const stamp = new Int32Array(10);
    const out = new Int32Array(8);
    const ids = Int32Array.from([5, 2, 5, 9, 2, 0]);
    expect(Array.from(distinctIds(ids, Int32Array.from([0, 1, 2, 3, 4]), stamp, 1, out))).toEqual([5, 2, 9]);
    expect(Array.from(distinctIds(ids, Int32Array.from([2, 5]), stamp, 2, out))).toEqual([5, 0]);
  });
});

describe('trainTwoTower', () => {
  const world = plantedWorld({ seed: 1 });

  it('is deterministic: same seed, same bytes (threads 1, twice; threads 2 and 3 alike); another seed differs', async () => {
    const opts = { ...FAST, epochs: 2 };
    const a = await trainTwoTower(world.train, opts);
    const b = await trainTwoTower(world.train, opts);
    expect(bytes(a.userVectors).equals(bytes(b.userVectors))).toBe(true);
    expect(bytes(a.itemVectors).equals(bytes(b.itemVectors))).toBe(true);
    expect(a.losses).toEqual(b.losses);
    const c = await trainTwoTower(world.train, { ...opts, seed: 4 });
    expect(bytes(c.userVectors).equals(bytes(a.userVectors))).toBe(false);
    const t2 = await trainTwoTower(world.train, { ...opts, threads: 2 });
    const t3 = await trainTwoTower(world.train, { ...opts, threads: 3 });
    expect(bytes(t2.userVectors).equals(bytes(t3.userVectors))).toBe(true);
    expect(bytes(t2.itemVectors).equals(bytes(t3.itemVectors))).toBe(true);
    for (let e = 0; e < 2; e++) expect(t2.losses[e]!).toBeCloseTo(a.losses[e]!, 3);
  });

  it('lowers the loss and finds held-out pairs far better than popularity (planted world)', async () => {
    const seen: number[] = [];
    const r = await trainTwoTower(world.train, { ...FAST, epochs: 8, onEpoch: (e) => seen.push(e.epoch) });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(r.losses).toHaveLength(8);
    expect(r.losses[7]!).toBeLessThan(r.losses[0]! - 1);
    for (let e = 1; e < 8; e++) expect(r.losses[e]!).toBeLessThan(r.losses[e - 1]! + 0.02);
    const pop = new Float32Array(world.train.items);
    for (const i of world.train.item) pop[i]!++;
    const popRecall = heldOutRecall(new Float32Array(world.train.users).fill(1), pop, 1, world.train, world.test, 10);
    const recall = heldOutRecall(r.userVectors, r.itemVectors, r.dim, world.train, world.test, 10);
    expect(popRecall).toBeLessThan(0.15);
    expect(recall).toBeGreaterThan(0.5);
    expect(recall).toBeGreaterThan(4 * popRecall);
    for (let u = 0; u < 10; u++) {
      let s = 0;
      for (let d = 0; d < r.dim; d++) s += r.userVectors[u * r.dim + d]! ** 2;
      expect(s).toBeCloseTo(1, 5);
    }
  });

  it('cold start: a features-only model ranks a new user\'s own cluster first from features alone', async () => {
    const r = await trainTwoTower(world.train, { ...FAST, ids: false, epochs: 5 });
    expect(r.model.users).toBe(0);
    const cold = world.drawUsers(60, 77);
    const u = r.model.embedUsers(null, cold.features);
    const K = 8;
    let first = 0;
    let inTop10 = 0;
    for (let q = 0; q < 60; q++) {
      const clusterScore = new Float64Array(K);
      const scores: { i: number; s: number }[] = [];
      for (let i = 0; i < world.train.items; i++) {
        let s = 0;
        for (let d = 0; d < r.dim; d++) s += u[q * r.dim + d]! * r.itemVectors[i * r.dim + d]!;
        clusterScore[world.itemCluster[i]!]! += s / (world.train.items / K);
        scores.push({ i, s });
      }
      const best = clusterScore.indexOf(Math.max(...clusterScore));
      if (best === cold.cluster[q]) first++;
      scores.sort((a, b) => b.s - a.s);
      inTop10 += scores.slice(0, 10).filter((x) => world.itemCluster[x.i] === cold.cluster[q]).length;
    }
    expect(first / 60).toBeGreaterThanOrEqual(0.95);
    expect(inTop10 / 600).toBeGreaterThanOrEqual(0.9);
  });

  it('round-trips through toJSON/fromJSON to the same vectors', async () => {
    const r = await trainTwoTower(world.train, { ...FAST, epochs: 1, hidden: 0 });
    const json = JSON.parse(JSON.stringify(r.model.toJSON()));
    expect(json.format).toBe('kiln.two-tower@1');
    const back = TwoTowerModel.fromJSON(json);
    const ids = Int32Array.from({ length: world.train.users }, (_, i) => i);
    expect(bytes(back.embedUsers(ids, world.train.userFeatures)).equals(bytes(r.userVectors))).toBe(true);
    const items = Int32Array.from({ length: world.train.items }, (_, i) => i);
    expect(bytes(back.embedItems(items, world.train.itemFeatures)).equals(bytes(r.itemVectors))).toBe(true);
    const one = back.embedUsers(Int32Array.from([37]), world.train.userFeatures!.subarray(37 * 8, 38 * 8));
    expect(bytes(one).equals(bytes(r.userVectors.subarray(37 * r.dim, 38 * r.dim)))).toBe(true);
    expect(() => TwoTowerModel.fromJSON({ ...json, format: 'kiln.two-tower@2' })).toThrow(expect.objectContaining({ code: 'MODEL_FORMAT_TOO_NEW' }));
    expect(() => TwoTowerModel.fromJSON({ ...json, format: 'kiln.gbdt@1' })).toThrow(expect.objectContaining({ code: 'MODEL_FORMAT_INVALID' }));
    const cut = { ...json, params: json.params.map((p: { data: string }, i: number) => (i === 0 ? { ...p, data: p.data.slice(0, 8) } : p)) };
    expect(() => TwoTowerModel.fromJSON(cut)).toThrow(/values, expected/);
  });

  it('stops with INTERRUPTED when its signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(trainTwoTower(world.train, { ...FAST, signal: ac.signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
  });
});

describe('heldOutRecall', () => {
  it('ranks unseen items by dot product, ties by lower id, over min(k, held-out)', () => {
    const users = Float32Array.from([1, 0, 0, 1]);
    const items = Float32Array.from([1, 0, 0.9, 0, 0, 1, 0.5, 0.5, 0.9, 0]);
    const train = { user: Int32Array.from([0]), item: Int32Array.from([0]) };
    const test = { user: Int32Array.from([0, 0, 1, 1, 1]), item: Int32Array.from([4, 3, 2, 0, 4]) };
    // user 0 (0 seen): 1 (0.9), 4 (0.9), 3 (0.5), 2 (0) -> top 2 = {1, 4}: 1 hit of min(2, 2); user 1: 2 (1), 3 (0.5), 0/1/4 (0) -> {2, 3}: 1 of 2.
    expect(heldOutRecall(users, items, 2, train, test, 2)).toBeCloseTo(0.5, 12);
    expect(heldOutRecall(users, items, 2, train, test, 1)).toBeCloseTo(0.5, 12);
    expect(heldOutRecall(users, items, 2, train, test, 5)).toBeCloseTo(1, 12);
    expect(() => heldOutRecall(users, items, 2, train, { user: Int32Array.from([0]), item: Int32Array.from([0]) }, 2)).toThrow(/no user has a held-out item/);
  });
});

describe('bad input', () => {
  const base: TwoTowerData = {
    users: 3, items: 4, user: Int32Array.from([0, 1, 2]), item: Int32Array.from([0, 1, 3]),
    userFeatures: new Float32Array(6), userFeatureDim: 2,
  };
  const fails = async (data: TwoTowerData, opts: TwoTowerOptions, code: string, path: (string | number)[], text: RegExp): Promise<void> => {
    const e = await trainTwoTower(data, { epochs: 1, ...opts }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe(code);
    expect((e as KilnError).path).toEqual(path);
    expect((e as KilnError).message).toMatch(text);
  };

  it('names the field of interactions, ids and features that is wrong', async () => {
    await fails({ ...base, item: Int32Array.from([0, 1]) }, {}, 'EMBEDDING_DATA_INVALID', ['item'], /item: has 2 ids; user has 3/);
    await fails({ ...base, user: Int32Array.from([0, 3, 1]) }, {}, 'EMBEDDING_DATA_INVALID', ['user'], /user: id 3 at 1 is outside \[0, 2\]/);
    await fails({ ...base, item: Int32Array.from([0, -1, 1]) }, {}, 'EMBEDDING_DATA_INVALID', ['item'], /item: id -1 at 1/);
    await fails({ ...base, userFeatureDim: 3 }, {}, 'EMBEDDING_DATA_INVALID', ['userFeatures'], /6 values; expected 3 rows x 3/);
    await fails({ ...base, itemFeatures: new Float32Array(4) }, {}, 'EMBEDDING_DATA_INVALID', ['itemFeatureDim'], /positive integer/);
    await fails({ ...base, userFeatures: Float32Array.from([0, 1, Infinity, 0, 0, 0]) }, {}, 'EMBEDDING_DATA_INVALID', ['userFeatures'], /infinite/);
    await fails({ ...base, weight: Float32Array.from([1, -1, 1]) }, {}, 'EMBEDDING_DATA_INVALID', ['weight'], /at 1 is not a finite number >= 0/);
    await fails({ ...base, user: new Int32Array(0), item: new Int32Array(0) }, {}, 'EMBEDDING_DATA_INVALID', ['user'], /no pairs/);
    await fails({ ...base, users: 0 }, {}, 'EMBEDDING_DATA_INVALID', ['users'], /users: must be an integer/);
  });

  it('lists every problem at once', async () => {
    const e = await trainTwoTower({ ...base, item: Int32Array.from([0, 9, 1]), userFeatureDim: 4 }).catch((x: KilnError) => x);
    expect((e as KilnError).details).toHaveLength(2);
    expect((e as KilnError).message).toMatch(/item: .*; userFeatures: /);
  });

  it('names the option that is out of range', async () => {
    await fails(base, { dim: 0 }, 'EMBEDDING_PARAM_INVALID', ['options', 'dim'], /dim: must be an integer/);
    await fails(base, { temperature: -1 }, 'EMBEDDING_PARAM_INVALID', ['options', 'temperature'], /> 0, got -1/);
    await fails(base, { batchSize: 1 }, 'EMBEDDING_PARAM_INVALID', ['options', 'batchSize'], /batchSize/);
    await fails(base, { ids: false }, 'EMBEDDING_PARAM_INVALID', ['options', 'ids'], /needs itemFeatures/);
  });

  it('refuses to embed with the wrong ids or features', async () => {
    const r = await trainTwoTower(base, { epochs: 1, dim: 4, hidden: 0 });
    const m = r.model;
    expect(() => m.embedUsers(Int32Array.from([0, 5]), new Float32Array(4))).toThrow(expect.objectContaining({ code: 'EMBEDDING_DATA_INVALID', path: ['userIds', 1] }));
    expect(() => m.embedUsers(Int32Array.from([0]))).toThrow(expect.objectContaining({ path: ['userFeatures'] }));
    expect(() => m.embedUsers(Int32Array.from([0, 1]), new Float32Array(3))).toThrow(expect.objectContaining({ path: ['userFeatures'] }));
    expect(() => m.embedItems(Int32Array.from([0]), new Float32Array(2))).toThrow(/item tower takes no features/);
    expect(() => m.embedItems(null)).toThrow(expect.objectContaining({ path: ['itemIds'] }));
    expect(m.embedItems(Int32Array.from([-1, 3])).length).toBe(8);
  });
});
