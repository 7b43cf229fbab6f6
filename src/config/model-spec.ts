import { z } from 'zod';
import { ModelEmbeddingSchema } from './embedding-spec.js';

/** Feature tag marking a prohibited basis (e.g. a protected attribute): usable for fairness tests, never as a model input. */
export const PROHIBITED_BASIS_TAG = 'prohibited-basis';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DateStr = z.string().regex(DAY, "a date 'YYYY-MM-DD' (UTC)");

/**
 * Out-of-time split by spine time: train on [trainFrom, validFrom), stop early on [validFrom, testFrom),
 * test on [testFrom, testTo). Needs spine.timestamp.
 */
export const OutOfTimeSplitSchema = z.strictObject({
  trainFrom: DateStr.optional(),
  validFrom: DateStr,
  testFrom: DateStr,
  testTo: DateStr,
});
/** A seeded random split: these shares of the labelled rows go to validation and test, the rest to training. */
export const RandomSplitSchema = z.strictObject({
  random: z.strictObject({
    valid: z.number().gt(0).lt(1),
    test: z.number().gt(0).lt(1),
    seed: z.number().int().default(7),
  }).refine((r) => r.valid + r.test < 1, { message: 'valid + test must leave rows for training (their sum must be below 1)' }),
});
/** A declared split: a spine column whose values are 'train', 'valid' and 'test'. */
export const ColumnSplitSchema = z.strictObject({ column: z.string().min(1) });
export type SplitSpec = z.output<typeof OutOfTimeSplitSchema> | z.output<typeof RandomSplitSchema> | z.output<typeof ColumnSplitSchema>;

/** The spine table's own columns as model inputs: 'all', a list, or all but some. */
export const ColumnsSchema = z.union([z.literal('all'), z.array(z.string().min(1)).min(1), z.strictObject({ exclude: z.array(z.string().min(1)) })]);

const Name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a name of letters, digits and _');

/**
 * A sequence model (algorithm: 'sequence'): an encoder over the events of a `lastK` feature, trained on
 * the label and optional extra tasks at once; its pooled output is the entity's embedding. docs/nn.md.
 */
