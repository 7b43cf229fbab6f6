/**
 * The two-tower retrieval network (src/embeddings/two-tower.ts trains it): one tower per side, each
 *
 *   x = [id embedding (ids > 0) ; standardised features]  ->  Dense(hidden) + ReLU  ->  Dense(dim)
 *   u = z / max(|z|, 1e-12)                                                           (L2-normalised)
 *
 * (hidden 0: x -> Dense(dim) directly). An id of -1 (unknown, cold) reads the padding row of the id
 * table, which is zero and gets no gradient, so such a row is embedded from its features alone.
 *
 * The loss (in-batch softmax) couples every row of a batch, so the data-parallel trainer cannot cut a
 * batch into shards that each compute it. Training is two passes instead: `predict` gives each row's
 * [user vector ; item vector] (outputs = 2 * dim), the caller computes the loss and its gradient with
 * respect to those vectors on its own thread, writes that gradient into the batch field `g` [2 * dim],
 * and `lossAndGrad` runs the towers forward again and back-propagates `g` (already the gradient of the
 * batch loss, so `scale` is not applied; it returns 0, the caller holds the loss).
 *
 * Batch fields: `u`, `i` [1] ids (when the side has ids), `uf`, `if` [features] (when it has features),
 * `g` [2 * dim] (training).
 */
import { Rng } from '../core/rng.js';
import { Dense } from './layers/dense.js';
import { Embedding } from './layers/embedding.js';
import type { Arena } from './memory.js';
import { Params, type Ctx, type Param } from './module.js';
import type { Batch } from './parallel/data.js';

/** One side's inputs. */
export interface TowerSpec {
  /** Ids 0..ids-1 get a learned vector; 0: no id embedding. */
  ids: number;
  idDim: number;
  /** Numeric inputs per row (standardised by the caller). */
  features: number;
}

export interface TwoTowerNetSpec {
  kind: 'two-tower';
  seed: number;
  /** Width of the output vectors. */
  dim: number;
  /** Units of the hidden Dense + ReLU layer (0: none). */
  hidden: number;
  user: TowerSpec;
  item: TowerSpec;
}

/** F.normalize's floor on the norm. */
const NORM_EPS = 1e-12;

export class Tower {
  private readonly embedding: Embedding | null;
  private readonly layers: Dense[] = [];
  readonly width: number;
  private pre: Float32Array = new Float32Array(0);
  private u: Float32Array = new Float32Array(0);
  private norms: Float32Array = new Float32Array(0);
  private n = 0;

  constructor(params: Params, name: string, readonly spec: TowerSpec, readonly dim: number, hidden: number, rng: Rng) {
    const { ids, idDim, features } = spec;
    this.embedding = ids > 0 ? new Embedding(params, `${name}.ids`, ids + 1, idDim, rng, ids) : null;
    this.width = (ids > 0 ? idDim : 0) + features;
    const sizes = hidden > 0 ? [this.width, hidden, dim] : [this.width, dim];
    for (let l = 0; l + 1 < sizes.length; l++) this.layers.push(new Dense(params, `${name}.layers.${l}`, sizes[l]!, sizes[l + 1]!, rng));
  }

  /** The id table [ids + 1, idDim] (its last row the zero padding of unknown ids), or null. */
  get idTable(): Param | null {
    return this.embedding ? this.embedding.weight : null;
  }

