/**
 * What every layer shares: parameters (value and gradient, both in the arena), the context a forward or
 * backward pass runs in, and initialisers matching PyTorch's defaults.
 *
 * The layer contract (layers/*.ts): a layer is a class built once with its sizes and a `Params` to
 * register its parameters in. `forward(ctx, x, ...)` returns a new array allocated from `ctx.arena`
 * (never writes its input) and keeps what its backward needs on `this`; `backward(ctx, dy)` returns the
 * gradient with respect to the input (allocated from the arena) and ADDS its parameters' gradients
 * into `param.grad`. The caller zeroes gradients between steps (the optimizer does). Shapes are
 * row-major: a batch of sequences is [batch, time, features]. One forward, then at most one backward:
 * a second forward overwrites what the first kept.
 */
import type { Rng } from '../core/rng.js';
import type { Kernels } from './kernels/index.js';
import type { Arena } from './memory.js';

export interface Param {
  /** Dotted path, e.g. `encoder.layers.0.attn.in_proj_weight` (PyTorch's state_dict names where one exists). */
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
  readonly grad: Float32Array;
  /** Whether AdamW's weight decay applies (weights yes; biases, norms and embeddings of padding no). */
  readonly decay: boolean;
}

/** The parameters of a network, in registration order (which fixes their order in files and optimizers). */
export class Params {
  readonly list: Param[] = [];
  constructor(readonly arena: Arena) {}

  add(name: string, shape: readonly number[], decay = true): Param {
    if (this.list.some((p) => p.name === name)) throw new Error(`parameter ${name} registered twice`);
    const n = shape.reduce((a, b) => a * b, 1);
    const p: Param = { name, shape: [...shape], value: this.arena.f32(n), grad: this.arena.f32(n), decay };
    this.list.push(p);
    return p;
  }

  get(name: string): Param {
    const p = this.list.find((q) => q.name === name);
    if (!p) throw new Error(`no parameter ${name}`);
    return p;
  }

  zeroGrad(): void {
    for (const p of this.list) p.grad.fill(0);
  }

  get count(): number {
    return this.list.reduce((s, p) => s + p.value.length, 0);
  }
}

/** What a pass runs with. */
export interface Ctx {
  readonly arena: Arena;
  readonly k: Kernels;
  /** Training: dropout on, caches kept for backward. Inference: dropout off. */
  readonly training: boolean;
  /** Dropout masks and sampled negatives draw from it, in a fixed order: same seed, same bytes. */
  readonly rng: Rng;
}

/** U(-bound, bound), PyTorch's default for Linear weights and biases (bound 1/sqrt(fan_in)) and GRU (1/sqrt(hidden)). */
export function initUniform(x: Float32Array, bound: number, rng: Rng): void {
  for (let i = 0; i < x.length; i++) x[i] = (rng.uniform() * 2 - 1) * bound;
}

/** N(0, std). */
export function initNormal(x: Float32Array, std: number, rng: Rng): void {
  for (let i = 0; i < x.length; i++) x[i] = rng.normal() * std;
}

/** Xavier/Glorot uniform (PyTorch's MultiheadAttention in_proj): bound sqrt(6 / (fan_in + fan_out)). */
export function initXavier(x: Float32Array, fanIn: number, fanOut: number, rng: Rng): void {
  initUniform(x, Math.sqrt(6 / (fanIn + fanOut)), rng);
}