export const SequenceSpecSchema = z.strictObject({
  /** The lastK feature whose events the encoder reads (declared in the config; need not be in `features`). */
  input: z.string().min(1),
  encoder: z.enum(['gru', 'transformer']).default('gru'),
  /** GRU hidden units, or the transformer's width d. */
  size: z.number().int().min(2).max(1024).default(64),
  /** Transformer only: encoder layers, attention heads (must divide size), feed-forward width (default 4 x size). */
  layers: z.number().int().min(1).max(12).default(2),
  heads: z.number().int().min(1).max(32).default(4),
  ff: z.number().int().min(2).max(8192).optional(),
  dropout: z.number().min(0).lt(1).default(0.1),
  /** Transformer only: positions from event time gaps ('time'), learned per step, or none. */
  positions: z.enum(['time', 'learned', 'none']).default('time'),
  /** How step outputs become one vector: default 'last' for a GRU, 'mean' for a transformer. */
  pooling: z.enum(['last', 'mean', 'attention']).optional(),
  /** Weight of the model's label in the loss. */
  labelWeight: z.number().positive().default(1),
  /** More tasks trained at once: another 0/1 label column of the spine, or the category of the next event. */
  tasks: z.array(z.union([
    /**
     * A 0/1 label: a column of the spine, or of another `table` joined on the column `on` both share
     * (e.g. 30-day delinquency from an early-labels table, on loan_id); `availableAt` (of that table)
     * keeps a label out of training sets built as of a time before it was known.
     */
    z.strictObject({
      name: Name, column: z.string().min(1), positive: z.array(z.union([z.string().min(1), z.number()])).min(1).optional(), weight: z.number().positive().default(0.5),
      table: z.string().min(1).optional(), on: z.string().min(1).optional(), availableAt: z.string().min(1).optional(),
    }).refine((t) => (t.table === undefined) === (t.on === undefined), { message: "a task label from another table needs both 'table' and 'on' (the key column both tables share)" }),
    z.strictObject({ name: Name, nextEvent: z.string().min(1), horizonDays: z.number().positive().default(30), weight: z.number().positive().default(0.25) }),
  ])).default([]),
  /** Train the encoder with the model's scalar features as tabular inputs (the joint model). */
  joint: z.boolean().default(false),
  /** Units of the Dense + ReLU layer after the embedding (and tabular inputs); 0 for none. */
  trunk: z.number().int().min(0).max(4096).default(0),
  epochs: z.number().int().min(1).max(1000).default(30),
  batchSize: z.number().int().min(1).max(65536).default(256),
  lr: z.number().positive().max(1).default(1e-3),
  weightDecay: z.number().min(0).max(1).default(0.01),
  /** Learning-rate warm-up steps, then cosine decay. */
  warmup: z.number().int().min(0).default(100),
  clipNorm: z.number().min(0).default(1),
  /** Epochs without a better validation AUC before stopping. */
  patience: z.number().int().min(0).default(4),
  /**
   * Self-supervised pre-training of the encoder on the training rows' events before supervised training:
   * 'contrastive' (CoLES: two random sub-sequences of at least minLength events of each row, NT-Xent with
   * temperature tau) or 'next-event' (the category of each row's last event in `field`, a categorical field
   * of the lastK, default the first, predicted from the events before it). src/nn/pretrain.ts.
   */
  pretrain: z.strictObject({
    method: z.enum(['contrastive', 'next-event']),
    epochs: z.number().int().min(1).max(1000).default(5),
    field: z.string().min(1).optional(),
    tau: z.number().positive().max(10).default(0.1),
    minLength: z.number().int().min(1).default(2),
  }).optional(),
  threads: z.number().int().min(1).max(256).default(2),
  seed: z.number().int().default(7),
  /** Also train GBDTs on the aggregates alone and with the embeddings, and report all side by side. */
  compare: z.boolean().default(true),
  /**
   * What the version registers: the sequence network itself, or a GBDT over the model's features plus the
   * encoder's embedding (fusion: the embedding computed point in time for every row; reason codes from
   * TreeSHAP, the embedding's columns reported as one reason).
   */
  register: z.enum(['sequence', 'gbdt']).default('sequence'),
  /** Reason text for the embedding's columns of a fused GBDT (default: names the lastK feature). */
  reason: z.string().min(1).optional(),
});
export type SequenceSpec = z.output<typeof SequenceSpecSchema>;

