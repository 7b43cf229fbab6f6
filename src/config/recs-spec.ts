import { z } from 'zod';

const Ident = z.string().min(1, 'expected a column name');

/**
 * Attributes of users or items: columns of a table with one row per id (`table`, `id`, `numeric`,
 * `categorical`: values frozen with each trained version), and/or `features` of the feature store (a
 * feature set or feature names of the entity keyed like the interactions' user or item column):
 * point-in-time from the offline store at training, read fresh from the online store at request time.
 */
const EntityTableSchema = z.strictObject({
  table: Ident.optional(),
  /** The id column (matches the interactions' user or item column). */
  id: Ident.optional(),
  /** Numeric columns (read as floats; NULL = missing). */
  numeric: z.array(Ident).default([]),
  /** Categorical columns (any type; read as text; NULL = missing). */
  categorical: z.array(Ident).default([]),
  /** Feature-store features: a feature set's name or feature (and set) names, all of one entity. */
  features: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /**
   * Items only: how long a request reuses a candidate's feature-store values read by an earlier request
   * (seconds, default 5; 0 = read at every request). A user's values are read at every request.
   */
  maxAgeSeconds: z.number().min(0).max(86_400).optional(),
}).superRefine((v, ctx) => {
  if (v.table === undefined && v.features === undefined) ctx.addIssue({ code: 'custom', message: 'expected a table (with id) or features of the feature store', path: [] });
  if (v.table !== undefined && v.id === undefined) ctx.addIssue({ code: 'custom', message: 'expected the id column of the table', path: ['id'] });
  if (v.table === undefined && (v.numeric.length || v.categorical.length || v.id !== undefined)) ctx.addIssue({ code: 'custom', message: 'id, numeric and categorical are columns of a table: add table', path: ['table'] });
});

/** A candidate generator: its kind and that trainer's options (checked when the recommender is trained). */
const GeneratorSchema = z.looseObject({
  kind: z.enum(['popularity', 'ease', 'als', 'bpr', 'item2vec', 'two-tower', 'cooccurrence', 'sequence']),
  name: z.string().regex(/^[A-Za-z][\w-]*$/, "letters, digits, '_' or '-', starting with a letter").optional(),
});

/**
 * A recommender (docs/recommendations.md): interactions from a table, candidate generators, a GBDT
 * `rank:ndcg` ranker over features of the user, the item and the pair, and rules. `kiln recs train NAME`
 * fits and saves a version; `kiln recs eval NAME` measures the same pipeline on a held-out split;
 * `POST /v1/recommend/:name` serves it.
 */
export const RecommenderSpecSchema = z.strictObject({
  description: z.string().optional(),
  interactions: z.strictObject({
    table: Ident,
    user: Ident,
    item: Ident,
    /** Event time (timestamp or number): time-ordered sequences and time features. */
    time: Ident.optional(),
    /** Interaction strength (rating, count, dwell): read by weighted ALS and the ranker's features. */
    weight: Ident.optional(),
    /** A SQL condition on the table's rows (e.g. "event = 'purchase'"). */
    where: z.string().min(1).optional(),
  }),
  /**
   * Logged impressions: what each user was shown (`slate` groups one request's rows; default: user and
   * time) and whether they took it (`clicked`: a number or boolean, > 0 = taken). The ranker learns from
   * them with generators fitted on the interactions before the first impression (`time` on both).
   */
  impressions: z.strictObject({
    table: Ident, user: Ident, item: Ident, clicked: Ident, time: Ident, slate: Ident.optional(), where: z.string().min(1).optional(),
  }).optional(),
  /** The ranker's query groups with impressions: 'both' (default), 'impressions' or 'held-out'. */
  rankerRows: z.enum(['both', 'impressions', 'held-out']).optional(),
  items: EntityTableSchema.optional(),
  users: EntityTableSchema.optional(),
  generators: z.array(GeneratorSchema).min(1, 'expected at least one candidate generator'),
  /** Candidates re-ranked per request (default 200), and how deep each generator's list is read. */
  candidates: z.number().int().min(1).max(5000).default(200),
  perGenerator: z.number().int().min(1).max(5000).optional(),
  /** How the ranker's rows are labelled from train: a held-out share per user, or k folds. */
  validation: z.strictObject({ ratio: z.number().gt(0).lt(1).optional(), folds: z.number().int().min(1).max(20).optional(), seed: z.number().int().optional() }).optional(),
  /** GBDT parameters of the ranker (objective stays rank:ndcg). */
  ranker: z.record(z.string(), z.unknown()).optional(),
  earlyStoppingShare: z.number().min(0).lt(1).optional(),
  /** The ranker's starting score: a generator's standardised score (default the first generator; null = zero). */
  base: z.strictObject({ generator: z.string().min(1), scale: z.number().min(0).optional() }).nullable().optional(),
  /** At most `maxPerCategory` items of one value of a categorical item column per list. */
  diversity: z.strictObject({ column: Ident, maxPerCategory: z.number().int().min(1) }).optional(),
  /** Half-width of the pair.nearUser time window, in the time column's unit (seconds for timestamps). */
  timeWindow: z.number().positive().optional(),
  seed: z.number().int().default(1),
});
export type RecommenderSpecInput = z.input<typeof RecommenderSpecSchema>;
export type RecommenderSpec = z.output<typeof RecommenderSpecSchema>;
