import { z } from 'zod';

const Ident = z.string().min(1, 'expected a column name');

/**
 * Where a space's training data comes from (a table of the offline store):
 * - `sequences`: events grouped by `by` (a borrower, a user) and ordered by `time`; the `item` column's
 *   values are embedded (merchants co-visited by a borrower, items co-consumed by a user);
 * - `interactions`: (user, item[, weight]) pairs; the space holds the `side` it names;
 * - `text`: an id column and one or more text columns, joined with ' ' (item titles, documents);
 * - `model`: the encoder of a registered sequence model (`kiln train` with algorithm 'sequence'), applied to
 *   the last events of every distinct `key` of `table` as of the version's cut.
 */
export const EmbeddingSourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('sequences'), table: Ident, by: Ident, item: Ident, time: Ident }),
  z.strictObject({
    kind: z.literal('interactions'), table: Ident, user: Ident, item: Ident, weight: Ident.optional(), time: Ident.optional(),
    /** Which side's vectors the space holds (default 'item'). */
    side: z.enum(['item', 'user']).default('item'),
  }),
  z.strictObject({ kind: z.literal('text'), table: Ident, id: Ident, text: z.union([Ident, z.array(Ident).min(1)]), time: Ident.optional() }),
  z.strictObject({
    kind: z.literal('model'),
    /** A model reference: 'credit_seq@champion', 'credit_seq@3' or 'credit_seq' (the latest version). */
    model: z.string().min(1),
    /** The table whose distinct `key` values are embedded (default: the model's spine table and key). */
    table: Ident.optional(), key: Ident.optional(),
  }),
]);
export type EmbeddingSource = z.output<typeof EmbeddingSourceSchema>;

export const EMBEDDING_TRAINERS = ['item2vec', 'als', 'bpr', 'two-tower', 'text-onnx', 'text-lsa', 'sequence'] as const;
export type EmbeddingTrainer = (typeof EMBEDDING_TRAINERS)[number];

/** The source kinds each trainer reads. */
export const TRAINER_SOURCES: Record<EmbeddingTrainer, EmbeddingSource['kind']> = {
  item2vec: 'sequences', als: 'interactions', bpr: 'interactions', 'two-tower': 'interactions',
  'text-onnx': 'text', 'text-lsa': 'text', sequence: 'model',
};

/**
 * An embedding space (docs/embeddings.md): what is embedded, from what, by which trainer, in how many
 * dimensions. Every `kiln embeddings train NAME` makes an immutable version of it.
 */
export const EmbeddingSpaceSpecSchema = z.strictObject({
  description: z.string().optional(),
  /** What one vector stands for (a merchant, an item, a borrower): shown in listings and checked by consumers. */
  entity: z.string().min(1, 'expected the entity a vector stands for, e.g. merchant'),
  source: EmbeddingSourceSchema,
  trainer: z.enum(EMBEDDING_TRAINERS),
  /** Vector dimension (the text-onnx and sequence trainers take their model's, and refuse another). */
  dim: z.number().int('expected a whole number').min(2, 'expected a dimension >= 2').max(4096, 'expected a dimension <= 4096').optional(),
  /** Trainer parameters (docs/embeddings.md lists each trainer's); checked by the trainer. */
  params: z.record(z.string(), z.unknown()).default({}),
  /** Entities seen fewer times than this in the source are left out (sequences and interactions). Default 1. */
  minCount: z.number().int().min(1).default(1),
  /** Distance of the index and of neighbour look-ups. Default 'cos'. */
  metric: z.enum(['cos', 'ip', 'l2']).default('cos'),
  /** HNSW settings of each version's index. */
  index: z.strictObject({
    connectivity: z.number().int().min(2).max(256).optional(),
    expansionAdd: z.number().int().min(1).max(4096).optional(),
    expansionSearch: z.number().int().min(1).max(4096).optional(),
  }).optional(),
  /**
   * Columns kept with every vector for filtered neighbour look-ups (`{ genre: 'Comedy' }`): from `table`
   * (default: the source table) by `key` (default: the embedded column).
   */
  attributes: z.strictObject({ table: Ident.optional(), key: Ident.optional(), columns: z.array(Ident).min(1) }).optional(),
  /**
   * Rotate each new version onto the previous one (orthogonal Procrustes over the entities both hold), so
   * that versions built at different times share axes and a model trained over several of them (point in
   * time) reads one coordinate system. Default true; distances and neighbours are unchanged by it.
   */
  align: z.boolean().default(true),
  seed: z.number().int().default(7),
}).superRefine((s, ctx) => {
  const want = TRAINER_SOURCES[s.trainer];
  if (s.source.kind !== want) ctx.addIssue({ code: 'custom', path: ['source', 'kind'], message: `trainer '${s.trainer}' reads a '${want}' source, not '${s.source.kind}'` });
  if (s.dim === undefined && s.trainer !== 'text-onnx' && s.trainer !== 'sequence') ctx.addIssue({ code: 'custom', path: ['dim'], message: `trainer '${s.trainer}' needs a dimension: dim: 32` });
});
export type EmbeddingSpaceSpecInput = z.input<typeof EmbeddingSpaceSpecSchema>;
export type EmbeddingSpaceSpec = z.output<typeof EmbeddingSpaceSpecSchema>;

/**
 * A model's use of an embedding space as features: for each training row, the vector of the newest
 * version whose training data ended before the row's time. Without `pool`, the vector of the row's own
 * entity (the spine key); with `pool`, the mean of the vectors of the values of `field` in the row's
 * lastK feature `pool` (e.g. the merchants of a borrower's last 50 transactions).
 */
export const ModelEmbeddingSchema = z.strictObject({
  space: z.string().min(1),
  pool: z.string().min(1).optional(),
  /** The lastK field whose values are the space's entities (default: the lastK's first field). */
  field: z.string().min(1).optional(),
  /** Column name prefix in the training set (default: the space's name); columns are PREFIX_0 .. PREFIX_{dim-1}. */
  prefix: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a name of letters, digits and _').optional(),
  /** Reason text of the embedding's columns (one reason for all of them). */
  reason: z.string().min(1).optional(),
});
export type ModelEmbedding = z.output<typeof ModelEmbeddingSchema>;
