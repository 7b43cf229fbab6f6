/**
 * Lazy AdamW for id tables (TensorFlow Addons' LazyAdam, with AdamW's decoupled decay): a step updates
 * only the rows a batch touched, their moments included; rows not in the batch keep their values and
 * moments. The arithmetic of a touched row is src/nn/optim.ts's AdamW operation for operation (float32
 * rounding included), with the global step count in the bias correction, so when every row is touched
 * every step the result is AdamW's, byte for byte. Dense AdamW over a table costs its whole size each
 * step; this costs the batch's rows.
 */
import { adamScalars, type Param } from '../nn/index.js';

export interface LazyAdamConfig {
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class LazyRowAdamW {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private t = 0;

  /** `tables`: [rows, width] parameters. */
  constructor(readonly tables: readonly Param[], readonly config: LazyAdamConfig) {
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.eps = config.eps ?? 1e-8;
    this.m = tables.map((p) => new Float32Array(p.value.length));
    this.v = tables.map((p) => new Float32Array(p.value.length));
  }

  /** One update at rate `lr` of rows[k] (distinct row indices) of tables[k]. */
  step(lr: number, rows: readonly Int32Array[]): void {
    const f = Math.fround;
    const { b1, c1, b2, c2, eps, negStep, bc2Sqrt } = adamScalars(lr, ++this.t, this.beta1, this.beta2, this.eps);
    this.tables.forEach((p, k) => {
      const wd = p.decay ? this.config.weightDecay : 0;
      const shrink = f(1 - lr * wd);
      const width = p.shape[1]!;
      const x = p.value;
      const g = p.grad;
      const m = this.m[k]!;
      const v = this.v[k]!;
      const list = rows[k]!;
      for (let r = 0; r < list.length; r++) {
        const end = (list[r]! + 1) * width;
        for (let i = list[r]! * width; i < end; i++) {
          const gi = g[i]!;
          if (wd !== 0) x[i] = x[i]! * shrink;
          m[i] = f(m[i]! * b1) + c1 * gi;
          v[i] = f(v[i]! * b2) + f(c2 * gi) * gi;
          const den = f(f(f(Math.sqrt(v[i]!)) / bc2Sqrt) + eps);
          x[i] = x[i]! + f(negStep * f(m[i]! / den));
        }
      }
    });
  }
}

/** The distinct values of ids[rows[r]] in first-seen order; `stamp` (one slot per id, reused across calls with rising `tag`) marks those seen. */
export function distinctIds(ids: Int32Array, rows: Int32Array, stamp: Int32Array, tag: number, out: Int32Array): Int32Array {
  let n = 0;
  for (let r = 0; r < rows.length; r++) {
    const id = ids[rows[r]!]!;
    if (stamp[id] !== tag) {
      stamp[id] = tag;
      out[n++] = id;
    }
  }
  return out.subarray(0, n);
}
