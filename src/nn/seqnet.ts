/**
 * kiln's sequence network: an entity's recent events (a `lastK` feature, encoded by sequences/) ->
 * an embedding -> one or more task heads, optionally fused with tabular inputs (the joint model).
 *
 *   token_t   = [numeric_t ; emb_1(cat_1,t) ; ... ]                 (per event, width W)
 *   GRU:        h_t = GRU(token_t)                                    (W -> hidden)
 *   transformer x_t = Dense(token_t) + position_t (learned or time gaps); N encoder layers
 *   e         = pool_t(h_t) (last | mean | attention); a learned vector when the entity has no events
 *   z         = [e ; tabular]  -> optional Dense + ReLU trunk       (the joint model)
 *   heads     = Dense(z) -> one logit per binary task, C logits per softmax task
 *
 * The loss is the weighted sum of the heads' losses; a row whose label for a task is unknown (NaN for a
 * binary task, -1 for a class) adds nothing to that task. Batch fields: `num` [T*numeric], `c.<name>`
 * [T] ids per categorical field, `len` [1], `gap` [T] seconds (time positions), `tab` [tabular],
 * `y.<head>` [1]. `predict` returns per row the heads' logits then the embedding e. `embed` and
 * `embedBackward` run the encoder path alone (tokens to e), for self-supervised pre-training (pretrain.ts).
 */
import { Rng } from '../core/rng.js';
import { Dense } from './layers/dense.js';
import { Embedding } from './layers/embedding.js';
import { GRU } from './layers/gru.js';
import { EmptyEmbedding, SequencePool, type PoolKind } from './layers/pooling.js';
import { LearnedPositions, TimeGapEncoding } from './layers/positions.js';
import { TransformerEncoder } from './layers/transformer.js';
import type { Arena } from './memory.js';
import { Params, type Ctx, type Param } from './module.js';
import type { Batch } from './parallel/data.js';

export type SeqEncoderSpec =
  | { type: 'gru'; hidden: number }
  | { type: 'transformer'; dim: number; layers: number; heads: number; ff: number; dropout: number; positions: 'learned' | 'time' | 'none' };

export type HeadSpec = { name: string; weight: number } & ({ type: 'binary' } | { type: 'softmax'; classes: number });

export interface SeqNetSpec {
  kind: 'seq';
  seed: number;
  /** Events per sequence (T): the lastK's k. */
  steps: number;
  /** Numeric values per event (normalised fields, missing flags, time features). */
  numeric: number;
  categorical: { name: string; vocab: number; dim: number }[];
  encoder: SeqEncoderSpec;
  pooling: PoolKind;
  /** Tabular inputs fused with the embedding (0: a sequence-only model). */
  tabular: number;
  /** Units of the Dense + ReLU layer after fusion (0: heads read the fused vector directly). */
  trunk: number;
  heads: HeadSpec[];
}

export const headWidth = (h: HeadSpec): number => (h.type === 'binary' ? 1 : h.classes);

/** Width of the entity embedding a spec's network outputs after its heads. */
export const embeddingDim = (spec: SeqNetSpec): number => (spec.encoder.type === 'gru' ? spec.encoder.hidden : spec.encoder.dim);

export class SeqNet {
  readonly params: Params;
  readonly outputs: number;
  /** Width of the entity embedding e. */
  readonly embeddingDim: number;
  private readonly tokenWidth: number;
  private readonly embeds: Embedding[];
  private readonly gru: GRU | null = null;
  private readonly input: Dense | null = null;
  private readonly learned: LearnedPositions | null = null;
  private readonly time: TimeGapEncoding | null = null;
  private readonly encoder: TransformerEncoder | null = null;
  private readonly pool: SequencePool;
  private readonly empty: EmptyEmbedding;
  private readonly trunk: Dense | null;
  private readonly head: Dense;
  private readonly headsWidth: number;
  /** Parameters registered before the trunk and heads: those `embed` reads. */
  private readonly encoderCount: number;
  private trunkOut: Float32Array = new Float32Array(0);
  private lengths: Int32Array = new Int32Array(0);
  private n = 0;
  private e: Float32Array = new Float32Array(0);

