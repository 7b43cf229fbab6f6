/**
 * Self-supervised pre-training of a SeqNet's encoder, a net kind of the data-parallel trainer
 * (`{ kind: 'seq-pretrain' }`): the encoder path of seqnet.ts (`embed`: tokens -> encoder -> pooling ->
 * empty-history vector) learns from the events alone, no labels, and its pooled output is the entity's
 * embedding. Two methods:
 *
 * - contrastive (CoLES, Babaev et al. 2022): for each row of a shard with at least 2 events, two random
 *   contiguous sub-sequences of its events are drawn (`drawViews`), both encoded by the SAME encoder
 *   in one batch of 2m rows (view a of the m rows, then view b), and NT-Xent (contrastive.ts,
 *   temperature tau) pulls the two views of one entity together and pushes every other row of the
 *   shard away. A view's length is uniform in [min(minLength, len), len], then its start uniform in
 *   [0, len - length]; all draws come from ctx.rng in a fixed order (per row: length a, start a,
 *   length b, start b), so the views depend on the seed and the shard, never on the thread count.
 * - next-event: the prefix of a row's events (all but the last; rows with < 2 events are skipped) is
 *   encoded, and a softmax head over the embedding (`pretrain.next.*`, its own parameters) predicts the
 *   id of the last event's category in a categorical field (the field's ids: OOV and NULL included).
 *
 * A sub-sequence is steps [start, start + length) of the row moved to steps [0, length) (right padding,
 * as encode.ts), with every per-step value kept: the first event's gap to the event before it stays as
 * encoded, the convention encode.ts already follows for a list cut to its latest T events.
 *
 * The loss follows the trainer's contract (net.ts): the sum of per-row losses times `scale`. A shard of m
 * usable rows adds m times its mean loss; rows without enough events add nothing.
 *
 * `params` holds the SeqNet's encoder parameters (the same Param objects, names and order as in a SeqNet
 * built from the same spec: `SeqNet.encoderParams`), then the next-event head. The supervised net's
 * trunk and heads are not trained here. `copyParamsByName` moves the learned weights into a supervised net.
 */
import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { ntXent } from './contrastive.js';
import { Dense } from './layers/dense.js';
import { softmaxCrossEntropy } from './losses.js';
import type { Arena } from './memory.js';
import { Params, type Ctx, type Param } from './module.js';
import type { Trainable } from './net.js';
import type { Batch } from './parallel/data.js';
import { SeqNet, type SeqNetSpec } from './seqnet.js';

export type PretrainMethod = 'contrastive' | 'next-event';

export interface SeqPretrainSpec {
  kind: 'seq-pretrain';
  /** The supervised net whose encoder is pre-trained (its trunk and heads are left alone). */
  net: SeqNetSpec;
  method: PretrainMethod;
  /** NT-Xent temperature (contrastive). */
  tau: number;
  /** Shortest sub-sequence of the contrastive views (a row with fewer events uses all of them). */
  minLength: number;
  /** Next-event: the categorical field (of `net.categorical`) whose last id is predicted. */
  field?: string;
}

/** Which steps of which batch rows make each view: rows [0, pairs) are views a, [pairs, 2 pairs) views b. */
export interface Views {
  /** Row pairs drawn (rows with at least 2 events). */
  pairs: number;
  /** Per view (2 * pairs): the source row in the batch, the first step and the number of steps. */
  src: Int32Array;
  start: Int32Array;
  length: Int32Array;
}

/** Draws the two contrastive views of every row with at least 2 events, from `rng` in a fixed order. */
export function drawViews(rng: Rng, lengths: ArrayLike<number>, minLength: number): Views {
  const rows: number[] = [];
  for (let b = 0; b < lengths.length; b++) if (lengths[b]! >= 2) rows.push(b);
  const m = rows.length;
  const src = new Int32Array(2 * m);
  const start = new Int32Array(2 * m);
  const length = new Int32Array(2 * m);
  rows.forEach((b, i) => {
    const len = lengths[b]!;
    const lo = Math.max(1, Math.min(minLength, len));
    for (const v of [i, i + m]) {
      const L = lo + rng.int(len - lo + 1);
      src[v] = b;
      length[v] = L;
      start[v] = rng.int(len - L + 1);
    }
  });
  return { pairs: m, src, start, length };
}

/**
 * A batch of sub-sequences: view v is steps [start[v], start[v] + length[v]) of row src[v] of `batch`,
 * moved to steps [0, length[v]), the rest padding. Carries the fields `embed` reads (num, gap, c.*, len).
 */
export function sliceSteps(ctx: Ctx, batch: Batch, spec: SeqNetSpec, src: Int32Array, start: Int32Array, length: Int32Array): Batch {
  const n = src.length;
  const T = spec.steps;
  const f32: Record<string, Float32Array> = {};
  const i32: Record<string, Int32Array> = {};
  const copy = <A extends Float32Array | Int32Array>(x: A, out: A, per: number): A => {
    for (let v = 0; v < n; v++) {
      const from = (src[v]! * T + start[v]!) * per;
      out.set(x.subarray(from, from + length[v]! * per) as never, v * T * per);
    }
    return out;
  };
  const num = batch.f32.num;
  if (num && spec.numeric > 0) f32.num = copy(num, ctx.arena.f32(n * T * spec.numeric), spec.numeric);
  const gap = batch.f32.gap;
  if (gap) f32.gap = copy(gap, ctx.arena.f32(n * T), 1);
  for (const c of spec.categorical) i32[`c.${c.name}`] = copy(batch.i32[`c.${c.name}`]!, ctx.arena.i32(n * T), 1);
  const len = ctx.arena.i32(n);
  for (let v = 0; v < n; v++) {
    const L = length[v]!;
    if (!(L >= 0 && L <= T && start[v]! >= 0 && start[v]! + L <= T)) throw new KilnError('INVALID_ARGUMENT', `sub-sequence [${start[v]}, ${start[v]! + L}) is outside ${T} steps`);
    len[v] = L;
  }
  i32.len = len;
  return { n, f32, i32 };
}

