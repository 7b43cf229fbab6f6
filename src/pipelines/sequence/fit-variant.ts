/**
 * Trains one sequence network on prepared tensors: the data-parallel trainer, AdamW, warm-up then cosine
 * decay, clipping, early stopping on validation AUC, and a checkpoint after every epoch (a killed run
 * resumes from it). Returns the trained replica's scores and embeddings for every split. With
 * `sequence.pretrain`, the encoder is first pre-trained self-supervised on the training rows (pretrain.ts,
 * its own checkpoint file beside the run's) and its weights copied by name into the net before training.
 */
import { rmSync } from 'node:fs';
import { auc } from '../../eval/index.js';
import { AdamW, copyParamsByName, DataParallel, embeddingDim, fit, lrAt, type EpochInfo, type FitResult, type SeqNetSpec } from '../../nn/index.js';
import type { SequenceSpec as SeqConfig } from '../../config/index.js';
import { SPLIT_NAMES, type Prepared } from './prepare.js';
import { pretrainEncoder } from './pretrain.js';

export interface VariantResult {
  net: SeqNetSpec;
  fit: FitResult;
  /** Parameter values in registration order (name, shape, values). */
  params: { name: string; shape: number[]; value: Float32Array }[];
  /** Probability of the label (the default head) per split. */
  score: Record<'train' | 'valid' | 'test', Float64Array>;
  /** Embedding columns per split (D arrays of the split's rows). */
  embedding: Record<'train' | 'valid' | 'test', Float64Array[]>;
  seconds: number;
  /** The self-supervised pre-training run (null without `sequence.pretrain`). */
  pretrain: FitResult | null;
  /**
   * The pre-trained encoder before any label was seen, and its embedding of every split (null without
   * `sequence.pretrain`): label-free, so a GBDT can take it as inputs without the training rows'
   * embedding having been fitted to their own labels.
   */
  selfSupervised: { params: VariantResult['params']; embedding: VariantResult['embedding'] } | null;
}

/** Every split's default-head probability and embedding columns, from the trainer's current parameters. */
function outputsOf(dp: DataParallel, prepared: Prepared, net: SeqNetSpec): Pick<VariantResult, 'score' | 'embedding'> {
  const W = dp.net.outputs;
  const D = embeddingDim(net);
  const score = {} as VariantResult['score'];
  const embedding = {} as VariantResult['embedding'];
  for (const s of SPLIT_NAMES) {
    const rows = range(prepared.ranges[s]);
    const y = dp.predict(rows);
    score[s] = Float64Array.from({ length: rows.length }, (_, i) => 1 / (1 + Math.exp(-y[i * W]!)));
    embedding[s] = Array.from({ length: D }, (_, j) => Float64Array.from({ length: rows.length }, (_, i) => y[i * W + W - D + j]!));
  }
  return { score, embedding };
}

const paramsOf = (dp: DataParallel): VariantResult['params'] => dp.params.list.map((p) => ({ name: p.name, shape: [...p.shape], value: p.value.slice() }));

const range = ([lo, hi]: [number, number]): Int32Array => Int32Array.from({ length: hi - lo }, (_, i) => lo + i);

export async function fitVariant(cfg: SeqConfig, prepared: Prepared, net: SeqNetSpec, opts: {
  checkpoint: string | null; fingerprint: unknown; label: string; quiet?: boolean; signal?: AbortSignal; onEpoch?: (e: EpochInfo) => void;
  onPretrainEpoch?: (e: EpochInfo) => void;
}): Promise<VariantResult> {
  const t0 = performance.now();
  const preCkpt = cfg.pretrain && opts.checkpoint ? `${opts.checkpoint}.pretrain` : null;
  const pre = cfg.pretrain ? await pretrainEncoder(cfg, prepared, net, {
    checkpoint: preCkpt, fingerprint: opts.fingerprint, label: `${opts.label}: pre-training (${cfg.pretrain.method})`,
    ...(opts.quiet ? { quiet: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onPretrainEpoch ? { onEpoch: opts.onPretrainEpoch } : {}),
  }) : null;
  const dp = await DataParallel.start(net, prepared.data, { nthread: cfg.threads, shards: 4, maxBatch: cfg.batchSize, seed: cfg.seed });
  try {
    if (pre) copyParamsByName(pre.params, dp.params);
    const selfSupervised = pre ? { params: paramsOf(dp), embedding: outputsOf(dp, prepared, net).embedding } : null;
    const optimizer = new AdamW(dp.params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    const trainRows = range(prepared.ranges.train);
    const validRows = range(prepared.ranges.valid);
    const validY = Float64Array.from(validRows, (r) => (prepared.data.fields.find((f) => f.name === 'y.default')!.data as Float32Array)[r]!);
    const W = dp.net.outputs;
    const steps = Math.ceil(trainRows.length / Math.min(cfg.batchSize, trainRows.length)) * cfg.epochs;
    const warmup = Math.min(cfg.warmup, Math.floor(steps / 10));
    const result = await fit(dp, {
      train: trainRows, epochs: cfg.epochs, batchSize: cfg.batchSize, seed: cfg.seed, optimizer,
      lr: (step) => lrAt({ base: cfg.lr, warmup, decay: 'cosine', total: Math.max(steps, warmup + 1), min: cfg.lr * 0.05 }, Math.min(step, steps)),
      clipNorm: cfg.clipNorm, patience: cfg.patience,
      validate: () => {
        const y = dp.predict(validRows);
        return auc(validY, Float64Array.from({ length: validRows.length }, (_, i) => y[i * W]!));
      },
      ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}), fingerprint: opts.fingerprint,
      progress: { label: opts.label, ...(opts.quiet ? { quiet: true } : {}) },
      ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onEpoch ? { onEpoch: opts.onEpoch } : {}),
    });
    if (preCkpt) rmSync(preCkpt, { force: true });
    const { score, embedding } = outputsOf(dp, prepared, net);
    return { net, fit: result, params: paramsOf(dp), score, embedding, seconds: (performance.now() - t0) / 1000, pretrain: pre ? pre.fit : null, selfSupervised };
  } finally {
    await dp.close();
  }
}