  constructor(readonly spec: SeqNetSpec, arena: Arena) {
    this.params = new Params(arena);
    const rng = new Rng(spec.seed, 0x5e9);
    const P = this.params;
    this.embeds = spec.categorical.map((c) => new Embedding(P, `embed.${c.name}`, c.vocab, c.dim, rng, 0));
    this.tokenWidth = spec.numeric + spec.categorical.reduce((s, c) => s + c.dim, 0);
    const enc = spec.encoder;
    if (enc.type === 'gru') {
      this.gru = new GRU(P, 'gru', this.tokenWidth, enc.hidden, rng);
      this.embeddingDim = enc.hidden;
    } else {
      this.input = new Dense(P, 'input', this.tokenWidth, enc.dim, rng);
      if (enc.positions === 'learned') this.learned = new LearnedPositions(P, 'positions', spec.steps, enc.dim, rng, 0.02);
      if (enc.positions === 'time') this.time = new TimeGapEncoding(P, 'time', enc.dim, rng);
      this.encoder = new TransformerEncoder(P, 'encoder', enc.layers, { dim: enc.dim, heads: enc.heads, ff: enc.ff, dropout: enc.dropout }, rng);
      this.embeddingDim = enc.dim;
    }
    const D = this.embeddingDim;
    this.pool = new SequencePool(P, 'pool', spec.pooling, D, rng);
    this.empty = new EmptyEmbedding(P, 'pool', D, rng);
    this.encoderCount = P.list.length;
    const fused = D + spec.tabular;
    this.trunk = spec.trunk > 0 ? new Dense(P, 'trunk', fused, spec.trunk, rng) : null;
    this.headsWidth = spec.heads.reduce((s, h) => s + headWidth(h), 0);
    this.head = new Dense(P, 'heads', spec.trunk > 0 ? spec.trunk : fused, this.headsWidth, rng);
    this.outputs = this.headsWidth + D;
  }

  /** The encoder's parameters (embeddings, encoder, pooling, empty-history vector): what `embed` reads and pre-training learns. */
  get encoderParams(): readonly Param[] {
    return this.params.list.slice(0, this.encoderCount);
  }

  /** The tokens [B*T, W]: numeric values, then each categorical field's embedding. */
  private tokens(ctx: Ctx, batch: Batch): Float32Array {
    const { numeric, steps: T } = this.spec;
    const W = this.tokenWidth;
    const rows = batch.n * T;
    if (this.embeds.length === 0 && numeric === W) return batch.f32.num!;
    const tok = ctx.arena.f32(rows * W);
    const num = batch.f32.num;
    if (numeric > 0 && num) for (let r = 0; r < rows; r++) tok.set(num.subarray(r * numeric, (r + 1) * numeric), r * W);
    let off = numeric;
    this.embeds.forEach((e, i) => {
      const y = e.forward(ctx, batch.i32[`c.${this.spec.categorical[i]!.name}`]!);
      const d = e.dim;
      for (let r = 0; r < rows; r++) tok.set(y.subarray(r * d, (r + 1) * d), r * W + off);
      off += d;
    });
    return tok;
  }

  private tokensBackward(ctx: Ctx, dTok: Float32Array): void {
    const rows = this.n * this.spec.steps;
    const W = this.tokenWidth;
    let off = this.spec.numeric;
    for (const e of this.embeds) {
      const d = e.dim;
      const dy = ctx.arena.f32(rows * d);
      for (let r = 0; r < rows; r++) dy.set(dTok.subarray(r * W + off, r * W + off + d), r * d);
      e.backward(ctx, dy);
      off += d;
    }
  }

  /**
   * The encoder path alone: tokens -> encoder -> pooling -> the empty-history vector where a row has no
   * events, [B, D]. `forward` and pre-training (pretrain.ts) share it; `embedBackward` is its backward.
   * It reads `num`, `c.<name>`, `len` and (time positions) `gap` of the batch.
   */
  embed(ctx: Ctx, batch: Batch): Float32Array {
    const B = batch.n;
    const T = this.spec.steps;
    const lengths = batch.i32.len!;
    this.n = B;
    this.lengths = lengths;
    const tok = this.tokens(ctx, batch);
    let pooled: Float32Array;
    if (this.gru) {
      const out = this.gru.forward(ctx, tok, B, T, lengths);
      pooled = this.spec.pooling === 'last' ? out.h : this.pool.forward(ctx, out.y, B, T, lengths);
    } else {
      let x = this.input!.forward(ctx, tok, B * T);
      if (this.learned) x = this.learned.forward(ctx, x, B, T);
      if (this.time) x = this.time.forward(ctx, x, batch.f32.gap!, B, T);
      const y = this.encoder!.forward(ctx, x, B, T, lengths);
      pooled = this.pool.forward(ctx, y, B, T, lengths);
    }
    const e = this.empty.forward(ctx, pooled, lengths);
    this.e = e;
    return e;
  }

