/**
 * Sequence pooling: [B, T, D] right-padded sequences with a length each -> one vector [B, D] per sequence.
 *
 *   last:      x[b, L_b - 1]
 *   mean:      (1 / L_b) sum_{t < L_b} x[b, t]
 *   attention: a learned query w [D]; s_t = x[b, t] . w; a = softmax of s over t < L_b; sum_t a_t x[b, t]
 *
 * Steps at or past a sequence's length are never read, and get zero gradient. A sequence of length 0
 * (an entity with no events) pools to zeros; `EmptyEmbedding` then puts a learned vector in its place.
 *
 * Attention backward: with g_t = dy . x_t, ds_t = a_t (g_t - sum_u a_u g_u), so
 * dx_t = a_t dy + ds_t w and dw = sum_b sum_t ds_t x_t.
 */
import { KilnError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { initNormal, initUniform, type Ctx, type Param, type Params } from '../module.js';

export type PoolKind = 'last' | 'mean' | 'attention';

export class SequencePool {
  /** The attention query `${name}.query` [D] (attention only). */
  readonly query: Param | null;
  private x: Float32Array = new Float32Array(0);
  private lengths: Int32Array = new Int32Array(0);
  private batch = 0;
  private steps = 0;
  /** [B, T] attention weights (attention only). */
  private weights: Float32Array = new Float32Array(0);

  constructor(params: Params, name: string, readonly kind: PoolKind, readonly dim: number, rng: Rng) {
    this.query = kind === 'attention' ? params.add(`${name}.query`, [dim]) : null;
    if (this.query) initUniform(this.query.value, 1 / Math.sqrt(dim), rng);
  }

  /** x: [B, T, D], lengths: B values in [0, T] -> [B, D]. */
  forward(ctx: Ctx, x: Float32Array, batch: number, steps: number, lengths: Int32Array): Float32Array {
    const D = this.dim;
    const B = batch;
    const T = steps;
    if (x.length !== B * T * D) throw new KilnError('INVALID_ARGUMENT', `pooling input has ${x.length} values, expected ${B}x${T}x${D}`);
    if (lengths.length !== B) throw new KilnError('INVALID_ARGUMENT', `pooling got ${lengths.length} lengths for a batch of ${B}`);
    const y = ctx.arena.f32(B * D);
    const att = this.kind === 'attention' ? ctx.arena.f32(B * T) : null;
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      if (!(L >= 0 && L <= T)) throw new KilnError('INVALID_ARGUMENT', `pooling sequence ${b} has length ${L}, outside [0, ${T}]`);
      if (L === 0) continue;
      const base = b * T * D;
      const o = b * D;
      if (this.kind === 'last') {
        y.set(x.subarray(base + (L - 1) * D, base + L * D), o);
      } else if (this.kind === 'mean') {
        ctx.k.sumRows(L, D, b === 0 ? x : x.subarray(base), D, b === 0 ? y : y.subarray(o, o + D));
        for (let j = 0; j < D; j++) y[o + j] = y[o + j]! / L;
      } else {
        this.attend(x, base, L, b * T, att!, y, o);
      }
    }
    this.x = x;
    this.lengths = lengths;
    this.batch = B;
    this.steps = T;
    if (att) this.weights = att;
    return y;
  }

  /** dy: [B, D] -> dx [B, T, D]; attention adds into query.grad. */
  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const D = this.dim;
    const { batch: B, steps: T, x, lengths } = this;
    const dx = ctx.arena.f32(B * T * D);
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      if (L === 0) continue;
      const base = b * T * D;
      const o = b * D;
      if (this.kind === 'last') {
        for (let j = 0; j < D; j++) dx[base + (L - 1) * D + j] = dy[o + j]!;
      } else if (this.kind === 'mean') {
        for (let t = 0; t < L; t++) for (let j = 0; j < D; j++) dx[base + t * D + j] = dy[o + j]! / L;
      } else {
        this.attendBackward(x, base, L, b * T, dy, o, dx);
      }
    }
    return dx;
  }

  private attend(x: Float32Array, base: number, L: number, at: number, att: Float32Array, y: Float32Array, o: number): void {
    const D = this.dim;
    const w = this.query!.value;
    let max = -Infinity;
    for (let t = 0; t < L; t++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += x[base + t * D + j]! * w[j]!;
      att[at + t] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let t = 0; t < L; t++) {
      const e = Math.exp(att[at + t]! - max);
      att[at + t] = e;
      sum += e;
    }
    for (let t = 0; t < L; t++) {
      const a = att[at + t]! / sum;
      att[at + t] = a;
      for (let j = 0; j < D; j++) y[o + j] = y[o + j]! + a * x[base + t * D + j]!;
    }
  }

  private attendBackward(x: Float32Array, base: number, L: number, at: number, dy: Float32Array, o: number, dx: Float32Array): void {
    const D = this.dim;
    const w = this.query!.value;
    const dw = this.query!.grad;
    const att = this.weights;
    let ag = 0;
    for (let t = 0; t < L; t++) {
      let g = 0;
      for (let j = 0; j < D; j++) g += dy[o + j]! * x[base + t * D + j]!;
      ag += att[at + t]! * g;
    }
    for (let t = 0; t < L; t++) {
      const a = att[at + t]!;
      const row = base + t * D;
      let g = 0;
      for (let j = 0; j < D; j++) g += dy[o + j]! * x[row + j]!;
      const ds = a * (g - ag);
      for (let j = 0; j < D; j++) {
        dx[row + j] = a * dy[o + j]! + ds * w[j]!;
        dw[j] = dw[j]! + ds * x[row + j]!;
      }
    }
  }
}

/**
 * The learned vector that stands for an entity with no events: forward copies pooled rows [B, D] and puts
 * `${name}.empty` [D] in the rows whose length is 0; backward routes those rows' gradient to it.
 */
export class EmptyEmbedding {
  readonly empty: Param;
  private lengths: Int32Array = new Int32Array(0);

  constructor(params: Params, name: string, readonly dim: number, rng: Rng) {
    this.empty = params.add(`${name}.empty`, [dim]);
    initNormal(this.empty.value, 1, rng);
  }

  /** pooled: [B, D], lengths: B values -> [B, D]. */
  forward(ctx: Ctx, pooled: Float32Array, lengths: Int32Array): Float32Array {
    const D = this.dim;
    if (pooled.length !== lengths.length * D) throw new KilnError('INVALID_ARGUMENT', `empty embedding got ${pooled.length} values for ${lengths.length} rows of ${D}`);
    const y = ctx.arena.f32(pooled.length);
    y.set(pooled);
    for (let b = 0; b < lengths.length; b++) if (lengths[b] === 0) y.set(this.empty.value, b * D);
    this.lengths = lengths;
    return y;
  }

  /** dy: [B, D] -> d pooled [B, D] (zero in the empty rows); adds the empty rows' gradient into empty.grad. */
  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const D = this.dim;
    const g = this.empty.grad;
    const dx = ctx.arena.f32(dy.length);
    for (let b = 0; b < this.lengths.length; b++) {
      const o = b * D;
      if (this.lengths[b] === 0) {
        for (let j = 0; j < D; j++) g[j] = g[j]! + dy[o + j]!;
      } else {
        dx.set(dy.subarray(o, o + D), o);
      }
    }
    return dx;
  }
}
