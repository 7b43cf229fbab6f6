/**
 * Candidate generators as plain-data specs and one registry of fitters. A spec names its kind and the
 * trainer's options (src/embeddings' ALS, BPR, item2vec and two-tower; EASE^R and popularity here), so a
 * config can declare `{ kind: 'ease', lambda: 300 }` over any interactions table and `fitGenerator`
 * turns it into a `CandidateGenerator`. Every random process is seeded by the spec (default seed 1).
 *
 *   popularity  score = distinct users per item (what cold-start users get).
 *   ease        EASE^R (ease.ts).
 *   als / bpr   matrix factorisation (trainMf); score = x_u . y_i. `weighted` reads the table's weights.
 *   item2vec    skip-gram over each user's items (time order when the table has times, else row order);
 *               'user-mean' scores cos(mean of the user's unit item vectors, item), 'item-to-item' the
 *               mean over the user's items of the cosine to each item among their `neighbours` nearest.
 *               Cosine alone ignores popularity and favours rare items whose vectors barely trained
 *               (nDCG@10 0.04 on MovieLens-100k), so items seen fewer than `minCount` times get no
 *               vector and every score adds popularityWeight x ln(1 + count) (0.41 there at 0.2).
 *   cooccurrence  items taken close together in time by the same user (cooccurrence.ts).
 *   two-tower   in-batch softmax towers on ids, plus the user and item attributes when `features` is set
 *               (numeric columns as they are, categorical ones one-hot); score = u . v.
 *   sequence    a next-item model (GRU or causal transformer) over each user's items in time order,
 *               trained with shifted targets; score = state after the user's history . item vector (sequence.ts).
 */
import { didYouMean } from '../core/errors.js';
import {
  trainItem2Vec, trainMf, trainTwoTower,
  type AlsOptions, type BprOptions, type Item2VecOptions, type TwoTowerOptions,
} from '../embeddings/index.js';
import { fitCooccurrence, type CooccurrenceOptions } from './cooccurrence.js';
import { easeOptions, fitEase, type EaseOptions } from './ease.js';
import { fitPopularity, ScoredGenerator, topN, type AnnSpec, type CandidateGenerator } from './generator.js';
import { fitSequence, sequenceOptions, userSequences, type SequenceSpec } from './sequence.js';
import { dotScorer, unitRows } from './state.js';
import { throwIssues, type EntityAttributes, type InteractionTable } from './table.js';

interface Named {
  name?: string;
  /** Candidates from an HNSW index over the generator's item vectors (AnnSpec; true = defaults). */
  ann?: boolean | AnnSpec;
}
export type PopularitySpec = { kind: 'popularity' } & Named;
export type EaseSpec = { kind: 'ease' } & Named & EaseOptions;
export type AlsSpec = { kind: 'als'; weighted?: boolean } & Named & Omit<AlsOptions, 'onIteration'>;
export type BprSpec = { kind: 'bpr' } & Named & Omit<BprOptions, 'onEpoch'>;
export type Item2VecSpec = { kind: 'item2vec'; mode?: 'user-mean' | 'item-to-item'; neighbours?: number; minCount?: number; popularityWeight?: number } & Named & Omit<Item2VecOptions, 'items' | 'threads'>;
export type TwoTowerSpec = { kind: 'two-tower'; features?: boolean } & Named & Omit<TwoTowerOptions, 'signal' | 'onEpoch' | 'threads'>;
export type CooccurrenceSpec = { kind: 'cooccurrence' } & Named & CooccurrenceOptions;
export type GeneratorSpec = PopularitySpec | EaseSpec | AlsSpec | BprSpec | Item2VecSpec | TwoTowerSpec | CooccurrenceSpec | (SequenceSpec & Named);
export type GeneratorKind = GeneratorSpec['kind'];

/** What generators may read besides the interactions. */
export interface GeneratorContext {
  userAttributes?: EntityAttributes;
  itemAttributes?: EntityAttributes;
}

type Fitter<S extends GeneratorSpec> = (train: InteractionTable, spec: S, ctx: GeneratorContext) => Promise<CandidateGenerator>;

