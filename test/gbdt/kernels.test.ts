/** Fast kernels against naive references (same summation order, so results must be identical). */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Arena } from '../../src/gbdt/arena.js';
import { binFeatures, matrixLayout, numericCuts, U8_HIST_STRIDE } from '../../src/gbdt/binning.js';
import { wasmBinning } from '../../src/gbdt/train.js';
import { floatKey, radixSort } from '../../src/gbdt/float-key.js';
import { FEATURE_DOUBLES as FD, histAdd, histBytes, histSubtract, histU8Words, WORD_DOUBLES } from '../../src/gbdt/histogram.js';
import { train } from '../../src/gbdt/index.js';
import { HIST_MODULE_BASE64 } from '../../src/gbdt/wasm-module.generated.js';
import { logisticGrad32, OBJECTIVES } from '../../src/gbdt/objectives.js';
import { batchMargins, buildForest, rowMargins } from '../../src/gbdt/predict.js';
import type { Tree } from '../../src/gbdt/tree.js';
import { partitionRows } from '../../src/gbdt/partition.js';
import { GATHER_ROWS, gatherScratchBytes, histModule, histModuleBytes, instantiateKernels } from '../../src/gbdt/wasm.js';

describe('kernel module bytes', () => {
  it('the generated module equals the one the assembler builds (else: npm run gen:wasm)', () => {
    const generated = Buffer.from(HIST_MODULE_BASE64, 'base64');
    expect(generated.equals(Buffer.from(histModuleBytes())), 'src/gbdt/wasm-module.generated.ts is stale: run npm run gen:wasm').toBe(true);
  });
});

