/**
 * The training loop of kiln's neural models: seeded shuffles, mini-batches through the data-parallel
 * trainer, gradient clipping, a learning-rate schedule, validation after every epoch with early
 * stopping, a checkpoint after every epoch, and resume. A run killed at any moment (SIGKILL included)
 * resumes from its last checkpoint and finishes with the same bytes as a run never stopped: the
 * shuffle of epoch e is drawn from Rng(seed, e), the dropout of step s from the step's own streams,
 * and the checkpoint holds the optimizer's state.
 */
import { createHash } from 'node:crypto';
import { KilnError } from '../core/errors.js';
import { Progress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { Params } from './module.js';
import { clipGradNorm, type OptimizerState } from './optim.js';
import type { DataParallel } from './parallel/pool.js';

/** What the loop needs of an optimizer (optim.ts: Adam, AdamW). */
export interface FitOptimizer {
  step(lr: number): void;
  exportState(): OptimizerState;
  importState(state: OptimizerState): void;
}

export interface FitOptions {
  /** Row indices of the training rows in the trainer's data. */
  train: Int32Array;
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: FitOptimizer;
  /** Learning rate at a global step (schedule.ts). */
  lr: (step: number, totalSteps: number) => number;
  /** Clip the global gradient norm to this (0 or absent: no clipping). */
  clipNorm?: number;
  /** The validation metric after an epoch (higher is better), e.g. validation AUC; absent: no early stopping. */
  validate?: () => number;
  /** Epochs without improvement before stopping (default 3). */
  patience?: number;
  minDelta?: number;
  /** Checkpoint file: written after every epoch, read at start to resume. */
  checkpoint?: string;
  /** Anything that must match for a checkpoint to be resumed (the spec, data fingerprint). */
  fingerprint?: unknown;
  progress?: { label: string; quiet?: boolean };
  signal?: AbortSignal;
  /** Called after each epoch (tracking curves). */
  onEpoch?: (e: EpochInfo) => void;
}

export interface EpochInfo {
  epoch: number;
  trainLoss: number;
  metric: number | null;
  lr: number;
  seconds: number;
}

export interface FitResult {
  history: EpochInfo[];
  bestEpoch: number;
  bestMetric: number | null;
  /** True when training resumed from a checkpoint. */
  resumed: boolean;
  stoppedEarly: boolean;
}

function snapshot(params: Params): Float32Array {
  const out = new Float32Array(params.count);
  let o = 0;
  for (const p of params.list) { out.set(p.value, o); o += p.value.length; }
  return out;
}

function restore(params: Params, values: Float32Array): void {
  let o = 0;
  for (const p of params.list) { p.value.set(values.subarray(o, o + p.value.length)); o += p.value.length; }
}

export async function fit(dp: DataParallel, opts: FitOptions): Promise<FitResult> {
  const params = dp.params;
  const n = opts.train.length;
  if (n === 0) throw new KilnError('INVALID_ARGUMENT', 'no training rows');
  const B = Math.min(opts.batchSize, n);
  const stepsPerEpoch = Math.ceil(n / B);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const fingerprint = createHash('sha256').update(JSON.stringify(opts.fingerprint ?? null)).update(`${opts.seed}:${B}:${n}`).digest('hex').slice(0, 16);
  const patience = opts.patience ?? 3;
  const minDelta = opts.minDelta ?? 0;

  let startEpoch = 0;
  let history: EpochInfo[] = [];
  let bestEpoch = -1;
  let bestMetric: number | null = null;
  let best = snapshot(params);
  let stoppedEarly = false;
  let resumed = false;
  const saved = opts.checkpoint ? readCheckpoint(opts.checkpoint) : null;
  if (saved && saved.meta.fingerprint === fingerprint) {
    restore(params, saved.blobs.params!);
    best = saved.blobs.best!;
    const names = saved.meta.optSlots as string[];
    opts.optimizer.importState({
      kind: saved.meta.optKind as OptimizerState['kind'], step: saved.meta.optStep as number,
      slots: names.map((name, i) => ({ name, m: saved.blobs[`opt.m.${i}`]!, v: saved.blobs[`opt.v.${i}`]! })),
    });
    startEpoch = saved.meta.epoch as number;
    history = saved.meta.history as EpochInfo[];
    bestEpoch = saved.meta.bestEpoch as number;
    bestMetric = saved.meta.bestMetric as number | null;
    stoppedEarly = saved.meta.stoppedEarly as boolean;
    resumed = true;
  }

  const progress = new Progress({ label: opts.progress?.label ?? 'train', total: totalSteps, unit: 'steps', ...(opts.progress?.quiet ? { quiet: true } : {}) });
  progress.update(startEpoch * stepsPerEpoch);
  for (let epoch = startEpoch; epoch < opts.epochs && !stoppedEarly; epoch++) {
    const t0 = performance.now();
    const order = Int32Array.from(opts.train);
    const rng = new Rng(opts.seed, 0x5eed0000 + epoch);
    for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = order[i]!; order[i] = order[j]!; order[j] = t; }
    let lossSum = 0;
    let lr = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      if (opts.signal?.aborted) { progress.abort(); throw new KilnError('INTERRUPTED', `training stopped at epoch ${epoch + 1}; ${opts.checkpoint ? 'the last finished epoch is checkpointed and resumes on the next run' : 'nothing was saved'}`); }
      const rows = order.subarray(s * B, Math.min(n, (s + 1) * B));
      const step = epoch * stepsPerEpoch + s;
      lossSum += dp.step(rows, step) * rows.length;
      if (opts.clipNorm) clipGradNorm(params, opts.clipNorm);
      lr = opts.lr(step, totalSteps);
      opts.optimizer.step(lr);
      progress.update(step + 1);
      if (s % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    const metric = opts.validate ? opts.validate() : null;
    const info: EpochInfo = { epoch, trainLoss: lossSum / n, metric, lr, seconds: (performance.now() - t0) / 1000 };
    history.push(info);
    opts.onEpoch?.(info);
    if (metric === null || bestMetric === null || metric > bestMetric + minDelta) {
      bestMetric = metric;
      bestEpoch = epoch;
      best = snapshot(params);
    } else if (epoch - bestEpoch >= patience) {
      stoppedEarly = true;
    }
    if (opts.checkpoint) {
      const st = opts.optimizer.exportState();
      writeCheckpoint(opts.checkpoint, {
        meta: { fingerprint, epoch: epoch + 1, optKind: st.kind, optStep: st.step, optSlots: st.slots.map((x) => x.name), history, bestEpoch, bestMetric, stoppedEarly },
        blobs: {
          params: snapshot(params), best,
          ...Object.fromEntries(st.slots.flatMap((x, i) => [[`opt.m.${i}`, Float32Array.from(x.m)], [`opt.v.${i}`, Float32Array.from(x.v)]])),
        },
      });
    }
  }
  progress.finish();
  restore(params, best);
  return { history, bestEpoch, bestMetric, resumed, stoppedEarly };
}