const fitItem2Vec: Fitter<Item2VecSpec> = async (train, spec) => {
  const { kind: _k, name, mode = 'user-mean', neighbours = 50, minCount = 5, popularityWeight = 0.2, ...opts } = spec;
  throwIssues('RECS_PARAM_INVALID', 'item2vec generator', [
    ...(mode === 'user-mean' || mode === 'item-to-item' ? [] : [{ path: ['mode'], message: `must be 'user-mean' or 'item-to-item', got '${String(mode)}'` }]),
    ...(Number.isInteger(neighbours) && neighbours > 0 ? [] : [{ path: ['neighbours'], message: `must be a positive integer, got ${neighbours}` }]),
    ...(Number.isInteger(minCount) && minCount >= 1 ? [] : [{ path: ['minCount'], message: `must be an integer >= 1, got ${minCount}` }]),
    ...(Number.isFinite(popularityWeight) && popularityWeight >= 0 ? [] : [{ path: ['popularityWeight'], message: `must be a finite number >= 0, got ${popularityWeight}` }]),
  ]);
  const { tokens, offsets } = userSequences(train);
  const r = await trainItem2Vec(tokens, offsets, { seed: 1, ...opts, items: train.nItems, threads: 1 });
  const dim = r.input.dim;
  const n = train.nItems;
  const v = unitRows(r.input.data, n, dim);
  const prior = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = r.counts[i]!;
    prior[i] = popularityWeight * Math.log1p(c);
    if (c < minCount) v.fill(0, i * dim, (i + 1) * dim);
  }
  if (mode === 'user-mean') return new ScoredGenerator(name ?? 'item2vec', 'item2vec', train, { scorer: 'mean-cosine', dim, vectors: v, prior });
  const nbItems = new Int32Array(n * neighbours);
  const nbScores = new Float32Array(n * neighbours);
  const cos = new Float32Array(n);
  const self = new Int32Array(1);
  const byVector = dotScorer(v, v, dim);
  for (let i = 0; i < n; i++) {
    byVector(i, cos);
    self[0] = i;
    const top = topN(cos, neighbours, self);
    nbItems.set(top.items, i * neighbours);
    nbScores.set(top.scores, i * neighbours);
  }
  return new ScoredGenerator(name ?? 'item2vec', 'item2vec', train, { scorer: 'neighbours', k: neighbours, nbItems, nbScores, prior });
};

/** Row-major attribute features: numeric columns, then a one-hot block per categorical column. */
export function attributeMatrix(a: EntityAttributes | undefined, rows: number): { x: Float32Array; dim: number } | null {
  const num = Object.entries(a?.numeric ?? {});
  const cat = Object.entries(a?.categorical ?? {}).map(([n, c]) => [n, c, c.reduce((m, v) => Math.max(m, v + 1), 0)] as const);
  const dim = num.length + cat.reduce((s, [, , k]) => s + k, 0);
  if (dim === 0) return null;
  const x = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let o = r * dim;
    for (const [, col] of num) x[o++] = col[r]!;
    for (const [, col, k] of cat) {
      const c = col[r]!;
      for (let j = 0; j < k; j++) x[o + j] = c < 0 ? NaN : c === j ? 1 : 0;
      o += k;
    }
  }
  return { x, dim };
}

const fitTwoTower: Fitter<TwoTowerSpec> = async (train, spec, ctx) => {
  const { kind: _k, name, features = false, ...opts } = spec;
  const uf = features ? attributeMatrix(ctx.userAttributes, train.nUsers) : null;
  const itf = features ? attributeMatrix(ctx.itemAttributes, train.nItems) : null;
  const r = await trainTwoTower({
    users: train.nUsers, items: train.nItems, user: train.users, item: train.items,
    ...(uf ? { userFeatures: uf.x, userFeatureDim: uf.dim } : {}), ...(itf ? { itemFeatures: itf.x, itemFeatureDim: itf.dim } : {}),
  }, { seed: 1, ...opts, threads: 1 });
  return new ScoredGenerator(name ?? 'two-tower', 'two-tower', train, { scorer: 'dot', dim: r.dim, userVectors: r.userVectors, itemVectors: r.itemVectors });
};

