/**
 * The `sequence` candidate generator: a next-item model over each user's items in time order
 * (sequence-net.ts: a GRU as GRU4Rec, or a causal transformer as SASRec), trained with shifted targets
 * at every position. A user's history (time order; row order for ties or without times) is cut from its
 * end into windows of at most `maxLen` inputs, each input followed by its target, so every train row but
 * each user's first is a target once per epoch. Optimiser: kiln's AdamW, linear warm-up (a tenth of the
 * steps, at most 100) then cosine decay to 5% of `lr`, gradient norm clipped at 5. One thread; every
 * random draw (initial weights, window shuffles, dropout, sampled negatives) comes from `seed`, so the
 * same spec and data give the same bytes.
 *
 * Scores: s(u, i) = h_u . W_i + b_i, with h_u the encoder's state after the user's last `maxLen` train
 * items (a user with none gets b, a popularity prior learned by the softmax).
 */
import { didYouMean } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { AdamW, Arena, clipGradNorm, IGNORE_INDEX, lrAt, type Ctx } from '../nn/index.js';
import { ScoredGenerator, type CandidateGenerator } from './generator.js';
import { NextItemNet, type NextItemNetSpec } from './sequence-net.js';
import { throwIssues, type Issue, type InteractionTable } from './table.js';

export interface SequenceOptions {
  /** 'gru' (default) or 'transformer' (causal, pre-norm, learned positions). */
  cell?: 'gru' | 'transformer';
  /** Item embedding and state width (default 64). */
  dim?: number;
  /** Most recent items the encoder reads, and the training window (default 50). */
  maxLen?: number;
  /** Passes over the windows (default 20). */
  epochs?: number;
  /** AdamW's peak learning rate (default 0.002). */
  lr?: number;
  /** Windows per step (default 64). */
  batch?: number;
  /** 0: full softmax over all items; n > 0: sampled softmax with n negatives per batch (default: 0 up to 5,000 items, else 512). */
  negatives?: number;
  /** Dropout on the inputs (and in the transformer's layers) (default 0.2). */
  dropout?: number;
  /** AdamW's decoupled weight decay (default 0). */
  weightDecay?: number;
  /** Output item vectors are the input embeddings (default true). */
  tied?: boolean;
  /** Transformer layers (default 2) and heads (default 2; must divide dim). */
  layers?: number;
  heads?: number;
  seed?: number;
}

export type SequenceSpec = { kind: 'sequence'; name?: string } & SequenceOptions;

const KEYS = ['kind', 'name', 'cell', 'dim', 'maxLen', 'epochs', 'lr', 'batch', 'negatives', 'dropout', 'weightDecay', 'tied', 'layers', 'heads', 'seed', 'ann'];
/** Full softmax up to this many items. */
const FULL_SOFTMAX_ITEMS = 5000;

/** The options with their defaults, checked; throws one RECS_PARAM_INVALID naming every bad field. */
export function sequenceOptions(spec: SequenceSpec, nItems: number): Required<SequenceOptions> {
  const o: Required<SequenceOptions> = {
    cell: spec.cell ?? 'gru', dim: spec.dim ?? 64, maxLen: spec.maxLen ?? 50, epochs: spec.epochs ?? 20, lr: spec.lr ?? 0.002,
    batch: spec.batch ?? 64, negatives: spec.negatives ?? (nItems <= FULL_SOFTMAX_ITEMS ? 0 : 512), dropout: spec.dropout ?? 0.2,
    weightDecay: spec.weightDecay ?? 0, tied: spec.tied ?? true, layers: spec.layers ?? 2, heads: spec.heads ?? 2, seed: spec.seed ?? 1,
  };
  const issues: Issue[] = [];
  for (const key of Object.keys(spec)) {
    if (KEYS.includes(key)) continue;
    const near = didYouMean(key, KEYS);
    issues.push({ path: [key], message: `is not an option of the sequence generator${near ? ` (did you mean '${near}'?)` : ''}` });
  }
  const int = (f: keyof SequenceOptions, lo: number, hi: number): void => {
    const v = o[f] as number;
    if (!(Number.isInteger(v) && v >= lo && v <= hi)) issues.push({ path: [f], message: `must be an integer in [${lo}, ${hi}], got ${String(v)}` });
  };
  if (o.cell !== 'gru' && o.cell !== 'transformer') issues.push({ path: ['cell'], message: `must be 'gru' or 'transformer', got '${String(o.cell)}'` });
  int('dim', 2, 1024);
  int('maxLen', 1, 1000);
  int('epochs', 1, 10000);
  int('batch', 1, 65536);
  int('negatives', 0, 1 << 20);
  int('layers', 1, 12);
  int('heads', 1, 64);
  int('seed', -(2 ** 31), 2 ** 31 - 1);
  if (!(Number.isFinite(o.lr) && o.lr > 0)) issues.push({ path: ['lr'], message: `must be a finite number > 0, got ${String(o.lr)}` });
  if (!(o.dropout >= 0 && o.dropout < 1)) issues.push({ path: ['dropout'], message: `must be in [0, 1), got ${String(o.dropout)}` });
  if (!(Number.isFinite(o.weightDecay) && o.weightDecay >= 0)) issues.push({ path: ['weightDecay'], message: `must be a finite number >= 0, got ${String(o.weightDecay)}` });
  if (typeof o.tied !== 'boolean') issues.push({ path: ['tied'], message: `must be true or false, got ${String(o.tied)}` });
  if (o.cell === 'transformer' && Number.isInteger(o.heads) && o.heads >= 1 && o.dim % o.heads !== 0) {
    issues.push({ path: ['heads'], message: `must divide dim (${o.dim}), got ${o.heads}` });
  }
  throwIssues('RECS_PARAM_INVALID', 'sequence generator', issues);
  return o;
}

