import { randomBytes } from 'node:crypto';
import { KilnError, didYouMean } from '../core/errors.js';
import { DEFAULT_PARAMS, trainModel, type TrainResult } from '../pipelines/index.js';
import type { Project } from '../store/index.js';
import { halvingRungs, sampleSpace, type SearchSpace } from './space.js';
import type { TuneQueue } from './queue.js';
import type { TrialResult, TuneSpec } from './types.js';

/**
 * `kiln tune NAME`: a hyperparameter search whose trials run on `kiln worker`s. Random search trains every
 * drawn configuration for the model's rounds (early stopping on the validation window); successive
 * halving (Jamieson & Talwalkar, 2016) trains all of them for few rounds, keeps the best 1/eta by valid
 * AUC, and gives the survivors eta times the rounds, until one is left or the rounds reach the model's.
 * Every trial is a tracked run under one parent run; the best configuration is then trained by `kiln
 * train`'s code (the out-of-time test window, the report, the bundle) and registered.
 */
export interface TuneOptions {
  search: 'random' | 'halving';
  trials: number;
  space: SearchSpace;
  queue: TuneQueue;
  seed?: number;
  eta?: number;
  minRounds?: number;
  maxRounds?: number;
  asOf?: string;
  /** Train and register the best configuration (default true). */
  register?: boolean;
  /** Register the best even when it learned nothing (kiln train --force). */
  force?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Give up on a rung whose trials have not all finished after this long (default 6 hours). */
  rungTimeoutMs?: number;
}

export interface TuneResult {
  id: string;
  parentRun: string;
  rungs: { rung: number; configs: number; rounds: number; bestValidAuc: number | null; failed: number }[];
  trials: TrialResult[];
  best: TrialResult;
  registered: TrainResult | null;
}

export function newTuneId(now = new Date()): string {
  return `tn-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(3).toString('hex')}`;
}

const better = (a: TrialResult, b: TrialResult): number => b.validAuc - a.validAuc || a.trial - b.trial;

