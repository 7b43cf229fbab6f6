import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { train, type GbdtParams, type IterationInfo } from '../../src/gbdt/index.js';
import { ndcgAt } from '../../src/gbdt/metrics.js';
import { binaryData, row, slice } from './data.js';

describe('early stopping', () => {
  it('stops after early_stopping_rounds without improvement and predicts with the best iteration', async () => {
    const d = binaryData(3000, 6, 21, 0.05);
    const tr = slice(d, 0, 1500);
    const va = slice(d, 1500, 3000);
    const log: IterationInfo[] = [];
    const b = await train({
      features: tr.features, label: tr.label, featureNames: d.names, valid: { features: va.features, label: va.label },
      params: { objective: 'binary:logistic', n_estimators: 300, learning_rate: 0.8, max_depth: 6, min_child_weight: 0, early_stopping_rounds: 5, eval_metric: ['auc', 'logloss'], nthread: 1 },
      onIteration: (info) => log.push(info),
    });
    expect(b.numRounds).toBeLessThan(300);
    expect(log).toHaveLength(b.numRounds);
    const losses = log.map((l) => l.valid!.logloss!);
    const best = losses.indexOf(Math.min(...losses));
    expect(b.bestIteration).toBe(best);
    expect(b.bestScore).toBe(losses[best]);
    expect(b.bestMetric).toBe('logloss');
    expect(b.numRounds).toBe(best + 6);
    expect(log[0]!.train.auc).toBeGreaterThan(0.5);
    const dflt = b.predict(va.features);
    expect(Array.from(dflt)).toEqual(Array.from(b.predict(va.features, { iterations: best + 1 })));
    expect(Array.from(dflt)).not.toEqual(Array.from(b.predict(va.features, { iterations: b.numRounds })));
    expect(b.predictRow(row(va.features, 3))).toBeCloseTo(dflt[3]!, 12);
    expect(b.toJSON().best_iteration).toBe(best);
  });
});

describe('objectives', () => {
  it('multi:softprob: rows of K probabilities that sum to 1 and beat chance', async () => {
    const rng = new Rng(31);
    const n = 3000;
    const a = Float32Array.from({ length: n }, () => rng.normal());
    const c = Float32Array.from({ length: n }, () => rng.normal());
    const y = Float32Array.from(a, (v, i) => (v + 0.3 * rng.normal() > 0.5 ? 2 : c[i]! > 0 ? 1 : 0));
    const b = await train({ features: [a, c], label: y, featureNames: ['a', 'c'], params: { objective: 'multi:softprob', num_class: 3, n_estimators: 20, max_depth: 3, nthread: 1 } });
    const p = b.predict([a, c]);
    expect(p.length).toBe(n * 3);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const s = p[3 * i]! + p[3 * i + 1]! + p[3 * i + 2]!;
      expect(s).toBeCloseTo(1, 12);
      const arg = [0, 1, 2].reduce((m, k) => (p[3 * i + k]! > p[3 * i + m]! ? k : m), 0);
      if (arg === y[i]) correct++;
    }
    expect(correct / n).toBeGreaterThan(0.85);
    const out = new Float64Array(3);
    b.predictRowInto([a[5]!, c[5]!], out);
    expect(out[2]).toBeCloseTo(p[17]!, 12);
    expect(() => b.predictRow([0, 0])).toThrow(/predictRowInto/);
    expect(b.trees.length).toBe(60);
  });

  it('rank:ndcg improves NDCG over random order on a synthetic ranking set', async () => {
    const rng = new Rng(41);
    const groups = 150;
    const sizes = Array.from({ length: groups }, () => 5 + rng.int(15));
    const n = sizes.reduce((s, v) => s + v, 0);
    const f = Array.from({ length: 3 }, () => Float32Array.from({ length: n }, () => rng.normal()));
    const rel = Float32Array.from({ length: n }, (_, i) => Math.max(0, Math.min(4, Math.round(1.5 + f[0]![i]! + 0.5 * f[1]![i]! * f[2]![i]! + 0.5 * rng.normal()))));
    const ptr = Int32Array.from([0, ...sizes.map(((s) => (v: number) => (s += v))(0))]);
    const random = ndcgAt(10, { pred: Float64Array.from({ length: n }, () => rng.uniform()), label: rel, weight: null, nOutputs: 1, groupPtr: ptr });
    const log: IterationInfo[] = [];
    const b = await train({ features: f, label: rel, group: sizes, featureNames: ['a', 'b', 'c'], params: { objective: 'rank:ndcg', n_estimators: 30, max_depth: 4, eval_metric: 'ndcg@10', nthread: 1 }, onIteration: (i) => log.push(i) });
    const learned = ndcgAt(10, { pred: b.predict(f), label: rel, weight: null, nOutputs: 1, groupPtr: ptr });
    expect(learned).toBeGreaterThan(random + 0.15);
    expect(log[29]!.train['ndcg@10']).toBeCloseTo(learned, 6);
    expect(log[29]!.train['ndcg@10']!).toBeGreaterThan(log[0]!.train['ndcg@10']!);
  });

  it('reg:squarederror with weights and subsampling fits a smooth function', async () => {
    const rng = new Rng(51);
    const n = 4000;
    const x = Float64Array.from({ length: n }, () => rng.uniform() * 6 - 3);
    const y = Float64Array.from(x, (v) => Math.sin(v) * 3 + 0.1 * rng.normal());
    const w = Float64Array.from({ length: n }, () => 0.5 + rng.uniform());
    const log: IterationInfo[] = [];
    const b = await train({ features: [x], label: y, weight: w, featureNames: ['x'], params: { n_estimators: 60, learning_rate: 0.2, subsample: 0.7, base_score: 0, nthread: 1 }, onIteration: (i) => log.push(i) });
    expect(log[59]!.train.rmse).toBeLessThan(0.2);
    // Training margins (routed by bins) and raw-value prediction agree: same rmse.
    const p = b.predict([x]);
    let se = 0;
    let sw = 0;
    for (let i = 0; i < n; i++) { se += Math.fround(w[i]!) * (p[i]! - Math.fround(y[i]!)) ** 2; sw += Math.fround(w[i]!); }
    expect(Math.sqrt(se / sw)).toBeCloseTo(log[59]!.train.rmse!, 5);
  });
});

