/**
 * How the two-tower trainer runs the towers for a batch of pairs: `embed` gives the batch's user and
 * item vectors (in `arena`, where the loss runs with kernels `k`), `backprop` takes the loss's gradient
 * with respect to them and leaves the batch's parameter gradients in `params`.
 *
 * - `LocalRunner` (threads 1): one net on the caller's thread; one forward, one backward, nothing
 *   copied; of the id tables' gradients only the batch's rows are zeroed and written, so a step costs
 *   the same whatever the number of ids.
 * - `ParallelRunner` (threads > 1): the data-parallel pool (src/nn/parallel) in two passes, as
 *   two-tower-net.ts describes: `DataParallel.predict` for the vectors, then the gradient written into
 *   the shared per-pair field `g` and `DataParallel.step` over 4 fixed shards. Its results do not depend
 *   on the number of threads, but differ from LocalRunner's in float32 rounding (the towers' gradients
 *   are summed by shard). The pool copies, sums and publishes every parameter each step, id tables
 *   included, and keeps each side's features per pair: it pays off when the towers, not the tables,
 *   dominate a step.
 */
import { Rng } from '../core/rng.js';
import { Arena, DataParallel, kernelsFor, TwoTowerNet, type Ctx, type Field, type Kernels, type Params, type TwoTowerNetSpec } from '../nn/index.js';

/** The training pairs and each side's standardised features (rows by id), as the runners read them. */
export interface RunnerData {
  user: Int32Array;
  item: Int32Array;
  userFeatures: Float32Array | null;
  itemFeatures: Float32Array | null;
}

export interface TowerRunner {
  readonly params: Params;
  readonly arena: Arena;
  readonly k: Kernels;
  embed(rows: Int32Array): { u: Float32Array; v: Float32Array };
  backprop(rows: Int32Array, gu: Float32Array, gv: Float32Array, step: number): void;
  close(): Promise<void>;
}

export async function startRunner(spec: TwoTowerNetSpec, data: RunnerData, threads: number, maxBatch: number): Promise<TowerRunner> {
  return threads <= 1 ? new LocalRunner(spec, data) : ParallelRunner.start(spec, data, threads, maxBatch);
}

class LocalRunner implements TowerRunner {
  readonly arena = new Arena(1 << 24);
  readonly k: Kernels;
  readonly params: Params;
  private readonly net: TwoTowerNet;
  private mark = 0;
  private ctx: Ctx;

  constructor(readonly spec: TwoTowerNetSpec, private readonly data: RunnerData) {
    this.net = new TwoTowerNet(spec, this.arena);
    this.params = this.net.params;
    this.k = kernelsFor(this.arena);
    this.ctx = { arena: this.arena, k: this.k, training: true, rng: new Rng(spec.seed, 0x2705) };
  }

  /** One side's ids and features of the batch's pairs, gathered into the arena. */
  private side(rows: Int32Array, ids: Int32Array, table: Float32Array | null, F: number, withIds: boolean): { ids: Int32Array | null; x: Float32Array | null } {
    const n = rows.length;
    const out = withIds ? this.arena.i32(n) : null;
    const x = table ? this.arena.f32u(n * F) : null;
    for (let r = 0; r < n; r++) {
      const id = ids[rows[r]!]!;
      if (out) out[r] = id;
      if (x) x.set(table!.subarray(id * F, (id + 1) * F), r * F);
    }
    return { ids: out, x };
  }

  /** Zeroes the gradients the batch's backward adds to: the dense layers, and of the id tables only the batch's rows. */
  private zeroGrads(rows: Int32Array): void {
    const tables = [this.net.user.idTable, this.net.item.idTable];
    for (const p of this.params.list) if (!tables.includes(p)) p.grad.fill(0);
    const sides = [this.data.user, this.data.item];
    tables.forEach((t, s) => {
      if (!t) return;
      const w = t.shape[1]!;
      const ids = sides[s]!;
      for (let r = 0; r < rows.length; r++) t.grad.fill(0, ids[rows[r]!]! * w, (ids[rows[r]!]! + 1) * w);
    });
  }