describe('histogram kernels', () => {
  it('WebAssembly, word and byte kernels equal a naive per-row, per-feature sum', () => {
    const rng = new Rng(1);
    const n = 3000;
    const F = 10;
    const stride = 12;
    const arena = new Arena(1 << 20);
    const region = (bytes: number): { buf: SharedArrayBuffer; byteOffset: number } => arena.alloc(bytes);
    const binsR = region(n * stride);
    const bins = new Uint8Array(binsR.buf, binsR.byteOffset, n * stride);
    for (let r = 0; r < n; r++) for (let f = 0; f < F; f++) bins[r * stride + f] = rng.int(256);
    const gR = region(n * 4), hR = region(n * 4), iR = region(n * 4);
    const grad = new Float32Array(gR.buf, gR.byteOffset, n);
    const hess = new Float32Array(hR.buf, hR.byteOffset, n);
    for (let i = 0; i < n; i++) { grad[i] = rng.normal(); hess[i] = rng.uniform(); }
    const rows = Array.from({ length: n }, (_, i) => i).filter(() => rng.uniform() < 0.4);
    const idx = new Uint32Array(iR.buf, iR.byteOffset, n);
    idx.set(rows);
    const len = stride * FD;
    const naive = new Float64Array(len);
    for (const r of rows) for (let f = 0; f < F; f++) { const k = f * FD + bins[r * stride + f]! * 2; naive[k]! += grad[r]!; naive[k + 1]! += hess[r]!; }
    const words = new Float64Array(len);
    histU8Words(idx, 0, rows.length, new Uint32Array(binsR.buf, binsR.byteOffset, (n * stride) / 4), stride / 4, grad, hess, words);
    const bytes = new Float64Array(len);
    histBytes(idx, 0, rows.length, bins, stride, F, U8_HIST_STRIDE, grad, hess, bytes);
    for (let f = 0; f < F; f++) {
      expect(Array.from(words.subarray(f * FD, (f + 1) * FD))).toEqual(Array.from(naive.subarray(f * FD, (f + 1) * FD)));
      expect(Array.from(bytes.subarray(f * FD, (f + 1) * FD))).toEqual(Array.from(naive.subarray(f * FD, (f + 1) * FD)));
    }
    const module = histModule();
    expect(module).not.toBeNull();
    expect(arena.memory).not.toBeNull();
    const k = instantiateKernels(module!, arena.memory!);
    const wR = region(len * 8);
    const wasmHist = new Float64Array(wR.buf, wR.byteOffset, len);
    const scratch = region(gatherScratchBytes(stride / 4)).byteOffset;
    const W = stride / 4;
    // features 0..F-1 (the row's padding bytes are features of their own, not compared)
    const real = (h: Float64Array): number[] => Array.from(h.subarray(0, F * FD));
    // hist and histGather, all words, then words 1..3 only (a task's feature group: bins and hist advanced to word 1)
    for (const run of [
      () => k.hist(iR.byteOffset, 0, rows.length, binsR.byteOffset, W, gR.byteOffset, hR.byteOffset, wR.byteOffset, W),
      () => k.gather(iR.byteOffset, 0, rows.length, binsR.byteOffset, W, gR.byteOffset, hR.byteOffset, wR.byteOffset, W, scratch),
    ]) {
      wasmHist.fill(0);
      run();
      expect(real(wasmHist)).toEqual(real(naive));
    }
    for (const run of [
      () => k.hist(iR.byteOffset, 0, rows.length, binsR.byteOffset + 4, W, gR.byteOffset, hR.byteOffset, wR.byteOffset + WORD_DOUBLES * 8, W - 1),
      () => k.gather(iR.byteOffset, 0, rows.length, binsR.byteOffset + 4, W, gR.byteOffset, hR.byteOffset, wR.byteOffset + WORD_DOUBLES * 8, W - 1, scratch),
      () => histU8Words(idx, 0, rows.length, new Uint32Array(binsR.buf, binsR.byteOffset, (n * stride) / 4), W, grad, hess, wasmHist, 1, W),
    ]) {
      wasmHist.fill(0);
      run();
      expect(Array.from(wasmHist.subarray(0, WORD_DOUBLES)).every((v) => v === 0)).toBe(true);
      expect(real(wasmHist).slice(WORD_DOUBLES)).toEqual(real(naive).slice(WORD_DOUBLES));
    }
    // a range inside the row list, gathered in chunks that end mid-way
    const from = 7, to = Math.min(rows.length, 7 + 2 * GATHER_ROWS + 13);
    const part = new Float64Array(len);
    for (const r of rows.slice(from, to)) for (let f = 0; f < F; f++) { const q = f * FD + bins[r * stride + f]! * 2; part[q]! += grad[r]!; part[q + 1]! += hess[r]!; }
    wasmHist.fill(0);
    k.gather(iR.byteOffset, from, to, binsR.byteOffset, W, gR.byteOffset, hR.byteOffset, wR.byteOffset, W, scratch);
    expect(real(wasmHist)).toEqual(real(part));
  });

  it('WebAssembly histogram add and subtract equal the JavaScript loops', () => {
    const rng = new Rng(2);
    const arena = new Arena(1 << 16);
    const len = 1000;
    const a = arena.alloc(len * 8), b = arena.alloc(len * 8);
    const A = new Float64Array(a.buf, a.byteOffset, len), B = new Float64Array(b.buf, b.byteOffset, len);
    for (let i = 0; i < len; i++) { A[i] = rng.normal(); B[i] = rng.normal(); }
    const k = instantiateKernels(histModule()!, arena.memory!);
    const sum = A.slice(); histAdd(sum, B, 100, 900);
    const diff = A.slice(); histSubtract(diff, B, 100, 900);
    const before = A.slice();
    k.add(a.byteOffset + 800, b.byteOffset + 800, 800 * 8);
    expect(Array.from(A)).toEqual(Array.from(sum));
    A.set(before);
    k.sub(a.byteOffset + 800, b.byteOffset + 800, 800 * 8);
    expect(Array.from(A)).toEqual(Array.from(diff));
  });
});