/** Each user's items in time order (row order for equal times or without times): tokens[offsets[u]..offsets[u + 1]). */
export function userSequences(t: InteractionTable): { tokens: Int32Array; offsets: Int32Array } {
  const rows = Int32Array.from({ length: t.users.length }, (_, k) => k);
  const times = t.times;
  rows.sort((a, b) => t.users[a]! - t.users[b]! || (times ? times[a]! - times[b]! : 0) || a - b);
  const offsets = new Int32Array(t.nUsers + 1);
  for (let k = 0; k < rows.length; k++) offsets[t.users[rows[k]!]! + 1]!++;
  for (let u = 0; u < t.nUsers; u++) offsets[u + 1]! += offsets[u]!;
  return { tokens: Int32Array.from(rows, (k) => t.items[k]!), offsets };
}

/** Training windows [W, T]: inputs, the next item at each input, and the valid length of each. */
export interface Windows {
  count: number;
  steps: number;
  ids: Int32Array;
  targets: Int32Array;
  lengths: Int32Array;
}

/**
 * Cuts each user's sequence s_0..s_{n-1} from its end into windows of at most `maxLen` (input s_j,
 * target s_{j+1}); padding id `pad`, padded targets IGNORE_INDEX.
 */
export function trainingWindows(seq: { tokens: Int32Array; offsets: Int32Array }, maxLen: number, pad: number): Windows {
  const spans: [number, number][] = [];
  for (let u = 0; u + 1 < seq.offsets.length; u++) {
    const a = seq.offsets[u]!;
    for (let end = seq.offsets[u + 1]! - 1; end > a; end -= maxLen) spans.push([Math.max(a, end - maxLen), end]);
  }
  const T = maxLen;
  const ids = new Int32Array(spans.length * T).fill(pad);
  const targets = new Int32Array(spans.length * T).fill(IGNORE_INDEX);
  const lengths = new Int32Array(spans.length);
  spans.forEach(([from, to], w) => {
    lengths[w] = to - from;
    for (let j = from; j < to; j++) {
      ids[w * T + j - from] = seq.tokens[j]!;
      targets[w * T + j - from] = seq.tokens[j + 1]!;
    }
  });
  return { count: spans.length, steps: T, ids, targets, lengths };
}

export interface SequenceFitInfo {
  epoch: number;
  loss: number;
  seconds: number;
}

/**
 * Trains the next-item model on `train` and returns its generator.
 * @example
 * const g = await fitSequence(train, { kind: 'sequence', cell: 'gru', dim: 64, epochs: 20 });
 * const next = g.candidates(user, 10);
 */
