/**
 * The transformer encoder, as PyTorch's nn.TransformerEncoderLayer / nn.TransformerEncoder (batch_first),
 * with the same state_dict names under the given prefix: `layers.{i}.self_attn.in_proj_weight`,
 * `layers.{i}.self_attn.out_proj.weight`, `layers.{i}.linear1.weight`, `layers.{i}.linear2.weight`,
 * `layers.{i}.norm1.weight`, `layers.{i}.norm2.weight` (and biases), `norm.weight` for an optional final norm.
 *
 * One layer, with sa(x) = dropout1(self_attn(x)) and ff(x) = dropout2(linear2(dropout(act(linear1(x))))),
 * where self_attn also applies attention dropout (all with the same p):
 *   post-norm (default):  x = norm1(x + sa(x));  y = norm2(x + ff(x))
 *   norm_first:           x = x + sa(norm1(x));  y = x + ff(norm2(x))
 * Backward runs the same graph in reverse; a residual's gradient is added onto the fresh array the
 * branch's backward returns (never onto an array another layer may hold).
 */
import type { Rng } from '../../core/rng.js';
import type { Ctx, Params } from '../module.js';
import { activate, activateBackward, type Activation } from './activation.js';
import { MultiheadAttention } from './attention.js';
import { Dense } from './dense.js';
import { Dropout } from './dropout.js';
import { LayerNorm } from './layer-norm.js';

export interface EncoderLayerOptions {
  readonly dim: number;
  readonly heads: number;
  /** Feed-forward width (PyTorch's dim_feedforward). */
  readonly ff: number;
  /** PyTorch's default 0.1. */
  readonly dropout?: number;
  readonly activation?: Activation;
  readonly normFirst?: boolean;
  readonly eps?: number;
  /** Each step attends to itself and the steps before it only (MultiheadAttention's `causal`). */
  readonly causal?: boolean;
}

/** `a + b` into a new array (axpy with alpha 1 adds exactly: the same bytes as a + b). */
function added(ctx: Ctx, a: Float32Array, b: Float32Array): Float32Array {
  const y = ctx.arena.f32u(a.length);
  y.set(a);
  ctx.k.axpy(a.length, 1, b, y);
  return y;
}

/** y += x, in place (y must be an array this pass just allocated). */
function addInto(ctx: Ctx, y: Float32Array, x: Float32Array): Float32Array {
  ctx.k.axpy(y.length, 1, x, y);
  return y;
}

export class TransformerEncoderLayer {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Dense;
  readonly linear2: Dense;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly activation: Activation;
  readonly normFirst: boolean;
  private readonly dropout: Dropout;
  private readonly dropout1: Dropout;
  private readonly dropout2: Dropout;
  private z: Float32Array = new Float32Array(0);
  private rows = 0;

  constructor(params: Params, name: string, readonly opts: EncoderLayerOptions, rng: Rng) {
    const { dim, heads, ff } = opts;
    const p = opts.dropout ?? 0.1;
    const eps = opts.eps ?? 1e-5;
    const at = (s: string): string => (name ? `${name}.${s}` : s);
    this.activation = opts.activation ?? 'relu';
    this.normFirst = opts.normFirst ?? false;
    this.selfAttn = new MultiheadAttention(params, at('self_attn'), dim, heads, rng, p, opts.causal ?? false);
    this.linear1 = new Dense(params, at('linear1'), dim, ff, rng);
    this.linear2 = new Dense(params, at('linear2'), ff, dim, rng);
    this.norm1 = new LayerNorm(params, at('norm1'), dim, eps);
    this.norm2 = new LayerNorm(params, at('norm2'), dim, eps);
    this.dropout = new Dropout(p);
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
  }

  /** x: [batch, time, dim] -> [batch, time, dim]; `lengths` as in MultiheadAttention. */
  forward(ctx: Ctx, x: Float32Array, batch: number, time: number, lengths: ArrayLike<number> | null = null): Float32Array {
    const rows = batch * time;
    this.rows = rows;
    if (this.normFirst) {
      const a = this.dropout1.forward(ctx, this.selfAttn.forward(ctx, this.norm1.forward(ctx, x, rows), batch, time, lengths));
      const s = added(ctx, x, a);
      return added(ctx, s, this.feedForward(ctx, this.norm2.forward(ctx, s, rows)));
    }
    const a = this.dropout1.forward(ctx, this.selfAttn.forward(ctx, x, batch, time, lengths));
    const h = this.norm1.forward(ctx, added(ctx, x, a), rows);
    return this.norm2.forward(ctx, added(ctx, h, this.feedForward(ctx, h)), rows);
  }

  /** dy -> dx; adds into every parameter's gradient. */
  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    if (this.normFirst) {
      const ds = addInto(ctx, this.norm2.backward(ctx, this.feedForwardBackward(ctx, dy)), dy);
      const dh = this.selfAttn.backward(ctx, this.dropout1.backward(ctx, ds));
      return addInto(ctx, this.norm1.backward(ctx, dh), ds);
    }
    const ds2 = this.norm2.backward(ctx, dy);
    const dh = addInto(ctx, this.feedForwardBackward(ctx, ds2), ds2);
    const ds1 = this.norm1.backward(ctx, dh);
    return addInto(ctx, this.selfAttn.backward(ctx, this.dropout1.backward(ctx, ds1)), ds1);
  }

  private feedForward(ctx: Ctx, h: Float32Array): Float32Array {
    const z = this.linear1.forward(ctx, h, this.rows);
    const a = ctx.arena.f32u(z.length);
    if (this.activation === 'relu') ctx.k.relu(z.length, z, a);
    else activate(this.activation, z, a);
    this.z = z;
    const f = this.linear2.forward(ctx, this.dropout.forward(ctx, a), this.rows);
    return this.dropout2.forward(ctx, f);
  }

  /** Returns a fresh array (linear1's backward). */
  private feedForwardBackward(ctx: Ctx, dy: Float32Array): Float32Array {
    const da = this.dropout.backward(ctx, this.linear2.backward(ctx, this.dropout2.backward(ctx, dy)));
    const dz = ctx.arena.f32u(da.length);
    if (this.activation === 'relu') ctx.k.reluBackward(da.length, this.z, da, dz);
    else activateBackward(this.activation, this.z, da, dz);
    return this.linear1.backward(ctx, dz);
  }
}

/** A stack of `count` encoder layers (`{name}.layers.{i}`) and an optional final LayerNorm (`{name}.norm`). */
export class TransformerEncoder {
  readonly layers: TransformerEncoderLayer[] = [];
  readonly norm: LayerNorm | null;
  private rows = 0;

  constructor(params: Params, name: string, count: number, opts: EncoderLayerOptions, rng: Rng, finalNorm = false) {
    const at = (s: string): string => (name ? `${name}.${s}` : s);
    for (let i = 0; i < count; i++) this.layers.push(new TransformerEncoderLayer(params, at(`layers.${i}`), opts, rng));
    this.norm = finalNorm ? new LayerNorm(params, at('norm'), opts.dim, opts.eps ?? 1e-5) : null;
  }

  forward(ctx: Ctx, x: Float32Array, batch: number, time: number, lengths: ArrayLike<number> | null = null): Float32Array {
    this.rows = batch * time;
    let h = x;
    for (const l of this.layers) h = l.forward(ctx, h, batch, time, lengths);
    return this.norm ? this.norm.forward(ctx, h, this.rows) : h;
  }

  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    let g = this.norm ? this.norm.backward(ctx, dy) : dy;
    for (let i = this.layers.length - 1; i >= 0; i--) g = this.layers[i]!.backward(ctx, g);
    return g;
  }
}
