/**
 * One shard of a data-parallel step, the same code on every thread. A batch is cut into a FIXED number
 * of shards (not one per thread); each shard draws its randomness (dropout) from its own stream
 * Rng(seed, step * shards + shard), and the trainer sums the shards' gradients in shard order. So a run
 * gives the same bytes whatever the number of threads: a thread only decides who computes a shard.
 */
import { Rng } from '../../core/rng.js';
import { kernelsFor } from '../kernels/index.js';
import { Arena } from '../memory.js';
import type { Ctx } from '../module.js';
import { buildNet, type NetSpec, type Trainable } from '../net.js';
import { gather, type TrainData } from './data.js';

/** Shared control words and buffers (all SharedArrayBuffer-backed). */
export interface SharedBuffers {
  ctrl: Int32Array;
  /** The current parameter values, all parameters concatenated in registration order. */
  params: Float32Array;
  /** One gradient slot per shard, [shards, P]. */
  grads: Float32Array;
  /** Summed loss per shard. */
  losses: Float64Array;
  /** The batch's row indices (train) or the rows to score (predict). */
  rows: Int32Array;
  /** Predictions, [rows, outputs] for the current predict call. */
  out: Float32Array;
  /** The first failing thread's error text (UTF-8, zero-padded). */
  errorText: Uint8Array;
}

export const ERROR_TEXT_BYTES = 4096;

/** Records a thread's failure where the trainer can read it while it still blocks on the done counter. */
export function recordError(shared: SharedBuffers, e: unknown): void {
  const text = new TextEncoder().encode(String((e as Error)?.stack ?? e)).subarray(0, ERROR_TEXT_BYTES);
  if (Atomics.compareExchange(shared.ctrl, C.ERROR, 0, 1) === 0) shared.errorText.set(text);
}

export const C = { EPOCH: 0, NEXT: 1, DONE: 2, NTASKS: 3, ERROR: 4, STOP: 5, MODE: 6, N: 7, STEP: 8, PARAMS_VERSION: 9, SHARDS: 10, SEED: 11, CHUNK: 12, WORDS: 16 } as const;
export const MODE_TRAIN = 0;
export const MODE_PREDICT = 1;

export class ShardRunner {
  readonly arena: Arena;
  readonly net: Trainable;
  private readonly ctxKernels;
  private paramsVersion = -1;

  constructor(readonly spec: NetSpec, readonly data: TrainData, readonly shared: SharedBuffers, wasm = true) {
    this.arena = new Arena(1 << 24, wasm);
    this.net = buildNet(spec, this.arena);
    this.ctxKernels = kernelsFor(this.arena);
  }

  /** Copies the shared parameter values into this thread's net when they changed since the last task. */
  private syncParams(): void {
    const v = Atomics.load(this.shared.ctrl, C.PARAMS_VERSION);
    if (v === this.paramsVersion) return;
    let o = 0;
    for (const p of this.net.params.list) {
      p.value.set(this.shared.params.subarray(o, o + p.value.length));
      o += p.value.length;
    }
    this.paramsVersion = v;
  }

  run(task: number): void {
    this.syncParams();
    const ctrl = this.shared.ctrl;
    if (Atomics.load(ctrl, C.MODE) === MODE_TRAIN) this.train(task, ctrl);
    else this.predict(task, ctrl);
  }

  private train(shard: number, ctrl: Int32Array): void {
    const n = Atomics.load(ctrl, C.N);
    const shards = Atomics.load(ctrl, C.SHARDS);
    const lo = Math.floor((shard * n) / shards);
    const hi = Math.floor(((shard + 1) * n) / shards);
    const step = Atomics.load(ctrl, C.STEP);
    const params = this.net.params;
    params.zeroGrad();
    const mark = this.arena.mark();
    let loss = 0;
    if (hi > lo) {
      const ctx: Ctx = { arena: this.arena, k: this.ctxKernels, training: true, rng: new Rng(Atomics.load(ctrl, C.SEED), step * shards + shard) };
      const batch = gather(this.data, this.shared.rows, lo, hi, this.arena);
      loss = this.net.lossAndGrad(ctx, batch, 1 / n);
    }
    this.arena.release(mark);
    const P = this.shared.params.length;
    let o = shard * P;
    for (const p of params.list) {
      this.shared.grads.set(p.grad, o);
      o += p.grad.length;
    }
    this.shared.losses[shard] = loss;
  }

  private predict(task: number, ctrl: Int32Array): void {
    const n = Atomics.load(ctrl, C.N);
    const chunk = Atomics.load(ctrl, C.CHUNK);
    const lo = task * chunk;
    const hi = Math.min(n, lo + chunk);
    if (hi <= lo) return;
    const mark = this.arena.mark();
    const ctx: Ctx = { arena: this.arena, k: this.ctxKernels, training: false, rng: new Rng(0) };
    const batch = gather(this.data, this.shared.rows, lo, hi, this.arena);
    const y = this.net.predict(ctx, batch);
    const w = this.net.outputs;
    this.shared.out.set(y.subarray(0, (hi - lo) * w), lo * w);
    this.arena.release(mark);
  }
}