  embed(rows: Int32Array): { u: Float32Array; v: Float32Array } {
    this.zeroGrads(rows);
    this.mark = this.arena.mark();
    const { user, item } = this.spec;
    const n = rows.length;
    const us = this.side(rows, this.data.user, this.data.userFeatures, user.features, user.ids > 0);
    const is = this.side(rows, this.data.item, this.data.itemFeatures, item.features, item.ids > 0);
    return { u: this.net.user.forward(this.ctx, us.ids, us.x, n), v: this.net.item.forward(this.ctx, is.ids, is.x, n) };
  }

  backprop(rows: Int32Array, gu: Float32Array, gv: Float32Array): void {
    void rows;
    const D = this.spec.dim;
    this.net.user.backward(this.ctx, gu, 0, D);
    this.net.item.backward(this.ctx, gv, 0, D);
    this.arena.release(this.mark);
  }

  async close(): Promise<void> {}
}

function sharedI32(name: string, values: Int32Array): Field {
  const out = new Int32Array(new SharedArrayBuffer(values.byteLength));
  out.set(values);
  return { name, width: 1, data: out };
}

/** A [pairs, F] shared field: row k holds the features of ids[k]. */
function pairFeatures(name: string, table: Float32Array, F: number, ids: Int32Array): Field {
  const out = new Float32Array(new SharedArrayBuffer(ids.length * F * 4));
  for (let k = 0; k < ids.length; k++) out.set(table.subarray(ids[k]! * F, (ids[k]! + 1) * F), k * F);
  return { name, width: F, data: out };
}

class ParallelRunner implements TowerRunner {
  readonly arena: Arena;
  readonly k: Kernels;
  private readonly u: Float32Array;
  private readonly v: Float32Array;

  private constructor(private readonly dp: DataParallel, private readonly g: Float32Array, private readonly dim: number, maxBatch: number) {
    this.arena = new Arena(4 * (maxBatch * maxBatch + 8 * maxBatch * (dim + 1)) + (1 << 16));
    this.k = kernelsFor(this.arena);
    this.u = this.arena.f32(maxBatch * dim);
    this.v = this.arena.f32(maxBatch * dim);
  }

  static async start(spec: TwoTowerNetSpec, data: RunnerData, threads: number, maxBatch: number): Promise<ParallelRunner> {
    const D = spec.dim;
    const N = data.user.length;
    const fields: Field[] = [];
    if (spec.user.ids > 0) fields.push(sharedI32('u', data.user));
    if (spec.item.ids > 0) fields.push(sharedI32('i', data.item));
    if (data.userFeatures) fields.push(pairFeatures('uf', data.userFeatures, spec.user.features, data.user));
    if (data.itemFeatures) fields.push(pairFeatures('if', data.itemFeatures, spec.item.features, data.item));
    const g = new Float32Array(new SharedArrayBuffer(N * 2 * D * 4));
    fields.push({ name: 'g', width: 2 * D, data: g });
    const dp = await DataParallel.start(spec, { rows: N, fields }, { nthread: threads, shards: 4, maxBatch, seed: spec.seed });
    return new ParallelRunner(dp, g, D, maxBatch);
  }

  get params(): Params {
    return this.dp.params;
  }

  embed(rows: Int32Array): { u: Float32Array; v: Float32Array } {
    const D = this.dim;
    const n = rows.length;
    const emb = this.dp.predict(rows);
    const u = this.u.subarray(0, n * D);
    const v = this.v.subarray(0, n * D);
    for (let r = 0; r < n; r++) {
      u.set(emb.subarray(r * 2 * D, r * 2 * D + D), r * D);
      v.set(emb.subarray(r * 2 * D + D, (r + 1) * 2 * D), r * D);
    }
    return { u, v };
  }

  backprop(rows: Int32Array, gu: Float32Array, gv: Float32Array, step: number): void {
    const D = this.dim;
    for (let r = 0; r < rows.length; r++) {
      const at = rows[r]! * 2 * D;
      this.g.set(gu.subarray(r * D, (r + 1) * D), at);
      this.g.set(gv.subarray(r * D, (r + 1) * D), at + D);
    }
    this.dp.step(rows, step);
  }

  close(): Promise<void> {
    return this.dp.close();
  }
}
