/**
 * Adam and AdamW over `Params`, with PyTorch 1.13's update rules (torch.optim.Adam / AdamW, single
 * tensor path), and gradient clipping by global norm (torch.nn.utils.clip_grad_norm_).
 *
 * At step t (1-based), for each parameter p with gradient g:
 *
 *   Adam (L2):   g <- g + wd * p                        (only parameters with `decay: true`)
 *   AdamW:       p <- p * (1 - lr * wd)                 (only parameters with `decay: true`)
 *   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
 *   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * eps is added after the bias correction of sqrt(v), as in PyTorch (not inside the square root, not
 * before the correction). `lr` may change every step (a schedule passes it to `step`); AdamW's decay
 * uses that step's lr, as PyTorch's scheduled param group does.
 *
 * Arithmetic follows PyTorch's float32 CPU kernels operation by operation (every intermediate rounded
 * to float32; the moment updates as one fused multiply-add, as its vectorised kernel compiles them; the
 * scalars lr / (1 - b1^t) and sqrt(1 - b2^t) computed in float64, then rounded). On the fixtures the
 * results are PyTorch's bit for bit but for a few elements one float32 ulp apart (where PyTorch's
 * compiled kernels round an intermediate differently).
 *
 * The moments m and v live in the params' arena, one pair per parameter, allocated once. `exportState`
 * copies the step count and moments out as plain arrays and `importState` puts them back exactly, so a
 * run resumed from a checkpoint (with the parameters saved at the same step) continues bit for bit.
 */
import { KilnError } from '../core/errors.js';
import type { Param, Params } from './module.js';

export interface AdamConfig {
  /** Learning rate used when `step` is given none (default 1e-3). */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Adam: L2 added to the gradient (default 0); AdamW: decoupled decay (default 0.01). */
  weightDecay?: number;
}

/** What a checkpoint keeps of an optimizer: plain arrays, in parameter order. */
export interface OptimizerState {
  readonly kind: 'adam' | 'adamw';
  /** Steps taken so far. */
  readonly step: number;
  readonly slots: readonly { readonly name: string; readonly m: ArrayLike<number>; readonly v: ArrayLike<number> }[];
}

class AdamBase {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  protected constructor(readonly params: Params, config: AdamConfig, readonly kind: 'adam' | 'adamw', defaultDecay: number) {
    this.lr = config.lr ?? 1e-3;
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.eps = config.eps ?? 1e-8;
    this.weightDecay = config.weightDecay ?? defaultDecay;
    const bad = (what: string, v: number): never => {
      throw new KilnError('INVALID_ARGUMENT', `${kind === 'adam' ? 'Adam' : 'AdamW'}: ${what} ${v} is out of range`);
    };
    if (!(this.lr >= 0)) bad('learning rate', this.lr);
    if (!(this.beta1 >= 0 && this.beta1 < 1)) bad('beta1', this.beta1);
    if (!(this.beta2 >= 0 && this.beta2 < 1)) bad('beta2', this.beta2);
    if (!(this.eps >= 0)) bad('eps', this.eps);
    if (!(this.weightDecay >= 0)) bad('weight decay', this.weightDecay);
    this.m = params.list.map((p) => params.arena.f32(p.value.length));
    this.v = params.list.map((p) => params.arena.f32(p.value.length));
  }

  /** Steps taken so far (the t of the last bias correction); a schedule's `step` argument. */
  get stepCount(): number {
    return this.t;
  }

  /** One update of every parameter from its gradient, at learning rate `lr`. Gradients are left as they are. */
  step(lr = this.lr): void {
    if (!(lr >= 0)) throw new KilnError('INVALID_ARGUMENT', `learning rate ${lr} must be a non-negative number`);
    const f = Math.fround;
    const { b1, c1, b2, c2, eps, negStep, bc2Sqrt } = adamScalars(lr, ++this.t, this.beta1, this.beta2, this.eps);
    const decoupled = this.kind === 'adamw';
    this.params.list.forEach((p, k) => {
      const wd = p.decay ? this.weightDecay : 0;
      const x = p.value;
      const g = p.grad;
      const m = this.m[k]!;
      const v = this.v[k]!;
      const shrink = f(1 - lr * wd);
      const wdf = f(wd);
      for (let i = 0; i < x.length; i++) {
        let gi = g[i]!;
        if (wd !== 0) {
          if (decoupled) x[i] = x[i]! * shrink;
          else gi = f(gi + wdf * x[i]!);
        }
        m[i] = f(m[i]! * b1) + c1 * gi;
        v[i] = f(v[i]! * b2) + f(c2 * gi) * gi;
        const den = f(f(f(Math.sqrt(v[i]!)) / bc2Sqrt) + eps);
        x[i] = x[i]! + f(negStep * f(m[i]! / den));
      }
    });
  }

