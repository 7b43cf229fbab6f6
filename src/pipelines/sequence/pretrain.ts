/**
 * Self-supervised pre-training of a sequence model's encoder (config `sequence.pretrain`) on the TRAIN
 * rows' events, before its supervised training: the data-parallel trainer over a `seq-pretrain` net
 * (src/nn/pretrain.ts) with the supervised run's optimizer family (AdamW, warm-up then cosine decay,
 * clipping, the same batch size, threads and seed), no validation (every epoch is kept), and its own
 * checkpoint file when the caller gives one (a killed run resumes its pre-training too).
 *
 * The encoder's weights do not depend on the joint model's tabular inputs or trunk, so the pre-training
 * runs on the net with those removed and its result is cached per prepared data set: the comparison's
 * other variant (sequence-only or joint) starts from the same pre-trained encoder without a second run.
 */
import { KilnError } from '../../core/errors.js';
import type { SequenceSpec as SeqConfig } from '../../config/index.js';
import { AdamW, DataParallel, fit, lrAt, type EpochInfo, type FitResult, type SeqNetSpec, type SeqPretrainSpec } from '../../nn/index.js';
import type { Prepared } from './prepare.js';

export interface PretrainResult {
  spec: SeqPretrainSpec;
  fit: FitResult;
  /** The encoder's parameters (and the next-event head's), in registration order. */
  params: { name: string; shape: number[]; value: Float32Array }[];
  seconds: number;
}

export interface PretrainOptions {
  checkpoint: string | null;
  fingerprint: unknown;
  label: string;
  quiet?: boolean;
  signal?: AbortSignal;
  onEpoch?: (e: EpochInfo) => void;
}

const cache = new WeakMap<Prepared, Map<string, Promise<PretrainResult>>>();

/** The pre-training net for a supervised net under `cfg.pretrain` (the field of next-event checked). */
export function pretrainSpec(cfg: SeqConfig, net: SeqNetSpec): SeqPretrainSpec {
  const pre = cfg.pretrain;
  if (!pre) throw new KilnError('INVALID_ARGUMENT', 'pre-training needs a sequence.pretrain block');
  const spec: SeqPretrainSpec = { kind: 'seq-pretrain', net: { ...net, tabular: 0, trunk: 0 }, method: pre.method, tau: pre.tau, minLength: pre.minLength };
  if (pre.method === 'next-event') {
    const names = net.categorical.map((c) => c.name);
    const field = pre.field ?? names[0];
    if (field === undefined || !names.includes(field)) {
      throw new KilnError('CONFIG_INVALID', `sequence.pretrain: next-event pre-training predicts a categorical field of the lastK feature; ${field === undefined ? 'it has none' : `'${field}' is not one (categorical fields: ${names.join(', ') || 'none'})`}`, { path: ['sequence', 'pretrain', 'field'] });
    }
    spec.field = field;
  }
  return spec;
}

/** Pre-trains (or reuses this prepared set's pre-training of) the encoder of `net`. */
export function pretrainEncoder(cfg: SeqConfig, prepared: Prepared, net: SeqNetSpec, opts: PretrainOptions): Promise<PretrainResult> {
  const spec = pretrainSpec(cfg, net);
  const key = JSON.stringify([spec, cfg.pretrain!.epochs, cfg.batchSize, cfg.lr, cfg.weightDecay, cfg.warmup, cfg.clipNorm, cfg.seed]);
  let runs = cache.get(prepared);
  if (!runs) cache.set(prepared, (runs = new Map()));
  const hit = runs.get(key);
  if (hit) return hit;
  const run = runPretraining(cfg, prepared, spec, opts);
  runs.set(key, run);
  run.catch(() => runs.delete(key));
  return run;
}

async function runPretraining(cfg: SeqConfig, prepared: Prepared, spec: SeqPretrainSpec, opts: PretrainOptions): Promise<PretrainResult> {
  const t0 = performance.now();
  const epochs = cfg.pretrain!.epochs;
  const [lo, hi] = prepared.ranges.train;
  const train = Int32Array.from({ length: hi - lo }, (_, i) => lo + i);
  const dp = await DataParallel.start(spec, prepared.data, { nthread: cfg.threads, shards: 4, maxBatch: cfg.batchSize, seed: cfg.seed });
  try {
    const optimizer = new AdamW(dp.params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    const steps = Math.ceil(train.length / Math.min(cfg.batchSize, Math.max(1, train.length))) * epochs;
    const warmup = Math.min(cfg.warmup, Math.floor(steps / 10));
    const result = await fit(dp, {
      train, epochs, batchSize: cfg.batchSize, seed: cfg.seed, optimizer,
      lr: (step) => lrAt({ base: cfg.lr, warmup, decay: 'cosine', total: Math.max(steps, warmup + 1), min: cfg.lr * 0.05 }, Math.min(step, steps)),
      clipNorm: cfg.clipNorm,
      ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}), fingerprint: { pretrain: spec, fingerprint: opts.fingerprint },
      progress: { label: opts.label, ...(opts.quiet ? { quiet: true } : {}) },
      ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onEpoch ? { onEpoch: opts.onEpoch } : {}),
    });
    const params = dp.params.list.map((p) => ({ name: p.name, shape: [...p.shape], value: p.value.slice() }));
    return { spec, fit: result, params, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await dp.close();
  }
}
