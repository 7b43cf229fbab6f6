import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { train } from '../../src/gbdt/index.js';
import { ShapThread } from '../../src/serve/shap-thread.js';

async function model() {
  const rng = new Rng(9);
  const n = 4000, F = 6;
  const cols = Array.from({ length: F }, () => Float64Array.from({ length: n }, () => (rng.uniform() < 0.1 ? NaN : rng.normal())));
  const y = Float64Array.from({ length: n }, (_, i) => (rng.uniform() < 1 / (1 + Math.exp(-(cols[0]![i]! || 0) - (cols[1]![i]! || 0) * (cols[2]![i]! || 0))) ? 1 : 0));
  const booster = await train({ features: cols, label: y, featureNames: cols.map((_, j) => `x${j}`), params: { objective: 'binary:logistic', max_depth: 5, n_estimators: 40, nthread: 1, seed: 1 } });
  return { booster, cols, F };
}

describe('the TreeSHAP thread of a served version', () => {
  it('gives the contributions of the calling thread, bit for bit, for concurrent requests of one and several rows', async () => {
    const { booster, cols, F } = await model();
    const t = await ShapThread.start(booster);
    expect(t).not.toBeNull();
    const rowsOf = (at: number, n: number): Float64Array => Float64Array.from({ length: n * F }, (_, k) => cols[k % F]![at + Math.floor(k / F)]!);
    // 300 requests at once: queued, several to a dispatch, every answer its own rows'.
    const asks = Array.from({ length: 300 }, (_, i) => ({ at: i * 7, n: 1 + (i % 3) }));
    const got = await Promise.all(asks.map((a) => t!.explain(rowsOf(a.at, a.n), a.n)));
    asks.forEach((a, i) => {
      const want = new Float64Array(a.n * (F + 1));
      for (let r = 0; r < a.n; r++) booster.explainRow(rowsOf(a.at + r, 1), want.subarray(r * (F + 1), (r + 1) * (F + 1)));
      expect(got[i]).toEqual(want);
    });
    t!.close();
    // Closed: answered on the calling thread, the same numbers.
    const after = await t!.explain(rowsOf(5, 2), 2);
    const want = new Float64Array(2 * (F + 1));
    for (let r = 0; r < 2; r++) booster.explainRow(rowsOf(5 + r, 1), want.subarray(r * (F + 1), (r + 1) * (F + 1)));
    expect(after).toEqual(want);
  });

  it('falls back to the calling thread when its worker is gone', async () => {
    const { booster, cols, F } = await model();
    const t = await ShapThread.start(booster);
    await (t as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((r) => setTimeout(r, 20));
    const x = Float64Array.from({ length: F }, (_, j) => cols[j]![3]!);
    const got = await Promise.race([t!.explain(x, 1), new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    expect(got).toEqual(booster.explainRow(x));
  });

  it('opens without waiting: rows are explained on the calling thread until the worker has loaded, then on it; a close while starting stops it', async () => {
    const { booster, cols, F } = await model();
    const x = Float64Array.from({ length: 3 * F }, (_, k) => cols[k % F]![10 + Math.floor(k / F)]!);
    const want = new Float64Array(3 * (F + 1));
    for (let r = 0; r < 3; r++) booster.explainRow(x.subarray(r * F, (r + 1) * F), want.subarray(r * (F + 1), (r + 1) * (F + 1)));
    const t = ShapThread.open(booster)!;
    const inner = t as unknown as { starting: boolean; inflight: unknown };
    expect(inner.starting).toBe(true);
    expect(await t.explain(x, 3)).toEqual(want);
    expect(await t.ready).toBe(true);
    expect(inner.starting).toBe(false);
    const pending = t.explain(x, 3);
    expect(inner.inflight).not.toBeNull(); // on the worker now
    expect(await pending).toEqual(want);
    t.close();
    const early = ShapThread.open(booster)!;
    early.close();
    expect(await early.ready).toBe(false);
    expect(await early.explain(x, 3)).toEqual(want);
  });
});