  /**
   * n rows -> [n, dim] unit vectors. `ids` (n ids in [-1, spec.ids); -1 = no id) when the tower has ids,
   * `features` [n, features] when it has features. The result lives in the arena until released.
   */
  forward(ctx: Ctx, ids: Int32Array | null, features: Float32Array | null, n: number): Float32Array {
    const { ids: nIds, idDim, features: F } = this.spec;
    let x: Float32Array;
    if (this.embedding) {
      const mapped = ctx.arena.i32(n);
      for (let r = 0; r < n; r++) mapped[r] = ids![r]! < 0 ? nIds : ids![r]!;
      const e = this.embedding.forward(ctx, mapped);
      if (F === 0) {
        x = e;
      } else {
        const W = this.width;
        x = ctx.arena.f32u(n * W);
        for (let r = 0; r < n; r++) {
          x.set(e.subarray(r * idDim, (r + 1) * idDim), r * W);
          x.set(features!.subarray(r * F, (r + 1) * F), r * W + idDim);
        }
      }
    } else {
      x = features!;
    }
    let h = x;
    for (let l = 0; l < this.layers.length; l++) {
      h = this.layers[l]!.forward(ctx, h, n);
      if (l + 1 < this.layers.length) {
        this.pre = h;
        const a = ctx.arena.f32u(h.length);
        ctx.k.relu(h.length, h, a);
        h = a;
      }
    }
    const D = this.dim;
    const u = ctx.arena.f32u(n * D);
    const norms = ctx.arena.f32u(n);
    for (let r = 0; r < n; r++) {
      const o = r * D;
      let s = 0;
      for (let d = 0; d < D; d++) s += h[o + d]! * h[o + d]!;
      const nrm = Math.max(Math.sqrt(s), NORM_EPS);
      norms[r] = nrm;
      for (let d = 0; d < D; d++) u[o + d] = h[o + d]! / nrm;
    }
    this.u = u;
    this.norms = norms;
    this.n = n;
    return u;
  }

  /** du: dLoss/du [n, dim] at row stride `ld` from offset `off`; adds the tower's parameter gradients. */
  backward(ctx: Ctx, du: Float32Array, off: number, ld: number): void {
    const { n, u, norms, dim: D } = this;
    let g = ctx.arena.f32u(n * D);
    for (let r = 0; r < n; r++) {
      const o = r * D;
      const s = off + r * ld;
      let proj = 0;
      for (let d = 0; d < D; d++) proj += u[o + d]! * du[s + d]!;
      const nrm = norms[r]!;
      for (let d = 0; d < D; d++) g[o + d] = (du[s + d]! - u[o + d]! * proj) / nrm;
    }
    for (let l = this.layers.length - 1; l >= 0; l--) {
      g = this.layers[l]!.backward(ctx, g);
      if (l > 0) {
        const dz = ctx.arena.f32u(g.length);
        ctx.k.reluBackward(g.length, this.pre, g, dz);
        g = dz;
      }
    }
    if (!this.embedding) return;
    const idDim = this.spec.idDim;
    if (this.width === idDim) {
      this.embedding.backward(ctx, g);
      return;
    }
    const de = ctx.arena.f32u(n * idDim);
    for (let r = 0; r < n; r++) de.set(g.subarray(r * this.width, r * this.width + idDim), r * idDim);
    this.embedding.backward(ctx, de);
  }
}

export class TwoTowerNet {
  readonly params: Params;
  readonly outputs: number;
  readonly user: Tower;
  readonly item: Tower;

  constructor(readonly spec: TwoTowerNetSpec, arena: Arena) {
    this.params = new Params(arena);
    const rng = new Rng(spec.seed, 0x2704);
    this.user = new Tower(this.params, 'user', spec.user, spec.dim, spec.hidden, rng);
    this.item = new Tower(this.params, 'item', spec.item, spec.dim, spec.hidden, rng);
    this.outputs = 2 * spec.dim;
  }

  private forward(ctx: Ctx, batch: Batch): { u: Float32Array; v: Float32Array } {
    const u = this.user.forward(ctx, batch.i32.u ?? null, batch.f32.uf ?? null, batch.n);
    const v = this.item.forward(ctx, batch.i32.i ?? null, batch.f32.if ?? null, batch.n);
    return { u, v };
  }

  lossAndGrad(ctx: Ctx, batch: Batch, scale: number): number {
    void scale;
    this.forward(ctx, batch);
    const g = batch.f32.g!;
    const D = this.spec.dim;
    this.user.backward(ctx, g, 0, 2 * D);
    this.item.backward(ctx, g, D, 2 * D);
    return 0;
  }

  predict(ctx: Ctx, batch: Batch): Float32Array {
    const { u, v } = this.forward(ctx, batch);
    const D = this.spec.dim;
    const out = ctx.arena.f32u(batch.n * 2 * D);
    for (let r = 0; r < batch.n; r++) {
      out.set(u.subarray(r * D, (r + 1) * D), r * 2 * D);
      out.set(v.subarray(r * D, (r + 1) * D), r * 2 * D + D);
    }
    return out;
  }
}
