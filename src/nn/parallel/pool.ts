/**
 * Data-parallel training over worker threads. The caller's thread plus nthread - 1 workers each hold a
 * replica of the net (built from the same spec) in their own arena. A step: the trainer writes the
 * batch's row indices and (when they changed) the parameter values into shared memory, wakes the
 * workers with an Atomics.notify, and every thread pulls shard indices from a shared counter, running
 * forward + backward on its shard's rows into that shard's gradient slot. The caller then sums the
 * slots in shard order into its own net's gradients, so the optimizer runs once, on one thread, and
 * the result does not depend on how many threads ran the shards (see shard.ts).
 */
import type { Worker } from 'node:worker_threads';
import { KilnError } from '../../core/errors.js';
import { startModuleWorker, workerReady } from '../../core/worker.js';
import type { Params } from '../module.js';
import type { NetSpec, Trainable } from '../net.js';
import type { TrainData } from './data.js';
import { C, ERROR_TEXT_BYTES, MODE_PREDICT, MODE_TRAIN, ShardRunner, type SharedBuffers } from './shard.js';

const s_errorText = (s: SharedBuffers): Uint8Array => s.errorText.slice();

const STARTUP_TIMEOUT_MS = 60_000;
/** Rows per predict task. */
const PREDICT_CHUNK = 256;

export interface DataParallelOptions {
  /** Threads in all, the caller's included (default 1). */
  nthread?: number;
  /** Shards per batch: fixed, so results do not depend on nthread (default 4). */
  shards?: number;
  /** The largest batch (sizes the shared row buffer). */
  maxBatch: number;
  /** Seed of the shards' random streams. */
  seed: number;
  /** Use the WebAssembly kernels where available (default true). */
  wasm?: boolean;
}

export class DataParallel {
  private readonly workers: Worker[] = [];
  private readonly local: ShardRunner;
  private readonly shared: SharedBuffers;
  private readonly shards: number;
  private version = 0;

  private constructor(spec: NetSpec, private readonly data: TrainData, opts: DataParallelOptions) {
    this.shards = opts.shards ?? 4;
    const sab = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(Math.max(8, bytes));
    const shared0: SharedBuffers = {
      ctrl: new Int32Array(sab(C.WORDS * 4)), params: new Float32Array(0), grads: new Float32Array(0),
      losses: new Float64Array(sab(this.shards * 8)), errorText: new Uint8Array(sab(ERROR_TEXT_BYTES)), rows: new Int32Array(sab(Math.max(opts.maxBatch, data.rows) * 4)), out: new Float32Array(0),
    };
    this.local = new ShardRunner(spec, data, shared0, opts.wasm ?? true);
    const P = this.local.net.params.count;
    this.shared = Object.assign(shared0, {
      params: new Float32Array(sab(P * 4)),
      grads: new Float32Array(sab(this.shards * P * 4)),
      out: new Float32Array(sab(data.rows * this.local.net.outputs * 4)),
    });
    Atomics.store(this.shared.ctrl, C.SHARDS, this.shards);
    Atomics.store(this.shared.ctrl, C.SEED, opts.seed);
    Atomics.store(this.shared.ctrl, C.CHUNK, PREDICT_CHUNK);
  }

  /** Starts the workers; the trainer's own net is `dp.net`. */
  static async start(spec: NetSpec, data: TrainData, opts: DataParallelOptions): Promise<DataParallel> {
    const dp = new DataParallel(spec, data, opts);
    const nthread = Math.max(1, opts.nthread ?? 1);
    const starts: Promise<void>[] = [];
    for (let w = 0; w < nthread - 1; w++) {
      const worker = startModuleWorker(import.meta.url, 'worker', { workerData: { spec, data, shared: dp.shared, wasm: opts.wasm ?? true } });
      dp.workers.push(worker);
      starts.push(workerReady(worker, STARTUP_TIMEOUT_MS));
    }
    try {
      await Promise.all(starts);
    } catch (e) {
      await dp.close();
      throw new KilnError('RESOURCE_UNAVAILABLE', `cannot start neural training threads (nthread = ${nthread}): ${(e as Error).message}; retry with threads: 1`, { cause: e });
    }
    for (const w of dp.workers) w.unref();
    return dp;
  }