function mfFitter(method: 'als' | 'bpr'): Fitter<AlsSpec | BprSpec> {
  return async (train, spec) => {
    const { kind: _k, name, ...rest } = spec;
    const weighted = 'weighted' in rest && rest.weighted === true;
    const opts = { ...rest } as Record<string, unknown>;
    delete opts.weighted;
    const weights = weighted && train.weights ? train.weights : new Float32Array(train.users.length).fill(1);
    const m = trainMf({ users: train.users, items: train.items, weights, nUsers: train.nUsers, nItems: train.nItems }, { method, ...opts });
    return new ScoredGenerator(name ?? method, method, train, { scorer: 'dot', dim: m.factors, userVectors: m.userFactors, itemVectors: m.itemFactors });
  };
}

export const GENERATORS = {
  popularity: async (train, spec) => fitPopularity(train, spec.name ?? 'popularity'),
  ease: async (train, spec) => {
    const { kind: _k, name, ...opts } = spec;
    return fitEase(train, opts, name ?? 'ease');
  },
  als: mfFitter('als'),
  bpr: mfFitter('bpr'),
  item2vec: fitItem2Vec,
  'two-tower': fitTwoTower,
  cooccurrence: async (train, spec) => {
    const { kind: _k, name, ...opts } = spec;
    return fitCooccurrence(train, opts, name ?? 'cooccurrence');
  },
  sequence: async (train, spec) => fitSequence(train, spec),
} as const satisfies { [K in GeneratorKind]: Fitter<Extract<GeneratorSpec, { kind: K }>> };

export const GENERATOR_KINDS = Object.keys(GENERATORS) as GeneratorKind[];

/** Checks a spec's kind and name (the trainers check their own options). */
export function checkGeneratorSpec(spec: GeneratorSpec, nItems?: number, where: (string | number)[] = ['generator']): void {
  const kind = (spec as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !(kind in GENERATORS)) {
    const near = typeof kind === 'string' ? didYouMean(kind, GENERATOR_KINDS) : undefined;
    const hint = near ? ` (did you mean '${near}'?)` : '';
    throwIssues('RECS_PARAM_INVALID', 'generator spec', [{ path: [...where, 'kind'], message: `'${String(kind)}' is unknown${hint}; use one of: ${GENERATOR_KINDS.join(', ')}` }]);
  }
  if (spec.name !== undefined && !/^[A-Za-z][\w-]*$/.test(spec.name)) {
    throwIssues('RECS_PARAM_INVALID', 'generator spec', [{ path: [...where, 'name'], message: `'${spec.name}' must start with a letter and hold letters, digits, '_' or '-'` }]);
  }
  if (spec.kind === 'ease' && nItems !== undefined) easeOptions(spec, nItems);
  if (spec.kind === 'sequence') sequenceOptions(spec, nItems ?? 1);
}

/** The name a generator's features go by. */
export function generatorName(spec: GeneratorSpec): string {
  return spec.name ?? spec.kind;
}

/**
 * Fits one generator on the training interactions.
 * @example
 * const als = await fitGenerator({ kind: 'als', factors: 64, regularization: 1, alpha: 1 }, train);
 * const top = als.candidates(0, 200);
 */
export async function fitGenerator(spec: GeneratorSpec, train: InteractionTable, ctx: GeneratorContext = {}): Promise<CandidateGenerator> {
  checkGeneratorSpec(spec, train.nItems);
  const fit = GENERATORS[spec.kind] as Fitter<GeneratorSpec>;
  const { ann, ...rest } = spec;
  const g = await fit(train, rest as GeneratorSpec, ctx);
  if (ann === undefined || ann === false) return g;
  if (!g.state) throwIssues('RECS_PARAM_INVALID', 'generator spec', [{ path: ['ann'], message: `generator '${g.name}' (${g.kind}) keeps no item vectors to index` }]);
  return new ScoredGenerator(g.name, g.kind, train, g.state!, ann === true ? {} : ann);
}