describe('partition kernels', () => {
  it('the WebAssembly partition equals the JavaScript one (stable, missing both ways, missing-only splits)', () => {
    const rng = new Rng(5);
    const n = 5000;
    const arena = new Arena(1 << 20);
    const colR = arena.alloc(n), idxR = arena.alloc(n * 4), tmpR = arena.alloc(n * 4);
    const col = new Uint8Array(colR.buf, colR.byteOffset, n);
    for (let i = 0; i < n; i++) col[i] = rng.uniform() < 0.1 ? 40 : rng.int(40); // bin 40 = missing
    const rows = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.uniform() < 0.6);
    const { partition } = instantiateKernels(histModule()!, arena.memory!);
    for (const [bin, dl] of [[10, 0], [10, 1], [-1, 1], [39, 0], [0, 1]] as const) {
      const idx = new Uint32Array(idxR.buf, idxR.byteOffset, n);
      const tmp = new Uint32Array(tmpR.buf, tmpR.byteOffset, n);
      idx.set(rows, 100);
      const nl = partition(idxR.byteOffset, tmpR.byteOffset, 100, 100 + rows.length, colR.byteOffset, bin, dl, 40);
      idx.set(tmp.subarray(100, 100 + rows.length - nl), 100 + nl);
      const got = Array.from(idx.subarray(100, 100 + rows.length));
      const ref = Uint32Array.from({ length: n });
      ref.set(rows, 100);
      const refLeft = partitionRows(ref, new Uint32Array(n), 100, 100 + rows.length, col, bin, dl === 1, 40, false, new Uint8Array(0), 0);
      expect(nl).toBe(refLeft);
      expect(got).toEqual(Array.from(ref.subarray(100, 100 + rows.length)));
      const left = rows.filter((r) => (col[r] === 40 ? dl === 1 : col[r]! <= bin));
      expect(got.slice(0, nl)).toEqual(Array.from(left));
    }
  });
});

describe('binning', () => {
  it('bins agree with the float32 comparisons a split makes, for every value', () => {
    const rng = new Rng(2);
    const n = 20_000;
    const col64 = Float64Array.from({ length: n }, (_, i) => (i % 10 === 0 ? NaN : i % 7 === 0 ? 0 : i % 5 === 0 ? -0 : rng.normal() * 10 ** rng.int(6)));
    // float64 columns are rounded in blocks, float32 ones read through their bits: the same bins
    for (const col of [col64, Float32Array.from(col64)]) {
    const m = binFeatures([col], ['x'], new Uint8Array(1), null, 64, 0);
    const fb = m.features[0]!;
    expect(fb.nBins).toBeLessThanOrEqual(63);
    expect(fb.hasMissing).toBe(true);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const b = m.cols[i]!;
      const x = col[i]!;
      if (m.bins[i * m.rowStride] !== b) bad++;
      if (x !== x) { if (b !== fb.nBins) bad++; continue; }
      for (let t = 0; t < fb.cuts.length; t++) if ((b <= t) !== Math.fround(x) < fb.cuts[t]!) bad++;
    }
    expect(bad).toBe(0);
    }
  });

  it('-0 takes the bin of +0, also when a cut lies at 0', () => {
    // the smallest negative float32 and 0: the cut between them is 0 itself
    const tiny = -(2 ** -149);
    const col = Float32Array.of(tiny, 0, -0, 1, tiny, -0, 0, 1);
    const m = binFeatures([col], ['x'], new Uint8Array(1), null, 256, 0);
    expect(Array.from(m.features[0]!.cuts)).toContain(0);
    expect(m.cols[2]).toBe(m.cols[1]);
    expect(m.cols[5]).toBe(m.cols[6]);
    expect(m.cols[0]).not.toBe(m.cols[1]);
  });

  it('cuts lie strictly between distinct values, one bin per value when they fit', () => {
    const sorted = Float64Array.of(-1, -1, 0.5, 0.5000001, 2, 2, 2, 7);
    const cuts = numericCuts(Float64Array.from(sorted, Math.fround), null, 255);
    expect(cuts.length).toBe(4);
    const vals = [-1, Math.fround(0.5), Math.fround(0.5000001), 2, 7];
    cuts.forEach((c, k) => { expect(c).toBeGreaterThan(vals[k]!); expect(c).toBeLessThanOrEqual(vals[k + 1]!); });
  });

  it('radix sort of float keys equals a numeric sort', () => {
    const rng = new Rng(3);
    const v = Float32Array.from({ length: 5000 }, () => rng.normal() * 10 ** (rng.int(20) - 10));
    const keys = Int32Array.from(v, floatKey);
    const payload = Uint32Array.from(v.keys());
    radixSort(keys, payload);
    const expected = Array.from(v).sort((a, b) => a - b);
    expect(Array.from(payload, (i) => v[i]!)).toEqual(expected);
    // the WebAssembly sort (binning's, without payload) gives the same keys
    const arena = new Arena(1 << 20);
    const n = v.length;
    const kR = arena.alloc(n * 4), tR = arena.alloc(n * 4), cR = arena.alloc(2048 * 4);
    const wasmKeys = new Int32Array(kR.buf, kR.byteOffset, n);
    wasmKeys.set(Int32Array.from(v, floatKey));
    instantiateKernels(histModule()!, arena.memory!).radixSort(kR.byteOffset, tR.byteOffset, cR.byteOffset, n);
    expect(Array.from(wasmKeys)).toEqual(Array.from(keys));
  });
});