  zeroGrad(): void {
    this.params.zeroGrad();
  }

  exportState(): OptimizerState {
    return {
      kind: this.kind,
      step: this.t,
      slots: this.params.list.map((p, k) => ({ name: p.name, m: Array.from(this.m[k]!), v: Array.from(this.v[k]!) })),
    };
  }

  importState(state: OptimizerState): void {
    const list = this.params.list;
    const refuse = (why: string): never => {
      throw new KilnError('INVALID_ARGUMENT', `optimizer state does not fit this model: ${why}`);
    };
    if (state.kind !== this.kind) refuse(`it is ${state.kind}'s, not ${this.kind}'s`);
    if (!Number.isInteger(state.step) || state.step < 0) refuse(`step ${state.step}`);
    if (state.slots.length !== list.length) refuse(`${state.slots.length} parameters, the model has ${list.length}`);
    state.slots.forEach((s, k) => {
      const p = list[k]!;
      if (s.name !== p.name) refuse(`parameter ${k} is ${s.name}, the model's is ${p.name}`);
      if (s.m.length !== p.value.length || s.v.length !== p.value.length) refuse(`${p.name} has ${p.value.length} values`);
    });
    state.slots.forEach((s, k) => {
      this.m[k]!.set(s.m);
      this.v[k]!.set(s.v);
    });
    this.t = state.step;
  }
}

/** torch.optim.Adam (weight decay, if any, as L2 on the gradient of parameters with `decay: true`). */
export class Adam extends AdamBase {
  constructor(params: Params, config: AdamConfig = {}) {
    super(params, config, 'adam', 0);
  }
}

/** torch.optim.AdamW (decoupled weight decay on parameters with `decay: true`; default 0.01). */
export class AdamW extends AdamBase {
  constructor(params: Params, config: AdamConfig = {}) {
    super(params, config, 'adamw', 0.01);
  }
}

/**
 * torch.nn.utils.clip_grad_norm_ (L2): the norm of all gradients as one vector; when it exceeds
 * `maxNorm` every gradient is scaled by maxNorm / (norm + 1e-6). Returns the norm before clipping. A
 * non-finite norm leaves the gradients as they are (PyTorch would turn them into NaN): the caller
 * sees it and can skip the step.
 */
export function clipGradNorm(params: Params | readonly Param[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new KilnError('INVALID_ARGUMENT', `gradient clipping: max norm ${maxNorm} must be positive`);
  const list = Array.isArray(params) ? (params as readonly Param[]) : (params as Params).list;
  let sq = 0;
  for (const p of list) for (let i = 0; i < p.grad.length; i++) sq += p.grad[i]! * p.grad[i]!;
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const p of list) for (let i = 0; i < p.grad.length; i++) p.grad[i] = p.grad[i]! * coef;
  return norm;
}

/**
 * The float32 scalars of Adam step `t` (1-based): the moment decays and their complements, epsilon, the
 * bias-corrected negative step and the square root of the second moment's bias correction.
 */
export function adamScalars(lr: number, t: number, beta1: number, beta2: number, epsilon: number): { b1: number; c1: number; b2: number; c2: number; eps: number; negStep: number; bc2Sqrt: number } {
  const f = Math.fround;
  return {
    b1: f(beta1), c1: f(1 - beta1), b2: f(beta2), c2: f(1 - beta2), eps: f(epsilon),
    negStep: f(-lr / (1 - beta1 ** t)), bc2Sqrt: f(Math.sqrt(1 - beta2 ** t)),
  };
}
