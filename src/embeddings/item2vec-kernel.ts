/**
 * The inner loop of item2vec: word2vec's skip-gram with negative sampling (Mikolov et al. 2013, the
 * reference word2vec.c), over a contiguous range of sequences, run by the calling thread or a worker.
 *
 * For each sequence of the range and each epoch: items are first subsampled (an item of frequency f is
 * kept with probability (sqrt(f / (t N)) + 1) t N / f, as word2vec; t = 0 keeps everything). For each
 * kept centre, a window shrink b is drawn uniformly in [0, window) (dynamic window; fixed when
 * dynamicWindow is false) and every kept item within window - b positions on either side is a context.
 * Each (centre, context) pair is one SGD step, as word2vec.c orders it: the context's input vector h
 * is scored against the centre's output vector (label 1) and k negatives drawn from unigram^0.75 through
 * an alias table (label 0; a negative equal to the centre is skipped); g = (label - sigmoid(h.o)) alpha,
 * with sigmoid from a 1000-entry table over [-6, 6] (taken as 0 or 1 outside it, as word2vec.c); the output vectors
 * move by g h at once and h by the sum of g o after the k + 1 targets.
 * The learning rate decays linearly from alpha to alpha 1e-4 over epochs x tokens, read from every
 * thread's progress slot (a Float64Array on shared memory, one slot per thread) every 10,000 tokens.
 * All randomness comes from one Rng per thread, so one thread gives the same bytes for a seed; several
 * threads update the shared vectors without locks (Hogwild), so their results vary run to run.
 *
 * The work is split in two: `trainRange` draws everything random (which never depends on the vectors)
 * and writes the pairs in blocks of rows [context, centre, negative 1 .. k] (-1 for a skipped negative);
 * a `PairKernel` applies each block's SGD steps in order. `jsPairKernel` is the reference; item2vec-wasm.ts
 * has the WebAssembly SIMD one. A block ends when it is full, when the learning rate changes, and at the end.
 */
import { Rng } from '../core/rng.js';

export const EXP_TABLE_SIZE = 1000;
export const MAX_EXP = 6;

/**
 * sigmoid(x) at EXP_TABLE_SIZE points of [-MAX_EXP, MAX_EXP), as word2vec.c precomputes it, plus one
 * entry for x = MAX_EXP exactly (whose index is EXP_TABLE_SIZE).
 */
export function sigmoidTable(): Float32Array {
  const t = new Float32Array(EXP_TABLE_SIZE + 1);
  for (let i = 0; i <= EXP_TABLE_SIZE; i++) {
    const e = Math.exp(((i / EXP_TABLE_SIZE) * 2 - 1) * MAX_EXP);
    t[i] = e / (e + 1);
  }
  return t;
}

/** Applies blocks of pairs, in order, to the vectors it was built over. */
export interface PairKernel {
  readonly name: 'js' | 'wasm-simd';
  /** The block: `capacity` rows of negatives + 2 item ids (context, centre, negatives; -1 = skipped). */
  readonly pairs: Int32Array;
  readonly capacity: number;
  /** One SGD step per row for the first `count` rows, at learning rate alpha. */
  apply(count: number, alpha: number): void;
}

/** The sampling side of one thread's work; the typed arrays may live on SharedArrayBuffers. */
export interface KernelJob {
  tokens: Int32Array;
  offsets: Int32Array;
  /** Sequences [seqFrom, seqTo) are this thread's. */
  seqFrom: number;
  seqTo: number;
  /** Keep probability of each item under subsampling (1 when off). */
  keep: Float32Array;
  /** Alias table of unigram^0.75: probability of keeping column i, else alias[i]. */
  aliasProb: Float32Array;
  alias: Int32Array;
  /** Tokens processed by each thread so far (this thread writes slot `thread`). */
  progress: Float64Array;
  thread: number;
  seed: number;
  window: number;
  dynamicWindow: boolean;
  negatives: number;
  epochs: number;
  alpha: number;
  /** epochs x total tokens, the denominator of the learning-rate schedule. */
  totalWork: number;
}