/**
 * Copies the value of every parameter of `from` whose name `to` also has (shapes must agree); returns
 * the names copied, in `from`'s order. Pre-trained encoder weights load into a supervised SeqNet this way.
 */
export function copyParamsByName(from: Params | readonly Pick<Param, 'name' | 'shape' | 'value'>[], to: Params): string[] {
  const list = from instanceof Params ? from.list : from;
  const byName = new Map(to.list.map((p) => [p.name, p]));
  const copied: string[] = [];
  for (const p of list) {
    const q = byName.get(p.name);
    if (!q) continue;
    if (q.shape.length !== p.shape.length || q.shape.some((d, i) => d !== p.shape[i])) {
      throw new KilnError('INVALID_ARGUMENT', `parameter ${p.name}: shape [${p.shape.join(', ')}] does not fit [${q.shape.join(', ')}]`);
    }
    q.value.set(p.value);
    copied.push(p.name);
  }
  return copied;
}

/** The trainer's net for `{ kind: 'seq-pretrain' }`: `predict` returns each row's embedding [B, D]. */
export class SeqPretrainNet implements Trainable {
  readonly params: Params;
  readonly outputs: number;
  readonly seq: SeqNet;
  private readonly head: Dense | null = null;
  private readonly classes: number = 0;

  constructor(readonly spec: SeqPretrainSpec, arena: Arena) {
    if (spec.method !== 'contrastive' && spec.method !== 'next-event') throw new KilnError('INVALID_ARGUMENT', `pre-training method '${String(spec.method)}' is not 'contrastive' or 'next-event'`);
    if (spec.method === 'contrastive' && !(spec.tau > 0)) throw new KilnError('INVALID_ARGUMENT', `pre-training temperature ${spec.tau} must be positive`);
    this.seq = new SeqNet(spec.net, arena);
    this.params = new Params(arena);
    for (const p of this.seq.encoderParams) this.params.list.push(p);
    const D = this.seq.embeddingDim;
    if (spec.method === 'next-event') {
      const field = spec.net.categorical.find((c) => c.name === spec.field);
      if (!field) throw new KilnError('INVALID_ARGUMENT', `next-event pre-training: '${spec.field ?? ''}' is not a categorical field (fields: ${spec.net.categorical.map((c) => c.name).join(', ') || 'none'})`);
      this.classes = field.vocab;
      this.head = new Dense(this.params, 'pretrain.next', D, field.vocab, new Rng(spec.net.seed, 0x9e7));
    }
    this.outputs = D;
  }

  lossAndGrad(ctx: Ctx, batch: Batch, scale: number): number {
    return this.spec.method === 'contrastive' ? this.contrastive(ctx, batch, scale) : this.nextEvent(ctx, batch, scale);
  }

  private contrastive(ctx: Ctx, batch: Batch, scale: number): number {
    const views = drawViews(ctx.rng, batch.i32.len!, this.spec.minLength);
    const m = views.pairs;
    if (m < 2) return 0;
    const vb = sliceSteps(ctx, batch, this.spec.net, views.src, views.start, views.length);
    const z = this.seq.embed(ctx, vb);
    const D = this.seq.embeddingDim;
    const { loss, grad } = ntXent(ctx, z, 2 * m, D, this.spec.tau);
    const w = m * scale;
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * w;
    this.seq.embedBackward(ctx, grad);
    return loss * w;
  }

  private nextEvent(ctx: Ctx, batch: Batch, scale: number): number {
    const T = this.spec.net.steps;
    const lengths = batch.i32.len!;
    const ids = batch.i32[`c.${this.spec.field!}`]!;
    const rows: number[] = [];
    for (let b = 0; b < batch.n; b++) if (lengths[b]! >= 2) rows.push(b);
    const m = rows.length;
    if (m === 0) return 0;
    const src = Int32Array.from(rows);
    const length = Int32Array.from(rows, (b) => lengths[b]! - 1);
    const target = Int32Array.from(rows, (b) => ids[b * T + lengths[b]! - 1]!);
    const vb = sliceSteps(ctx, batch, this.spec.net, src, new Int32Array(m), length);
    const e = this.seq.embed(ctx, vb);
    const logits = this.head!.forward(ctx, e, m);
    const { loss, grad } = softmaxCrossEntropy(ctx, logits, target, this.classes);
    const w = m * scale;
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * w;
    this.seq.embedBackward(ctx, this.head!.backward(ctx, grad));
    return loss * w;
  }

  predict(ctx: Ctx, batch: Batch): Float32Array {
    return this.seq.embed(ctx, batch);
  }
}
