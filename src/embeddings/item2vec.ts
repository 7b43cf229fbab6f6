/**
 * item2vec (Barkan & Koenigstein 2016): word2vec's skip-gram with negative sampling over sequences of
 * item ids (the merchants a borrower visited, the items a user consumed), giving each item a vector such
 * that items seen near each other get close vectors.
 *
 * The corpus is `tokens` (item ids in [0, items)) cut into sequences by `offsets` (sequence s is
 * tokens[offsets[s] .. offsets[s + 1]); offsets[0] = 0, the last = tokens.length). Training counts each
 * item, builds the keep probabilities of frequent-item subsampling and an alias table (Walker/Vose) of
 * the unigram^0.75 distribution for negatives, initialises input vectors uniform in (-0.5, 0.5) / dim
 * and output vectors at zero (as word2vec.c), then runs item2vec-kernel.ts's SGD loop.
 *
 * Threads: the sequences are cut into `threads` contiguous ranges of about equal token counts; the
 * caller's thread trains the first, worker threads (src/core/worker.ts) the others, all on the same
 * SharedArrayBuffer-backed vectors without locks (Hogwild, as word2vec.c). threads = 1 runs inline and
 * is deterministic: the same seed gives the same bytes. With more threads the order of the racing
 * updates varies, so vectors differ run to run (the neighbour quality does not, within noise).
 *
 * Kernel: the SGD steps run as WebAssembly SIMD (item2vec-wasm.ts; the vectors then live in a shared
 * WebAssembly.Memory) where this engine has it, else in JS (item2vec-kernel.ts, the reference); the
 * result's `kernel` says which ran. Both draw the same pairs and negatives for a seed; their vectors
 * agree to float32 rounding.
 *
 * `nearest` is exact cosine k-nearest-neighbours by scanning every vector (for tests and small spaces).
 */
import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { startModuleWorker, workerReady } from '../core/worker.js';
import { trainRange, type KernelJob } from './item2vec-kernel.js';
import { allocWasmVectors, openPairKernel, wasmRows, type VectorsRef } from './item2vec-wasm.js';

/** Which implementation applies the SGD steps: 'auto' takes WebAssembly SIMD where it runs, else JS. */
export type Item2VecKernel = 'auto' | 'js' | 'wasm-simd';
const KERNELS: readonly Item2VecKernel[] = ['auto', 'js', 'wasm-simd'];

export interface Item2VecOptions {
  /** Number of items: ids are in [0, items). */
  items: number;
  dim?: number;
  /** Maximum distance between centre and context (word2vec -window). */
  window?: number;
  /** Draw a window shrink per centre, as word2vec (default true). */
  dynamicWindow?: boolean;
  /** Negatives per pair (word2vec -negative). */
  negatives?: number;
  /** Subsampling threshold t (word2vec -sample; 0 = off). */
  sample?: number;
  epochs?: number;
  /** Starting learning rate, decayed linearly to alpha 1e-4. */
  alpha?: number;
  seed?: number;
  threads?: number;
  /** Default 'auto'; 'wasm-simd' fails where WebAssembly SIMD or shared memory is unavailable. */
  kernel?: Item2VecKernel;
}

/** count x dim row-major vectors. */
export interface ItemVectors {
  dim: number;
  count: number;
  data: Float32Array;
}

export interface Item2VecResult {
  input: ItemVectors;
  output: ItemVectors;
  /** Occurrences of each item in the corpus. */
  counts: Int32Array;
  /** (centre, context) pairs trained, all epochs and threads. */
  pairs: number;
  seconds: number;
  /** The kernel that ran ('js' under 'auto' means WebAssembly SIMD was unavailable, or the vectors too large for it). */
  kernel: 'js' | 'wasm-simd';
}

function bad(message: string): KilnError {
  return new KilnError('INVALID_ARGUMENT', message);
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw bad(`item2vec: ${name} must be a positive integer, got ${v}`);
  return v;
}

/** Checks the corpus; returns the count of each item. */
export function countItems(tokens: Int32Array, offsets: Int32Array, items: number): Int32Array {
  if (tokens.length === 0) throw bad('item2vec: the corpus is empty (no tokens); give at least one sequence of two or more items');
  if (offsets.length < 2 || offsets[0] !== 0 || offsets[offsets.length - 1] !== tokens.length) {
    throw bad(`item2vec: offsets must start at 0 and end at tokens.length (${tokens.length}), with one more entry than sequences`);
  }
  for (let s = 1; s < offsets.length; s++) {
    if (offsets[s]! < offsets[s - 1]!) throw bad(`item2vec: offsets must not decrease (offsets[${s}] = ${offsets[s]} < ${offsets[s - 1]})`);
  }
  const counts = new Int32Array(items);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!(t >= 0 && t < items)) throw bad(`item2vec: token ${i} is item ${t}, outside [0, ${items}); set items to one more than the largest id`);
    counts[t]!++;
  }
  return counts;
}