/** Trains on the job's range for all epochs through `kernel`; returns the number of (centre, context) pairs. */
export function trainRange(job: KernelJob, kernel: PairKernel): number {
  const { tokens, offsets, keep, aliasProb, alias, progress, negatives, epochs, totalWork } = job;
  const rng = new Rng(job.seed, 1 + job.thread);
  const vocab = alias.length;
  const window = job.window;
  const dynamic = job.dynamicWindow;
  const alpha0 = job.alpha;
  const buf = kernel.pairs;
  const capacity = kernel.capacity;
  const stride = negatives + 2;
  let maxLen = 0;
  for (let s = job.seqFrom; s < job.seqTo; s++) maxLen = Math.max(maxLen, offsets[s + 1]! - offsets[s]!);
  const sen = new Int32Array(maxLen);
  let alpha = alpha0;
  let done = 0;
  let lastUpdate = 0;
  let pairs = 0;
  let rows = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let s = job.seqFrom; s < job.seqTo; s++) {
      const a = offsets[s]!;
      const b = offsets[s + 1]!;
      let n = 0;
      for (let i = a; i < b; i++) {
        const w = tokens[i]!;
        const p = keep[w]!;
        if (p >= 1 || rng.uniform() < p) sen[n++] = w;
      }
      done += b - a;
      if (done - lastUpdate >= 10000) {
        if (rows > 0) { kernel.apply(rows, alpha); rows = 0; }
        lastUpdate = done;
        progress[job.thread] = done;
        let all = 0;
        for (let t = 0; t < progress.length; t++) all += progress[t]!;
        alpha = alpha0 * Math.max(1 - all / (totalWork + 1), 1e-4);
      }
      for (let pos = 0; pos < n; pos++) {
        const centre = sen[pos]!;
        const shrink = dynamic ? rng.int(window) : 0;
        const w = window - shrink;
        const lo = pos - w < 0 ? 0 : pos - w;
        const hi = pos + w >= n ? n - 1 : pos + w;
        for (let c = lo; c <= hi; c++) {
          if (c === pos) continue;
          pairs++;
          let o = rows * stride;
          buf[o++] = sen[c]!;
          buf[o++] = centre;
          for (let d = 0; d < negatives; d++) {
            const x = rng.uniform() * vocab;
            const col = x | 0;
            const target = x - col < aliasProb[col]! ? col : alias[col]!;
            buf[o++] = target === centre ? -1 : target;
          }
          if (++rows === capacity) { kernel.apply(rows, alpha); rows = 0; }
        }
      }
    }
  }
  if (rows > 0) kernel.apply(rows, alpha);
  progress[job.thread] = done;
  return pairs;
}

/** Where the JS kernel's vectors live: rows of `stride` floats, of which the first `dim` are used. */
export interface JsVectors {
  syn0: Float32Array;
  syn1: Float32Array;
  dim: number;
  stride: number;
  negatives: number;
  capacity: number;
}

/** The reference kernel, in plain JS (doubles, rounded to float32 where stored). */
export function jsPairKernel(v: JsVectors): PairKernel {
  const { syn0, syn1, dim, stride, negatives, capacity } = v;
  const pairs = new Int32Array(capacity * (negatives + 2));
  const sig = sigmoidTable();
  const neu1e = new Float32Array(dim);
  const sigScale = EXP_TABLE_SIZE / MAX_EXP / 2;
  const dim4 = dim & ~3;
  const apply = (count: number, alpha: number): void => {
    let r = 0;
    for (let row = 0; row < count; row++) {
      const l1 = pairs[r]! * stride;
      const end = r + negatives + 2;
      for (let j = 0; j < dim; j++) neu1e[j] = 0;
      for (let q = r + 1; q < end; q++) {
        const target = pairs[q]!;
        if (target < 0) continue;
        const label = q === r + 1 ? 1 : 0;
        const l2 = target * stride;
        let f0 = 0;
        let f1 = 0;
        let f2 = 0;
        let f3 = 0;
        let j = 0;
        for (; j < dim4; j += 4) {
          f0 += syn0[l1 + j]! * syn1[l2 + j]!;
          f1 += syn0[l1 + j + 1]! * syn1[l2 + j + 1]!;
          f2 += syn0[l1 + j + 2]! * syn1[l2 + j + 2]!;
          f3 += syn0[l1 + j + 3]! * syn1[l2 + j + 3]!;
        }
        for (; j < dim; j++) f0 += syn0[l1 + j]! * syn1[l2 + j]!;
        const f = f0 + f1 + f2 + f3;
        let g: number;
        if (f > MAX_EXP) g = (label - 1) * alpha;
        else if (f < -MAX_EXP) g = label * alpha;
        else g = (label - sig[((f + MAX_EXP) * sigScale) | 0]!) * alpha;
        if (g === 0) continue;
        let u = 0;
        for (; u < dim4; u += 4) {
          const o0 = syn1[l2 + u]!;
          const o1 = syn1[l2 + u + 1]!;
          const o2 = syn1[l2 + u + 2]!;
          const o3 = syn1[l2 + u + 3]!;
          neu1e[u] = neu1e[u]! + g * o0;
          neu1e[u + 1] = neu1e[u + 1]! + g * o1;
          neu1e[u + 2] = neu1e[u + 2]! + g * o2;
          neu1e[u + 3] = neu1e[u + 3]! + g * o3;
          syn1[l2 + u] = o0 + g * syn0[l1 + u]!;
          syn1[l2 + u + 1] = o1 + g * syn0[l1 + u + 1]!;
          syn1[l2 + u + 2] = o2 + g * syn0[l1 + u + 2]!;
          syn1[l2 + u + 3] = o3 + g * syn0[l1 + u + 3]!;
        }
        for (; u < dim; u++) {
          const o = syn1[l2 + u]!;
          neu1e[u] = neu1e[u]! + g * o;
          syn1[l2 + u] = o + g * syn0[l1 + u]!;
        }
      }
      for (let j = 0; j < dim; j++) syn0[l1 + j] = syn0[l1 + j]! + neu1e[j]!;
      r = end;
    }
  };
  return { name: 'js', pairs, capacity, apply };
}