describe('edge cases', () => {
  it('one row, one class, tiny data: a root leaf, no error', async () => {
    const one = await train({ features: [Float32Array.of(1)], label: [1], featureNames: ['x'], params: { objective: 'binary:logistic', n_estimators: 3, nthread: 1 } });
    expect(one.trees.every((t) => t.feature.length === 1)).toBe(true);
    expect(one.predictRow([5])).toBeGreaterThan(0.5);
    const zeros = await train({ features: [Float32Array.of(1, 2, 3, 4)], label: [0, 0, 0, 0], featureNames: ['x'], params: { objective: 'binary:logistic', n_estimators: 5, nthread: 1 } });
    expect(zeros.predictRow([2])).toBeLessThan(0.5);
  });

  it('reports progress per round when asked', async () => {
    const d = binaryData(500, 3, 92);
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await train({ features: d.features, label: d.label, featureNames: d.names, params: { n_estimators: 3, nthread: 1 }, progress: { stream } });
    expect(Buffer.concat(chunks).toString()).toMatch(/gbdt train .*3\/3 rounds/);
  });

  it('an aborted signal stops training between rounds with INTERRUPTED', async () => {
    const d = binaryData(500, 3, 91);
    const ac = new AbortController();
    ac.abort();
    await expect(train({ features: d.features, label: d.label, featureNames: d.names, params: { nthread: 1 }, signal: ac.signal })).rejects.toMatchObject({ code: 'INTERRUPTED' });
  });
});