/** Vose's alias table for weights w (some positive): column i keeps i with probability prob[i]. */
export function aliasTable(w: Float64Array): { prob: Float32Array; alias: Int32Array } {
  const n = w.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i]!;
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) scaled[i] = (w[i]! / total) * n;
  const prob = new Float32Array(n);
  const alias = new Int32Array(n);
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < n; i++) (scaled[i]! < 1 ? small : large).push(i);
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!;
    const l = large[large.length - 1]!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    if (scaled[l]! < 1) { large.pop(); small.push(l); }
  }
  for (const i of large) { prob[i] = 1; alias[i] = i; }
  for (const i of small) { prob[i] = 1; alias[i] = i; }
  return { prob, alias };
}

/** Sequence boundaries cutting [0, nseq) into `parts` ranges of about equal token counts. */
function splitRanges(offsets: Int32Array, parts: number): number[] {
  const nseq = offsets.length - 1;
  const total = offsets[nseq]!;
  const cuts = [0];
  let s = 0;
  for (let p = 1; p < parts; p++) {
    const goal = (total * p) / parts;
    while (s < nseq && offsets[s]! < goal) s++;
    cuts.push(Math.max(s, cuts[cuts.length - 1]!));
  }
  cuts.push(nseq);
  return cuts;
}

function sharedCopy<T extends Int32Array | Float32Array>(a: T, shared: boolean): T {
  if (!shared) return a;
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

const STARTUP_TIMEOUT_MS = 60_000;
/** Bytes of pair ids per block: about 64 KiB, so a block stays in L2 between being written and applied. */
const BLOCK_BYTES = 65536;

/** Trains item vectors; see the file header. */
export async function trainItem2Vec(tokens: Int32Array, offsets: Int32Array, opts: Item2VecOptions): Promise<Item2VecResult> {
  const items = positiveInt('items', opts.items);
  const dim = positiveInt('dim', opts.dim ?? 64);
  const window = positiveInt('window', opts.window ?? 5);
  const epochs = positiveInt('epochs', opts.epochs ?? 5);
  const threads = positiveInt('threads', opts.threads ?? 1);
  const negatives = opts.negatives ?? 5;
  if (!Number.isInteger(negatives) || negatives < 0) throw bad(`item2vec: negatives must be an integer >= 0, got ${negatives}`);
  const sample = opts.sample ?? 1e-3;
  if (!(sample >= 0)) throw bad(`item2vec: sample must be >= 0, got ${sample}`);
  const alpha = opts.alpha ?? 0.025;
  if (!(alpha > 0)) throw bad(`item2vec: alpha must be > 0, got ${alpha}`);
  const kernel = opts.kernel ?? 'auto';
  if (!KERNELS.includes(kernel)) throw bad(`item2vec: kernel '${String(kernel)}' is unknown; use one of: ${KERNELS.join(', ')}`);
  const seed = opts.seed ?? 1;
  const counts = countItems(tokens, offsets, items);
  const start = performance.now();

  const n = tokens.length;
  const keep = new Float32Array(items).fill(1);
  if (sample > 0) {
    const tn = sample * n;
    for (let i = 0; i < items; i++) {
      const c = counts[i]!;
      if (c > 0) keep[i] = Math.min(1, (Math.sqrt(c / tn) + 1) * (tn / c));
    }
  }
  const weights = new Float64Array(items);
  for (let i = 0; i < items; i++) weights[i] = Math.pow(counts[i]!, 0.75);
  const { prob, alias } = aliasTable(weights);

  const shared = threads > 1;
  const capacity = Math.max(16, Math.floor(BLOCK_BYTES / 4 / (negatives + 2)));
  const wasm = kernel === 'js' ? null : allocWasmVectors(items, dim, negatives, threads, capacity);
  if (kernel === 'wasm-simd' && !wasm) {
    throw new KilnError('RESOURCE_UNAVAILABLE', `item2vec: kernel 'wasm-simd' needs WebAssembly SIMD and shared memory, and vectors under 2 GiB (items ${items} x dim ${dim} x 2); use kernel 'auto' or 'js'`);
  }
  let vectors: VectorsRef;
  let syn0: Float32Array;
  let syn1: Float32Array;
  if (wasm) {
    ({ syn0, syn1 } = wasmRows(wasm));
    vectors = wasm;
  } else {
    const mk = (len: number): Float32Array => (shared ? new Float32Array(new SharedArrayBuffer(len * 4)) : new Float32Array(len));
    syn0 = mk(items * dim);
    syn1 = mk(items * dim);
    vectors = { kind: 'js', syn0, syn1, dim, stride: dim, negatives, capacity };
  }
  const stride = vectors.stride;
  const init = new Rng(seed, 0);
  for (let i = 0; i < items; i++) for (let j = 0; j < dim; j++) syn0[i * stride + j] = (init.uniform() - 0.5) / dim;
  const progress = new Float64Array(shared ? new SharedArrayBuffer(threads * 8) : new ArrayBuffer(threads * 8));
  const cuts = splitRanges(offsets, threads);
  const base: Omit<KernelJob, 'seqFrom' | 'seqTo' | 'thread'> = {
    tokens: sharedCopy(tokens, shared), offsets: sharedCopy(offsets, shared),
    keep: sharedCopy(keep, shared), aliasProb: sharedCopy(prob, shared), alias: sharedCopy(alias, shared), progress,
    seed, window, dynamicWindow: opts.dynamicWindow ?? true, negatives, epochs, alpha, totalWork: epochs * n,
  };
  const runHere = (): number => trainRange({ ...base, seqFrom: 0, seqTo: cuts[1]!, thread: 0 }, openPairKernel(vectors, 0));

  let pairs = 0;
  if (!shared) {
    pairs = runHere();
  } else {
    const workers = [];
    try {
      for (let t = 1; t < threads; t++) workers.push(startModuleWorker(import.meta.url, 'item2vec-worker', {}));
      try {
        await Promise.all(workers.map((w) => workerReady(w, STARTUP_TIMEOUT_MS)));
      } catch (e) {
        throw new KilnError('RESOURCE_UNAVAILABLE', `item2vec: cannot start worker threads (threads = ${threads}): ${(e as Error).message}; retry with threads: 1`, { cause: e });
      }
      const answers = workers.map((w, i) => new Promise<number>((resolve, reject) => {
        w.once('message', (m: { type: string; pairs?: number; message?: string }) => {
          if (m.type === 'done') resolve(m.pairs!);
          else reject(new KilnError('INTERNAL', `item2vec: worker thread ${i + 1} failed: ${m.message ?? 'no message'}`));
        });
        w.once('error', (e) => reject(new KilnError('INTERNAL', `item2vec: worker thread ${i + 1} failed: ${e.message}`, { cause: e })));
        w.once('exit', (code) => reject(new KilnError('INTERNAL', `item2vec: worker thread ${i + 1} exited with code ${code} before finishing`)));
        w.postMessage({ job: { ...base, seqFrom: cuts[i + 1]!, seqTo: cuts[i + 2]!, thread: i + 1 }, vectors });
      }));
      pairs = runHere();
      for (const p of await Promise.all(answers)) pairs += p;
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }
  const out = (data: Float32Array): ItemVectors => ({ dim, count: items, data: unpad(data, items, dim, stride, shared || wasm !== null) });
  return { input: out(syn0), output: out(syn1), counts, pairs, seconds: (performance.now() - start) / 1000, kernel: wasm ? 'wasm-simd' : 'js' };
}

/** Rows of `stride` floats as rows of `dim`, copied when asked to (or when they must be). */
function unpad(data: Float32Array, items: number, dim: number, stride: number, copy: boolean): Float32Array {
  // The buffer may be longer than the rows (an allocation rounded up): only items x stride floats are vectors.
  if (stride === dim) return copy ? data.slice(0, items * dim) : data.subarray(0, items * dim);
  const out = new Float32Array(items * dim);
  for (let i = 0; i < items; i++) out.set(data.subarray(i * stride, i * stride + dim), i * dim);
  return out;
}

/** The k items whose vectors have the highest cosine with item `id` (itself excluded), best first. */
export function nearest(vectors: ItemVectors, id: number, k: number): { id: number; score: number }[] {
  const { dim, count, data } = vectors;
  if (!Number.isInteger(id) || id < 0 || id >= count) throw bad(`nearest: id ${id} is outside [0, ${count})`);
  if (!Number.isInteger(k) || k <= 0) throw bad(`nearest: k must be a positive integer, got ${k}`);
  const norms = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[i * dim + j]! * data[i * dim + j]!;
    norms[i] = Math.sqrt(s);
  }
  const q = id * dim;
  const scored: { id: number; score: number }[] = [];
  for (let i = 0; i < count; i++) {
    if (i === id) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[q + j]! * data[i * dim + j]!;
    const den = norms[id]! * norms[i]!;
    scored.push({ id: i, score: den > 0 ? s / den : 0 });
  }
  scored.sort((a, b) => b.score - a.score || a.id - b.id);
  return scored.slice(0, k);
}