  /** Backward of the last `embed` from dLoss/de [B, D]: adds the encoder's parameter gradients. */
  embedBackward(ctx: Ctx, de: Float32Array): void {
    const dPooled = this.empty.backward(ctx, de);
    let dTok: Float32Array;
    if (this.gru) {
      if (this.spec.pooling === 'last') dTok = this.gru.backward(ctx, null, dPooled).dx;
      else dTok = this.gru.backward(ctx, this.pool.backward(ctx, dPooled), null).dx;
    } else {
      let dx = this.encoder!.backward(ctx, this.pool.backward(ctx, dPooled));
      if (this.time) dx = this.time.backward(ctx, dx);
      if (this.learned) dx = this.learned.backward(ctx, dx);
      dTok = this.input!.backward(ctx, dx);
    }
    if (this.embeds.length) this.tokensBackward(ctx, dTok);
  }

  /** Forward to the heads' logits [B, headsWidth]; keeps the embedding in `this.e`. */
  private forward(ctx: Ctx, batch: Batch): Float32Array {
    const B = batch.n;
    const e = this.embed(ctx, batch);
    const D = this.embeddingDim;
    const Ft = this.spec.tabular;
    let z = e;
    if (Ft > 0) {
      z = ctx.arena.f32(B * (D + Ft));
      const tab = batch.f32.tab!;
      for (let b = 0; b < B; b++) {
        z.set(e.subarray(b * D, (b + 1) * D), b * (D + Ft));
        z.set(tab.subarray(b * Ft, (b + 1) * Ft), b * (D + Ft) + D);
      }
    }
    if (this.trunk) {
      const a = this.trunk.forward(ctx, z, B);
      for (let i = 0; i < a.length; i++) if (a[i]! < 0) a[i] = 0;
      this.trunkOut = a;
      z = a;
    }
    return this.head.forward(ctx, z, B);
  }

  private backward(ctx: Ctx, dLogits: Float32Array): void {
    const B = this.n;
    const D = this.embeddingDim;
    const Ft = this.spec.tabular;
    let dz = this.head.backward(ctx, dLogits);
    if (this.trunk) {
      const a = this.trunkOut;
      for (let i = 0; i < dz.length; i++) if (a[i]! <= 0) dz[i] = 0;
      dz = this.trunk.backward(ctx, dz);
    }
    let de = dz;
    if (Ft > 0) {
      de = ctx.arena.f32(B * D);
      for (let b = 0; b < B; b++) de.set(dz.subarray(b * (D + Ft), b * (D + Ft) + D), b * D);
    }
    this.embedBackward(ctx, de);
  }

  lossAndGrad(ctx: Ctx, batch: Batch, scale: number): number {
    const logits = this.forward(ctx, batch);
    const B = batch.n;
    const HW = this.headsWidth;
    const g = ctx.arena.f32(B * HW);
    let loss = 0;
    let col = 0;
    for (const h of this.spec.heads) {
      const w = h.weight * scale;
      if (h.type === 'binary') {
        const y = batch.f32[`y.${h.name}`]!;
        for (let b = 0; b < B; b++) {
          const t = y[b]!;
          if (t !== t) continue;
          const x = logits[b * HW + col]!;
          loss += w * (Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x))));
          g[b * HW + col] = w * (1 / (1 + Math.exp(-x)) - t);
        }
      } else {
        const y = batch.i32[`y.${h.name}`]!;
        const C = h.classes;
        for (let b = 0; b < B; b++) {
          const t = y[b]!;
          if (t < 0) continue;
          const o = b * HW + col;
          let m = -Infinity;
          for (let c = 0; c < C; c++) m = Math.max(m, logits[o + c]!);
          let s = 0;
          for (let c = 0; c < C; c++) s += Math.exp(logits[o + c]! - m);
          loss += w * (m + Math.log(s) - logits[o + t]!);
          for (let c = 0; c < C; c++) g[o + c] = w * (Math.exp(logits[o + c]! - m) / s - (c === t ? 1 : 0));
        }
      }
      col += headWidth(h);
    }
    this.backward(ctx, g);
    return loss;
  }

  predict(ctx: Ctx, batch: Batch): Float32Array {
    const logits = this.forward(ctx, batch);
    const B = batch.n;
    const HW = this.headsWidth;
    const D = this.embeddingDim;
    const out = ctx.arena.f32(B * this.outputs);
    for (let b = 0; b < B; b++) {
      out.set(logits.subarray(b * HW, (b + 1) * HW), b * this.outputs);
      out.set(this.e.subarray(b * D, (b + 1) * D), b * this.outputs + HW);
    }
    return out;
  }
}
