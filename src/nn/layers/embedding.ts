/**
 * Embedding (PyTorch's nn.Embedding): a table `weight` [n, d]; forward looks up one row per id, backward
 * scatters (adds) each output row's gradient into its id's row of weight.grad. Initialised N(0, 1) as
 * PyTorch does. With a padding index, that row starts at zero and gets no gradient, so it stays zero
 * under any optimizer (weight decay of a zero row is zero).
 */
import { KilnError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { initNormal, type Ctx, type Param, type Params } from '../module.js';

export class Embedding {
  readonly weight: Param;
  private ids: Int32Array = new Int32Array(0);

  constructor(params: Params, name: string, readonly n: number, readonly dim: number, rng: Rng, readonly paddingIdx: number | null = null) {
    if (paddingIdx !== null && !(Number.isInteger(paddingIdx) && paddingIdx >= 0 && paddingIdx < n)) {
      throw new KilnError('INVALID_ARGUMENT', `embedding padding index ${paddingIdx} is outside [0, ${n})`);
    }
    this.weight = params.add(`${name}.weight`, [n, dim]);
    initNormal(this.weight.value, 1, rng);
    if (paddingIdx !== null) this.weight.value.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
  }

  /** ids: any number of ids in [0, n) -> [ids.length, dim]. */
  forward(ctx: Ctx, ids: Int32Array): Float32Array {
    const { n, dim } = this;
    const w = this.weight.value;
    const y = ctx.arena.f32(ids.length * dim);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < n)) throw new KilnError('INVALID_ARGUMENT', `embedding id ${id} at ${i} is outside [0, ${n})`);
      y.set(w.subarray(id * dim, (id + 1) * dim), i * dim);
    }
    this.ids = ids;
    return y;
  }

  /** dy: [ids.length, dim]; adds into weight.grad (ids have no gradient). */
  backward(ctx: Ctx, dy: Float32Array): void {
    void ctx;
    const { dim, ids, paddingIdx } = this;
    const g = this.weight.grad;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === paddingIdx) continue;
      const o = id * dim;
      const s = i * dim;
      for (let j = 0; j < dim; j++) g[o + j] = g[o + j]! + dy[s + j]!;
    }
  }
}