  /** The caller's replica: the optimizer updates its parameters. */
  get net(): Trainable {
    return this.local.net;
  }

  get params(): Params {
    return this.local.net.params;
  }

  /**
   * Forward + backward over `rows` (indices into the data): leaves the batch-mean gradient in
   * `net.params` grads and returns the batch-mean loss. `step` numbers the step (random streams).
   */
  step(rows: Int32Array, step: number): number {
    const s = this.shared;
    this.publishParams();
    s.rows.set(rows);
    Atomics.store(s.ctrl, C.MODE, MODE_TRAIN);
    Atomics.store(s.ctrl, C.N, rows.length);
    Atomics.store(s.ctrl, C.STEP, step);
    this.dispatch(this.shards);
    const params = this.local.net.params;
    const P = s.params.length;
    let o = 0;
    for (const p of params.list) {
      const g = p.grad;
      const len = g.length;
      for (let i = 0; i < len; i++) {
        let sum = 0;
        for (let sh = 0; sh < this.shards; sh++) sum += s.grads[sh * P + o + i]!;
        g[i] = sum;
      }
      o += len;
    }
    let loss = 0;
    for (let sh = 0; sh < this.shards; sh++) loss += s.losses[sh]!;
    return loss;
  }

  /** The net's outputs for `rows`, [rows.length, outputs] (inference mode). */
  predict(rows: Int32Array): Float32Array {
    const s = this.shared;
    this.publishParams();
    const out = new Float32Array(rows.length * this.local.net.outputs);
    for (let at = 0; at < rows.length; at += s.rows.length) {
      const part = rows.subarray(at, Math.min(rows.length, at + s.rows.length));
      s.rows.set(part);
      Atomics.store(s.ctrl, C.MODE, MODE_PREDICT);
      Atomics.store(s.ctrl, C.N, part.length);
      this.dispatch(Math.ceil(part.length / PREDICT_CHUNK));
      out.set(s.out.subarray(0, part.length * this.local.net.outputs), at * this.local.net.outputs);
    }
    return out;
  }

  /** Marks the caller's parameter values as changed (after an optimizer step) so workers copy them. */
  private publishParams(): void {
    let o = 0;
    for (const p of this.local.net.params.list) {
      this.shared.params.set(p.value, o);
      o += p.value.length;
    }
    Atomics.store(this.shared.ctrl, C.PARAMS_VERSION, ++this.version);
  }

  private dispatch(ntasks: number): void {
    const { ctrl } = this.shared;
    if (this.workers.length === 0) {
      for (let t = 0; t < ntasks; t++) this.local.run(t);
      return;
    }
    Atomics.store(ctrl, C.NEXT, 0);
    Atomics.store(ctrl, C.DONE, 0);
    Atomics.store(ctrl, C.NTASKS, ntasks);
    Atomics.add(ctrl, C.EPOCH, 1);
    Atomics.notify(ctrl, C.EPOCH);
    let failure: unknown;
    try {
      for (let t = Atomics.add(ctrl, C.NEXT, 1); t < ntasks; t = Atomics.add(ctrl, C.NEXT, 1)) this.local.run(t);
    } catch (e) {
      failure = e;
      Atomics.store(ctrl, C.NEXT, ntasks);
    }
    const need = this.workers.length;
    for (let d = Atomics.load(ctrl, C.DONE); d < need; d = Atomics.load(ctrl, C.DONE)) Atomics.wait(ctrl, C.DONE, d, 1000);
    if (failure !== undefined) throw failure;
    if (Atomics.load(ctrl, C.ERROR) !== 0) throw new KilnError('INTERNAL', `a neural training thread failed: ${new TextDecoder().decode(s_errorText(this.shared)).replace(/\0+$/, '') || 'no message'}`);
  }

  async close(): Promise<void> {
    if (this.workers.length === 0) return;
    Atomics.store(this.shared.ctrl, C.STOP, 1);
    Atomics.add(this.shared.ctrl, C.EPOCH, 1);
    Atomics.notify(this.shared.ctrl, C.EPOCH);
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