/** XGBoost's routing, written out plainly: fround(x) < threshold, default child for NaN, category sets go right. */
function naiveMargin(trees: readonly Tree[], group: readonly number[], K: number, base: number, x: number[]): number[] {
  const acc = new Float32Array(K).fill(base);
  trees.forEach((t, ti) => {
    let n = 0;
    while (t.feature[n]! >= 0) {
      const v = x[t.feature[n]!]!;
      if (v !== v) n = t.defaultLeft[n] ? t.left[n]! : t.right[n]!;
      else if (t.categorical[n]) {
        const k = t.catNodes.indexOf(n);
        const set = t.catCodes.subarray(t.catSegments[k]!, t.catSegments[k]! + t.catSizes[k]!);
        n = set.includes(Math.trunc(v)) ? t.right[n]! : t.left[n]!;
      } else n = Math.fround(v) < t.threshold[n]! ? t.left[n]! : t.right[n]!;
    }
    acc[group[ti]!]! += t.leafValue[n]!;
  });
  return Array.from(acc);
}

describe('forest walk', () => {
  it('WebAssembly and JavaScript walks, batch and single row, equal a naive walk (numeric, missing, categorical, multi-class)', async () => {
    const rng = new Rng(4);
    const n = 1500;
    const cat = Float32Array.from({ length: n }, () => (rng.uniform() < 0.1 ? NaN : rng.int(12)));
    const num = Array.from({ length: 3 }, () => Float64Array.from({ length: n }, () => (rng.uniform() < 0.1 ? NaN : rng.normal())));
    const y = Float32Array.from(cat, (c, i) => ((c === c ? c % 3 : 1) + (num[0]![i]! > 0 ? 1 : 0)) % 3);
    const b = await train({ features: [cat, ...num], label: y, featureNames: ['c', 'a', 'b', 'd'], categorical: ['c'], params: { objective: 'multi:softprob', num_class: 3, n_estimators: 7, max_depth: 4, nthread: 1 } });
    const cols = [cat, ...num];
    const wasm = buildForest(b.trees, b.treeGroup, 3, 4, b.baseMargin, true);
    const js = buildForest(b.trees, b.treeGroup, 3, 4, b.baseMargin, false);
    expect(wasm.wasm).not.toBeNull();
    const outW = new Float64Array(n * 3);
    const outJ = new Float64Array(n * 3);
    batchMargins(wasm, cols, 0, n, b.trees.length, outW);
    batchMargins(js, cols, 0, n, b.trees.length, outJ);
    expect(Array.from(outW)).toEqual(Array.from(outJ));
    const one = new Float64Array(3);
    for (let i = 0; i < n; i += 7) {
      const x = cols.map((c) => c[i]!);
      const ref = naiveMargin(b.trees, b.treeGroup, 3, b.baseMargin, x);
      expect(Array.from(outW.subarray(3 * i, 3 * i + 3))).toEqual(ref);
      rowMargins(wasm, x, b.trees.length, one, 0);
      expect(Array.from(one)).toEqual(ref);
      rowMargins(js, x, b.trees.length, one, 0);
      expect(Array.from(one)).toEqual(ref);
    }
    // Values exactly at thresholds, one float32 step below them, and -0 / +0.
    const probes: number[][] = [];
    for (const t of b.trees) {
      for (let i = 0; i < t.feature.length; i++) {
        if (t.feature[i]! < 1 || t.categorical[i]) continue;
        const thr = t.threshold[i]!;
        const below = new Float32Array([thr]);
        new Int32Array(below.buffer)[0]! += thr > 0 ? -1 : 1;
        for (const v of [thr, below[0]!, -0, 0]) { const x = [3, 0.1, -0.2, 0.3]; x[t.feature[i]!] = v; probes.push(x); }
      }
    }
    const pc = [0, 1, 2, 3].map((j) => Float64Array.from(probes, (x) => x[j]!));
    const pw = new Float64Array(probes.length * 3);
    const pj = new Float64Array(probes.length * 3);
    batchMargins(wasm, pc, 0, probes.length, b.trees.length, pw);
    batchMargins(js, pc, 0, probes.length, b.trees.length, pj);
    probes.forEach((x, i) => {
      const ref = naiveMargin(b.trees, b.treeGroup, 3, b.baseMargin, x);
      expect(Array.from(pw.subarray(3 * i, 3 * i + 3))).toEqual(ref);
      expect(Array.from(pj.subarray(3 * i, 3 * i + 3))).toEqual(ref);
    });
    expect(probes.length).toBeGreaterThan(50);
  });
});