describe('prediction paths', () => {
  it('batch, single-row, float32/float64 and named-column inputs give the same values', async () => {
    const d = binaryData(2000, 5, 61);
    const b = await train({ features: d.features, label: d.label, featureNames: d.names, params: { objective: 'binary:logistic', n_estimators: 15, nthread: 1 } });
    const p = b.predict(d.features);
    const p64 = b.predict(d.features.map((c) => Float64Array.from(c)));
    const named = b.predict(Object.fromEntries(d.names.map((nm, j) => [nm, d.features[j]!])));
    expect(Array.from(p64)).toEqual(Array.from(p));
    expect(Array.from(named)).toEqual(Array.from(p));
    for (let i = 0; i < 50; i++) expect(b.predictRow(row(d.features, i))).toBe(p[i]);
    const raw = b.predictRaw(d.features);
    expect(1 / (1 + Math.exp(-raw[7]!))).toBeCloseTo(p[7]!, 14);
    expect(b.predictRow(row(d.features, 7), true)).toBe(raw[7]);
  });

  it('batch prediction on worker threads gives the same values', async () => {
    const d = binaryData(70_000, 5, 62);
    const b = await train({ features: d.features, label: d.label, featureNames: d.names, params: { objective: 'binary:logistic', n_estimators: 10, nthread: 1 } });
    const alone = b.predict(d.features);
    await b.startThreads(2);
    try {
      expect(Array.from(b.predict(d.features))).toEqual(Array.from(alone));
      expect(Array.from(b.predict(d.features.map((c) => Float64Array.from(c))))).toEqual(Array.from(alone));
    } finally {
      await b.close();
    }
    expect(Array.from(b.predict(d.features))).toEqual(Array.from(alone));
  });

  it('predictAsync scores on the workers, the same numbers; one call at a time, a predict meanwhile on the calling thread', async () => {
    const d = binaryData(140_000, 5, 63);
    const b = await train({ features: d.features, label: d.label, featureNames: d.names, params: { objective: 'binary:logistic', n_estimators: 10, nthread: 1 } });
    const alone = b.predict(d.features);
    expect(Array.from(await b.predictAsync(d.features))).toEqual(Array.from(alone)); // no threads: predict
    await b.startThreads(2);
    try {
      const pending = b.predictAsync(d.features);
      await expect(b.predictAsync(d.features)).rejects.toMatchObject({ code: 'INTERNAL' });
      // a synchronous predict meanwhile runs on the calling thread, and agrees
      expect(Array.from(b.predict(d.features.map((c) => c.subarray(0, 70_000))))).toEqual(Array.from(alone.subarray(0, 70_000)));
      expect(Array.from(await pending)).toEqual(Array.from(alone));
      expect(Array.from(await b.predictAsync(d.features))).toEqual(Array.from(alone));
    } finally {
      await b.close();
    }
  });

  it('threaded batches of a wide model (short chunks, unused columns, a plain-array column) score exactly as one thread', async () => {
    const n = 70_000;
    const F = 150;
    const rng = new Rng(15, 9);
    const cols: (Float64Array | number[])[] = Array.from({ length: F }, () => {
      const c = new Float64Array(n);
      for (let i = 0; i < n; i++) c[i] = rng.uniform() < 0.2 ? NaN : rng.normal();
      return c;
    });
    const label = new Float32Array(2000);
    for (let i = 0; i < 2000; i++) label[i] = (cols[0] as Float64Array)[i]! + (cols[1] as Float64Array)[i]! > 0 ? 1 : 0;
    const names = cols.map((_, j) => `f${j}`);
    // 30 trees of depth 6 on noise read about 100 float64 columns: chunks shorter than 65,536 rows.
    const b = await train({ features: cols.map((c) => (c as Float64Array).subarray(0, 2000)), label, featureNames: names, params: { objective: 'binary:logistic', n_estimators: 30, max_depth: 6, nthread: 1 } });
    cols[2] = Array.from(cols[2] as Float64Array);
    const alone = b.predict(cols);
    await b.startThreads(2);
    try {
      expect(Array.from(b.predict(cols))).toEqual(Array.from(alone));
      expect(Array.from(b.predict(cols))).toEqual(Array.from(alone));
    } finally {
      await b.close();
    }
  });
});

describe('training margins', () => {
  it('the margins training keeps (last-level leaves added during the split) give the metric of the model predictions', async () => {
    const rng = new Rng(21);
    const n = 3000;
    const x0 = Float32Array.from({ length: n }, () => (rng.uniform() < 0.2 ? NaN : rng.normal()));
    const x1 = Float32Array.from({ length: n }, () => rng.int(5));
    const x2 = Float32Array.from({ length: n }, () => rng.uniform());
    const y = Float32Array.from({ length: n }, (_, i) => ((x0[i]! || 0) + (x1[i] === 2 ? 1 : 0) - x2[i]! + rng.normal() > 0 ? 1 : 0));
    const cls = Float32Array.from(y, (v, i) => v + (x2[i]! > 0.7 ? 1 : 0));
    for (const params of [
      { objective: 'binary:logistic', max_depth: 3, subsample: 1 },
      { objective: 'binary:logistic', max_depth: 4, subsample: 0.7, monotone_constraints: [0, 0, -1] },
      { objective: 'multi:softprob', num_class: 3, max_depth: 3 },
    ] as const) {
      const log: IterationInfo[] = [];
      const b = await train({ features: [x0, x1, x2], label: params.objective === 'multi:softprob' ? cls : y, featureNames: ['a', 'b', 'c'], categorical: ['b'], params: { ...params, n_estimators: 12, nthread: 1, max_cat_to_onehot: 1 } as GbdtParams, onIteration: (i) => log.push(i) });
      const p = b.predict([x0, x1, x2]);
      const K = params.objective === 'multi:softprob' ? 3 : 1;
      let loss = 0;
      for (let i = 0; i < n; i++) {
        if (K === 1) { const q = Math.min(Math.max(p[i]!, 1e-16), 1 - 1e-16); loss -= y[i] ? Math.log(q) : Math.log(1 - q); }
        else loss -= Math.log(Math.max(p[i * K + cls[i]!]!, 1e-16));
      }
      const name = K === 1 ? 'logloss' : 'mlogloss';
      expect(log[log.length - 1]!.train[name]).toBeCloseTo(loss / n, 5);
    }
  });
});
