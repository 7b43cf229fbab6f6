/**
 * Hyper-parameters chosen without the test split: a validation split is carved out of train per user
 * (stratified, seeded, `ratio` of each user's rows held out), every candidate spec is fitted on the rest
 * and scored by nDCG@k over the held-out rows (the same full-ranking protocol as the test), and the best
 * spec wins (ties: the earlier one). EASE^R's lambda, ALS's factors or item2vec's popularity weight are
 * all chosen this way: pass one spec per grid point.
 */
import { KilnError } from '../core/errors.js';
import { fitGenerator, type GeneratorContext, type GeneratorSpec } from './generators.js';
import { evaluateTopK } from './metrics.js';
import { stratifiedSplit } from './split.js';
import type { InteractionTable } from './table.js';

export interface TuneOptions {
  /** Share of each user's train rows held out for validation (default 0.25). */
  ratio?: number;
  /** Seed of the validation split (default 7). */
  seed?: number;
  k?: number;
  context?: GeneratorContext;
  /** Called after each spec is scored. */
  onResult?: (r: TuneResult) => void;
}

export interface TuneResult {
  spec: GeneratorSpec;
  ndcg: number;
  recall: number;
  seconds: number;
}

/**
 * Fits each spec on train minus a validation split and returns the best by validation nDCG@k.
 * @example
 * const { best } = await tuneGenerator(train, [100, 300, 1000].map((lambda) => ({ kind: 'ease', lambda })));
 */
export async function tuneGenerator(train: InteractionTable, specs: GeneratorSpec[], opts: TuneOptions = {}): Promise<{ best: GeneratorSpec; results: TuneResult[] }> {
  if (!Array.isArray(specs) || specs.length === 0) throw new KilnError('RECS_PARAM_INVALID', 'tuneGenerator needs at least one spec', { path: ['specs'] });
  const split = stratifiedSplit(train, { ratio: 1 - (opts.ratio ?? 0.25), seed: opts.seed ?? 7 });
  const results: TuneResult[] = [];
  for (const spec of specs) {
    const t0 = performance.now();
    const g = await fitGenerator(spec, split.train, opts.context);
    const r = evaluateTopK({ train: split.train, test: split.test, k: opts.k ?? 10, recommend: (u, k) => g.candidates(u, k).items });
    const res = { spec, ndcg: r.ndcg, recall: r.recall, seconds: (performance.now() - t0) / 1000 };
    results.push(res);
    opts.onResult?.(res);
  }
  let best = results[0]!;
  for (const r of results) if (r.ndcg > best.ndcg) best = r;
  return { best: best.spec, results };
}