describe('gradient kernel', () => {
  it('WebAssembly binary:logistic gradients equal the JavaScript loop bit for bit (extremes, scale_pos_weight)', () => {
    const rng = new Rng(9);
    const n = 40_004;
    const arena = new Arena(1 << 20);
    const mR = arena.alloc(n * 8), lR = arena.alloc(n * 4), gR = arena.alloc(n * 4), hR = arena.alloc(n * 4);
    const margin = new Float64Array(mR.buf, mR.byteOffset, n), label = new Float32Array(lR.buf, lR.byteOffset, n);
    const extremes = [-800, 800, 0, -0, 709, -709, 708.5, -708.5, 1e-300, 36.7, -36.7, 700, Infinity, -Infinity];
    for (let i = 0; i < n; i++) { margin[i] = i < extremes.length ? extremes[i]! : rng.normal() * (i % 5 === 0 ? 30 : 3); label[i] = rng.uniform() < 0.3 ? 1 : 0; }
    const k = instantiateKernels(histModule()!, arena.memory!);
    for (const spw of [1, 4.25]) {
      const g = new Float32Array(n), h = new Float32Array(n);
      OBJECTIVES['binary:logistic'].gradients({ margin, label, weight: null, grad: g, hess: h, nRows: n, nOutputs: 1, scalePosWeight: spw, groupPtr: null });
      k.gradLogistic(mR.byteOffset, lR.byteOffset, gR.byteOffset, hR.byteOffset, n / 4, spw);
      expect(Array.from(new Float32Array(gR.buf, gR.byteOffset, n))).toEqual(Array.from(g));
      expect(Array.from(new Float32Array(hR.buf, hR.byteOffset, n))).toEqual(Array.from(h));
    }
  });

  it('float32 logistic gradients are within a few float32 ulps of the exact ones, confident rows included', () => {
    const g = new Float32Array(1), h = new Float32Array(1);
    let worst = 0;
    for (let m = -30; m <= 30; m += 0.0137) {
      for (const y of [0, 1, 0.25]) {
        logisticGrad32(m, y, 1, g, h, 0);
        const p = 1 / (1 + Math.exp(-Math.fround(m)));
        const q = 1 / (1 + Math.exp(Math.fround(m)));
        const grad = y === 1 ? -q : p - y;
        const hess = Math.max(p * q, 1e-16);
        // relative to 4e-7, plus for soft labels (p - y near 0: cancellation) an absolute 3e-8 (~ulp(y) / 2)
        const tol = 4e-7 * Math.abs(grad) + (y === 0.25 ? 3e-8 : 0);
        worst = Math.max(worst, Math.abs(g[0]! - grad) / tol, Math.abs(h[0]! - hess) / (4e-7 * hess));
      }
    }
    expect(worst).toBeLessThan(1);
    logisticGrad32(-1000, 1, 2, g, h, 0);
    expect(g[0]).toBe(-2);
    expect(h[0]).toBe(Math.fround(1e-16) * 2);
  });
});