export async function fitSequence(train: InteractionTable, spec: SequenceSpec, onEpoch?: (e: SequenceFitInfo) => void): Promise<CandidateGenerator> {
  const o = sequenceOptions(spec, train.nItems);
  const N = train.nItems;
  const d = o.dim;
  const netSpec: NextItemNetSpec = { items: N, cell: o.cell, dim: d, maxLen: o.maxLen, layers: o.layers, heads: o.heads, dropout: o.dropout, tied: o.tied, negatives: o.negatives, seed: o.seed };
  const arena = new Arena(1 << 24);
  const net = new NextItemNet(netSpec, arena);
  const opt = new AdamW(net.params, { lr: o.lr, weightDecay: o.weightDecay });
  const seq = userSequences(train);
  const win = trainingWindows(seq, o.maxLen, N);
  const T = win.steps;
  const B = Math.max(1, Math.min(o.batch, win.count));
  const perEpoch = Math.ceil(win.count / B);
  const total = perEpoch * o.epochs;
  const schedule = { base: o.lr, warmup: Math.min(100, Math.floor(total / 10)), decay: 'cosine' as const, total: Math.max(1, total), min: 0.05 * o.lr };
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const lengths = new Int32Array(B);
  let step = 0;
  for (let epoch = 0; epoch < o.epochs && win.count > 0; epoch++) {
    const t0 = performance.now();
    const order = Int32Array.from({ length: win.count }, (_, w) => w);
    const rng = new Rng(o.seed, 0x5e9a0000 + epoch);
    for (let i = order.length - 1; i > 0; i--) { const j = rng.int(i + 1); const t = order[i]!; order[i] = order[j]!; order[j] = t; }
    let lossSum = 0;
    for (let s = 0; s < perEpoch; s++) {
      const n = Math.min(B, win.count - s * B);
      for (let b = 0; b < n; b++) {
        const w = order[s * B + b]!;
        ids.set(win.ids.subarray(w * T, (w + 1) * T), b * T);
        targets.set(win.targets.subarray(w * T, (w + 1) * T), b * T);
        lengths[b] = win.lengths[w]!;
      }
      const mark = arena.mark();
      const ctx: Ctx = { arena, k: net.kernels, training: true, rng: new Rng(o.seed, 0x5e9b0000 + step) };
      lossSum += net.lossAndGrad(ctx, ids.subarray(0, n * T), targets.subarray(0, n * T), lengths.subarray(0, n), n, T) * n;
      arena.release(mark);
      clipGradNorm(net.params, 5);
      opt.step(lrAt(schedule, step));
      net.params.zeroGrad();
      step++;
      if (s % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    onEpoch?.({ epoch, loss: lossSum / win.count, seconds: (performance.now() - t0) / 1000 });
  }
  const states = userStates(net, arena, seq, o.maxLen, N);
  const W = net.outWeight.value;
  const bias = net.outBias.value;
  // score = h_u . w_i + b_i as one dot product over d + 1 (the user's extra coordinate is 1), so the
  // generator is a plain 'dot' state that a saved recommender keeps and reloads
  const users = states.length / d;
  const userVectors = new Float32Array(users * (d + 1));
  for (let u = 0; u < users; u++) {
    userVectors.set(states.subarray(u * d, (u + 1) * d), u * (d + 1));
    userVectors[u * (d + 1) + d] = 1;
  }
  const itemVectors = new Float32Array(N * (d + 1));
  for (let i = 0; i < N; i++) {
    itemVectors.set(W.subarray(i * d, (i + 1) * d), i * (d + 1));
    itemVectors[i * (d + 1) + d] = bias[i]!;
  }
  return new ScoredGenerator(spec.name ?? 'sequence', 'sequence', train, { scorer: 'dot', dim: d + 1, userVectors, itemVectors });
}

/** Every user's state after their last `maxLen` items, [nUsers, d] (inference: no dropout). */
function userStates(net: NextItemNet, arena: Arena, seq: { tokens: Int32Array; offsets: Int32Array }, maxLen: number, pad: number): Float32Array {
  const users = seq.offsets.length - 1;
  const d = net.spec.dim;
  const out = new Float32Array(users * d);
  const B = 256;
  const T = maxLen;
  for (let u0 = 0; u0 < users; u0 += B) {
    const n = Math.min(B, users - u0);
    const mark = arena.mark();
    const ids = arena.i32(n * T).fill(pad);
    const lengths = arena.i32(n);
    for (let b = 0; b < n; b++) {
      const a = seq.offsets[u0 + b]!;
      const e = seq.offsets[u0 + b + 1]!;
      const from = Math.max(a, e - T);
      lengths[b] = e - from;
      ids.set(seq.tokens.subarray(from, e), b * T);
    }
    const ctx: Ctx = { arena, k: net.kernels, training: false, rng: new Rng(0) };
    out.set(net.states(ctx, ids, lengths, n, T), u0 * d);
    arena.release(mark);
  }
  return out;
}
