/**
 * The networks kiln trains, built from a JSON spec so every thread of the data-parallel trainer builds
 * the same replica (parameters registered in the same order, initialised from the same seed).
 */
import { Rng } from '../core/rng.js';
import { Dense } from './layers/dense.js';
import type { Arena } from './memory.js';
import { Params, type Ctx } from './module.js';
import type { Batch } from './parallel/data.js';
import { SeqPretrainNet, type SeqPretrainSpec } from './pretrain.js';
import { SeqNet, type SeqNetSpec } from './seqnet.js';
import { TwoTowerNet, type TwoTowerNetSpec } from './two-tower-net.js';

/** A net the trainer can step: the sum of its per-row losses times `scale`, with gradients added. */
export interface Trainable {
  readonly params: Params;
  /** Values per row that `predict` returns. */
  readonly outputs: number;
  lossAndGrad(ctx: Ctx, batch: Batch, scale: number): number;
  predict(ctx: Ctx, batch: Batch): Float32Array;
}

/** A multi-layer perceptron over a tabular field `x` with a binary label `y` (the tabular-only baseline). */
export interface MlpSpec {
  kind: 'mlp';
  inputs: number;
  hidden: number[];
  seed: number;
}

export type NetSpec = MlpSpec | SeqNetSpec | SeqPretrainSpec | TwoTowerNetSpec;

export function buildNet(spec: NetSpec, arena: Arena): Trainable {
  switch (spec.kind) {
    case 'mlp': return new Mlp(spec, arena);
    case 'seq': return new SeqNet(spec, arena);
    case 'seq-pretrain': return new SeqPretrainNet(spec, arena);
    case 'two-tower': return new TwoTowerNet(spec, arena);
  }
}

class Mlp implements Trainable {
  readonly params: Params;
  readonly outputs = 1;
  private readonly layers: Dense[] = [];
  private acts: Float32Array[] = [];

  constructor(readonly spec: MlpSpec, arena: Arena) {
    this.params = new Params(arena);
    const rng = new Rng(spec.seed, 0x6e6e);
    const sizes = [spec.inputs, ...spec.hidden, 1];
    for (let i = 0; i + 1 < sizes.length; i++) this.layers.push(new Dense(this.params, `layers.${i}`, sizes[i]!, sizes[i + 1]!, rng));
  }

  private forward(ctx: Ctx, batch: Batch): Float32Array {
    let h = batch.f32.x!;
    this.acts = [];
    this.layers.forEach((l, i) => {
      h = l.forward(ctx, h, batch.n);
      if (i + 1 < this.layers.length) {
        const r = ctx.arena.f32(h.length);
        for (let j = 0; j < h.length; j++) r[j] = h[j]! > 0 ? h[j]! : 0;
        this.acts.push(r);
        h = r;
      }
    });
    return h;
  }

  lossAndGrad(ctx: Ctx, batch: Batch, scale: number): number {
    const z = this.forward(ctx, batch);
    const y = batch.f32.y!;
    let loss = 0;
    let g = ctx.arena.f32(batch.n);
    for (let i = 0; i < batch.n; i++) {
      const zi = z[i]!;
      loss += Math.max(zi, 0) - zi * y[i]! + Math.log1p(Math.exp(-Math.abs(zi)));
      g[i] = (1 / (1 + Math.exp(-zi)) - y[i]!) * scale;
    }
    for (let i = this.layers.length - 1; i >= 0; i--) {
      g = this.layers[i]!.backward(ctx, g);
      if (i > 0) {
        const a = this.acts[i - 1]!;
        for (let j = 0; j < g.length; j++) if (a[j]! <= 0) g[j] = 0;
      }
    }
    return loss * scale;
  }

  predict(ctx: Ctx, batch: Batch): Float32Array {
    return this.forward(ctx, batch);
  }
}