describe('margin kernel', () => {
  it('WebAssembly marginAdd adds a leaf value to the margins of the rows listed (K outputs, output k)', () => {
    const arena = new Arena(1 << 16);
    const n = 1000, K = 3;
    const iR = arena.alloc(n * 4), mR = arena.alloc(n * K * 8);
    const idx = new Uint32Array(iR.buf, iR.byteOffset, n);
    const margin = new Float64Array(mR.buf, mR.byteOffset, n * K).fill(0.5);
    idx.set(Array.from({ length: n }, (_, i) => (i * 7) % n));
    const expected = margin.slice();
    for (let i = 100; i < 350; i++) expected[idx[i]! * K + 2]! += 0.125;
    instantiateKernels(histModule()!, arena.memory!).marginAdd(iR.byteOffset, 100, 350, mR.byteOffset, K, 2, 0.125);
    expect(Array.from(margin)).toEqual(Array.from(expected));
  });
});

describe('binning in WebAssembly', () => {
  it('bins every column as the JavaScript loops do (missing, -0, values on cuts, few values), and names a bad value', () => {
    const rng = new Rng(11);
    const n = 30_000;
    const cols = [
      Float32Array.from({ length: n }, (_, i) => (i % 9 === 0 ? NaN : i % 13 === 0 ? -0 : rng.normal() * 10 ** rng.int(5))),
      Float32Array.from({ length: n }, () => rng.int(4)),
      Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? NaN : rng.uniform())),
    ];
    const names = ['a', 'b', 'c'];
    const layout = matrixLayout(n, 3, 256);
    const arena = new Arena(1 << 22);
    const target = { rows: arena.alloc(layout.rowBytes), cols: arena.alloc(layout.colBytes) };
    const accel = wasmBinning(arena, n, n);
    expect(accel).not.toBeNull();
    let calls = 0;
    const counted = { sort: (k: Int32Array) => accel!.sort(k), binColumn: (...a: Parameters<NonNullable<typeof accel>['binColumn']>) => { const r = accel!.binColumn(...a); if (r !== null) calls++; return r; } };
    const fast = binFeatures(cols, names, new Uint8Array(3), null, 256, 0, target, counted);
    const slow = binFeatures(cols, names, new Uint8Array(3), null, 256, 0);
    expect(calls).toBe(3);
    expect(Array.from(fast.cols)).toEqual(Array.from(slow.cols));
    expect(Array.from(fast.bins)).toEqual(Array.from(slow.bins));
    expect(fast.features.map((f) => [f.nBins, f.hasMissing, Array.from(f.cuts)])).toEqual(slow.features.map((f) => [f.nBins, f.hasMissing, Array.from(f.cuts)]));
    const bad = Float32Array.from(cols[2]!);
    bad[1234] = Infinity;
    expect(() => binFeatures([bad], ['c'], new Uint8Array(1), null, 256, 0, { rows: arena.alloc(matrixLayout(n, 1, 256).rowBytes), cols: arena.alloc(n) }, wasmBinning(arena, n, n))).toThrow(/'c' row 1234 is Infinity/);
  });
});