export const ModelSpecSchema = z.strictObject({
  description: z.string().optional(),
  /** What the model is for and not for: goes into the model card. */
  intendedUse: z.string().optional(),
  /** Which rows become training rows: one per row of this table, at this time, for this entity key. */
  spine: z.strictObject({
    table: z.string().min(1),
    /** The spine time; leave it out for a plain table (one row per entity, no dates). */
    timestamp: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
  }),
  /** The label column of the spine table (0/1 or boolean; 1 = the bad outcome, e.g. default) and when it became known. */
  label: z.strictObject({
    column: z.string().min(1),
    availableAt: z.string().min(1).optional(),
    /** Values of `column` that mean the bad outcome (1); every other non-NULL value is 0. For a coded column such as a loan status. */
    positive: z.array(z.union([z.string().min(1), z.number()])).min(1).optional(),
  }),
  /** A feature set name or a list of feature names (computed point in time; needs spine.timestamp). */
  features: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** The spine table's own columns as inputs: 'all', a list, or { exclude: [...] } (label, key, time and split columns are never inputs). */
  columns: ColumnsSchema.optional(),
  /**
   * Out of time ({ validFrom, testFrom, testTo, trainFrom? }), seeded random ({ random: { valid, test, seed } })
   * or declared ({ column }). Rows whose label is still unknown (NULL) are left out.
   */
  split: z.union([OutOfTimeSplitSchema, RandomSplitSchema, ColumnSplitSchema]),
  algorithm: z.enum(['gbdt', 'sequence']).default('gbdt'),
  /** The encoder, tasks and training of a sequence model (algorithm: 'sequence'). */
  sequence: SequenceSpecSchema.optional(),
  /** Embedding spaces as inputs, point in time (docs/embeddings.md): the space's vector of the row's entity, or pooled over a lastK feature. */
  embeddings: z.array(ModelEmbeddingSchema).default([]),
  /** GBDT parameters (XGBoost names); each checked against the GBDT's parameter table when the config loads (validate.ts). */
  params: z.record(z.string(), z.unknown()).default({}),
  /** Monotone constraints by feature name: +1 (risk rises with the feature), -1, or 0. */
  monotone: z.record(z.string(), z.union([z.literal(-1), z.literal(0), z.literal(1)])).default({}),
  /** Adverse-action reason text per feature or per reason group. */
  reasons: z.record(z.string(), z.string()).default({}),
  /** Reason text for every reason without its own entry in `reasons`; without it, a textless reason refuses training (REASONS_MISSING). */
  defaultReason: z.string().min(1).optional(),
  /** Correlated features reported under one reason: group name → features. */
  reasonGroups: z.record(z.string(), z.array(z.string()).min(1)).default({}),
  /** Reasons per declined applicant (at most four by default, as adverse-action notices need). */
  maxReasons: z.number().int().min(1).max(10).default(4),
  /** Decline when the predicted probability of the bad outcome is at or above this. Default: decline the riskiest 30%. */
  cutoff: z.number().gt(0).lt(1).optional(),
  /** Fairness testing against a prohibited-basis feature (computed point in time, never a model input). */
  fairness: z.strictObject({ feature: z.string().min(1), reference: z.string().optional() }).optional(),
  /** Spine columns or categorical features to slice test metrics by; month is always included. */
  slices: z.array(z.string().min(1)).default([]),
  /** Calibration of the score to a probability, fitted on the validation window. */
  calibration: z.enum(['platt', 'isotonic', 'none']).default('platt'),
  /** Score points: base points at base odds (good:bad) and points to double the odds. */
  scaling: z.strictObject({ basePoints: z.number().default(600), baseOdds: z.number().positive().default(50), pdo: z.number().positive().default(20) }).default({ basePoints: 600, baseOdds: 50, pdo: 20 }),
  /** Fewest positives (bad outcomes) each split needs before training starts. */
  minPositives: z.number().int().min(1).default(20),
}).superRefine((m, ctx) => {
  if (m.algorithm === 'sequence' && !m.sequence) ctx.addIssue({ code: 'custom', path: ['sequence'], message: "algorithm 'sequence' needs a sequence block: { input: '<a lastK feature>', encoder: 'gru' | 'transformer', ... }" });
  if (m.algorithm !== 'sequence' && m.sequence) ctx.addIssue({ code: 'custom', path: ['algorithm'], message: "a sequence block needs algorithm: 'sequence'" });
  if (m.sequence && m.sequence.encoder === 'transformer' && m.sequence.size % m.sequence.heads !== 0) ctx.addIssue({ code: 'custom', path: ['sequence', 'heads'], message: `heads (${m.sequence.heads}) must divide size (${m.sequence.size})` });
  if (m.sequence && m.spine.timestamp === undefined) ctx.addIssue({ code: 'custom', path: ['sequence'], message: 'a sequence model reads events point in time: it needs spine.timestamp' });
  if (m.algorithm === 'sequence' && m.embeddings.length) ctx.addIssue({ code: 'custom', path: ['embeddings'], message: "embedding spaces are inputs of a GBDT (algorithm: 'gbdt'); a sequence model reads its lastK input itself" });
  if (m.algorithm === 'sequence' && m.features === undefined && m.columns === undefined) return;
  if (m.features === undefined && m.columns === undefined) {
    ctx.addIssue({ code: 'custom', path: ['features'], message: "a model needs inputs: give 'features' (a feature set or names) or 'columns' (the spine table's own columns), or both" });
  }
  if (m.spine.timestamp === undefined) {
    if (m.features !== undefined) ctx.addIssue({ code: 'custom', path: ['features'], message: "features are computed point in time at the spine time; a spine without 'timestamp' (a plain table) can only use 'columns'" });
    if (isOutOfTime(m.split)) ctx.addIssue({ code: 'custom', path: ['split'], message: "an out-of-time split needs spine.timestamp; for a plain table use split: { random: { valid: 0.15, test: 0.2, seed: 7 } } or { column: 'split' }" });
  }
});

/** True for the { validFrom, testFrom, testTo } form of `split`. */
export function isOutOfTime(split: SplitSpec): split is z.output<typeof OutOfTimeSplitSchema> {
  return 'testFrom' in split;
}

export type ModelSpecInput = z.input<typeof ModelSpecSchema>;
export type ModelSpec = z.output<typeof ModelSpecSchema>;