export async function tuneModel(project: Project, name: string, opts: TuneOptions): Promise<TuneResult> {
  const model = project.config.models[name];
  if (!model) {
    const names = Object.keys(project.config.models);
    const hint = didYouMean(name, names);
    throw new KilnError('MODEL_NOT_FOUND', `no model '${name}' in ${project.paths.configFile}${hint ? `; did you mean '${hint}'?` : ''}`);
  }
  if (model.algorithm === 'sequence') throw new KilnError('USAGE', `model '${name}' is a sequence model: kiln tune searches GBDT parameters`, { path: ['models', name] });
  if (!Number.isInteger(opts.trials) || opts.trials < 1 || opts.trials > 10_000) throw new KilnError('USAGE', `--trials ${opts.trials}: expected a whole number from 1 to 10000`, { path: ['trials'] });
  const eta = opts.eta ?? 3;
  if (!(eta >= 2) || !Number.isInteger(eta)) throw new KilnError('USAGE', `--eta ${eta}: expected a whole number >= 2`, { path: ['eta'] });
  const maxRounds = opts.maxRounds ?? Number((model.params as Record<string, unknown>).n_estimators ?? DEFAULT_PARAMS.n_estimators);
  const minRounds = opts.minRounds ?? Math.max(10, Math.round(maxRounds / eta ** 3));
  if (!(minRounds >= 1 && minRounds <= maxRounds)) throw new KilnError('USAGE', `--min-rounds ${minRounds}: expected 1..${maxRounds} (--max-rounds)`, { path: ['min-rounds'] });
  const seed = opts.seed ?? 7;
  const configs = sampleSpace(opts.space, opts.trials, seed);
  const rungs = opts.search === 'random' ? [{ configs: opts.trials, rounds: maxRounds }] : halvingRungs(opts.trials, eta, minRounds, maxRounds);
  const log = opts.log ?? (() => undefined);
  const id = newTuneId();

  return project.tracker.withRun({
    experiment: name, name: `${name}-tune-${id}`,
    params: { search: opts.search, trials: opts.trials, seed, eta, min_rounds: minRounds, max_rounds: maxRounds, space: JSON.stringify(opts.space), ...(opts.asOf ? { as_of: opts.asOf } : {}) },
    tags: { tune: id, kind: 'tune' },
  }, async (parent) => {
    const spec: TuneSpec = {
      id, model: name, search: opts.search, space: opts.space, trials: opts.trials, seed, eta, minRounds, maxRounds,
      ...(opts.asOf ? { asOf: opts.asOf } : {}), parentRun: parent.id, project: project.paths.root, createdAt: new Date().toISOString(),
    };
    await opts.queue.start(spec);
    log(`tune ${name}: search ${id} (${opts.search}, ${opts.trials} configurations, ${rungs.map((r) => `${r.configs} x ${r.rounds} rounds`).join(' -> ')}), parent run ${parent.id}; trials run on 'kiln worker'`);
    let alive = configs.map((params, trial) => ({ trial, params }));
    const all: TrialResult[] = [];
    const summary: TuneResult['rungs'] = [];
    for (let r = 0; r < rungs.length; r++) {
      const rounds = rungs[r]!.rounds;
      await opts.queue.enqueue(alive.map((a) => ({ tune: id, rung: r, trial: a.trial, params: a.params, rounds })));
      const { results, failed } = await waitRung(opts, id, r, alive.map((a) => a.trial), log);
      all.push(...results);
      const ranked = [...results].sort(better);
      summary.push({ rung: r, configs: alive.length, rounds, bestValidAuc: ranked[0]?.validAuc ?? null, failed: failed.length });
      if (!ranked.length) throw new KilnError('INVALID_ARGUMENT', `search ${id}: every trial of rung ${r} failed (${failed.slice(0, 3).map((f) => `trial ${f.trial}: ${f.reason}`).join('; ')}); see 'kiln runs list --experiment ${name}'`);
      parent.logMetric('rung_best_valid_auc', ranked[0]!.validAuc, r);
      log(`tune ${name}: rung ${r}: ${results.length}/${alive.length} trials at ${rounds} rounds${failed.length ? ` (${failed.length} failed)` : ''}; best valid AUC ${ranked[0]!.validAuc.toFixed(4)} (trial ${ranked[0]!.trial})`);
      if (r + 1 < rungs.length) {
        const keep = new Set(ranked.slice(0, Math.max(1, Math.min(rungs[r + 1]!.configs, ranked.length))).map((t) => t.trial));
        alive = alive.filter((a) => keep.has(a.trial));
      }
    }
    const lastRung = rungs.length - 1;
    const best = all.filter((t) => t.rung === lastRung).sort(better)[0]!;
    parent.logMetrics({ best_valid_auc: best.validAuc, trials_run: all.length });
    parent.setTags({ best_trial_run: best.runId, best_params: JSON.stringify(best.params) });
    let registered: TrainResult | null = null;
    if (opts.register ?? true) {
      log(`tune ${name}: training the best configuration (${JSON.stringify(best.params)}) with kiln train's code, to register it`);
      registered = await trainModel(project, name, {
        spec: { ...model, params: { ...model.params, ...best.params, n_estimators: maxRounds } } as typeof model,
        tags: { tune: id, parent_run: parent.id }, reason: `best of search ${id}: valid AUC ${best.validAuc.toFixed(4)} over ${all.length} trials (parent run ${parent.id})`, quiet: true,
        ...(opts.asOf ? { asOf: opts.asOf } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.force ? { force: true } : {}),
      });
      parent.logLineage([{ kind: 'model_version', name, version: String(registered.version) }]);
      parent.logMetric('registered_test_auc', registered.evaluation.metrics.auc);
      log(`tune ${name}: registered version ${registered.version} (run ${registered.runId}); test AUC ${registered.evaluation.metrics.auc.toFixed(4)}`);
    }
    return { id, parentRun: parent.id, rungs: summary, trials: all, best, registered };
  });
}

/** Waits until every trial of the rung has a result or failed for good. */
async function waitRung(opts: TuneOptions, id: string, rung: number, trials: number[], log: (line: string) => void): Promise<{ results: TrialResult[]; failed: { trial: number; reason: string }[] }> {
  const deadline = Date.now() + (opts.rungTimeoutMs ?? 6 * 3600_000);
  const wanted = new Set(trials);
  let seen = -1;
  for (;;) {
    if (opts.signal?.aborted) {
      await opts.queue.cancel(id, 'interrupted');
      throw new KilnError('INTERRUPTED', `search ${id} interrupted at rung ${rung}; its queued trials were dropped`);
    }
    const cancelled = await opts.queue.cancelled(id);
    if (cancelled !== null) throw new KilnError('INTERRUPTED', `search ${id} was cancelled at rung ${rung}: ${cancelled}`);
    const results = (await opts.queue.results(id)).filter((t) => t.rung === rung && wanted.has(t.trial));
    const pending = trials.filter((t) => !results.some((x) => x.trial === t));
    const failed = pending.length ? await opts.queue.failed(id, rung, pending) : [];
    if (results.length !== seen) { seen = results.length; if (results.length) log(`tune ${id}: rung ${rung}: ${results.length}/${trials.length} trials done`); }
    if (results.length + failed.length >= trials.length) return { results, failed };
    if (Date.now() > deadline) throw new KilnError('INTERRUPTED', `search ${id}: rung ${rung} still has ${pending.length} trial(s) unfinished; is a 'kiln worker' running on this queue?`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
