import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { KilnError } from '../core/errors.js';
import { auc } from '../eval/index.js';
import { loadProjectFeatures } from '../features/training/index.js';
import { train, type GbdtParams } from '../gbdt/index.js';
import { checkModelSpec, DEFAULT_PARAMS, loadModelDataset, type ModelDataset } from '../pipelines/index.js';
import type { Project } from '../store/index.js';
import type { TrialJob, TrialResult, TuneSpec } from './types.js';

/**
 * One trial of a search, in a worker: the model's training set (loaded once per worker and tune, then
 * kept), the GBDT trained with the trial's parameters for its rounds (early stopping on the validation
 * window as `kiln train` does), and a tracked run under the search's parent run: parameters, the
 * validation curve, valid AUC. Nothing is registered; the search registers its best.
 */
let cached: { key: string; data: ModelDataset } | null = null;

async function dataset(project: Project, spec: TuneSpec): Promise<ModelDataset> {
  const config = createHash('sha256').update(readFileSync(project.paths.configFile)).digest('hex').slice(0, 16);
  const key = `${spec.id}|${spec.model}|${spec.asOf ?? ''}|${config}`;
  if (cached?.key === key) return cached.data;
  const model = project.config.models[spec.model];
  if (!model) throw new KilnError('MODEL_NOT_FOUND', `no model '${spec.model}' in ${project.paths.configFile} (the search ${spec.id} tunes it)`);
  if (model.algorithm === 'sequence') throw new KilnError('USAGE', `model '${spec.model}' is a sequence model: kiln tune searches GBDT parameters`);
  const registry = await loadProjectFeatures(project);
  const checked = await checkModelSpec(project, spec.model, model, registry);
  const data = await loadModelDataset(project, spec.model, model, checked, spec.asOf ? { asOf: spec.asOf } : {});
  project.releaseOffline();
  cached = { key, data };
  return data;
}

export async function runTrial(project: Project, spec: TuneSpec, job: TrialJob, attempt: number, progress?: (done: number) => void): Promise<TrialResult> {
  const started = performance.now();
  const data = await dataset(project, spec);
  const model = project.config.models[spec.model]!;
  const params = { ...DEFAULT_PARAMS, ...(model.params as GbdtParams), ...job.params, n_estimators: job.rounds, nthread: 1 } as GbdtParams & Record<string, unknown>;
  const name = `${spec.model}-${spec.id}-r${job.rung}-t${job.trial}`;
  return project.tracker.withRun({
    experiment: spec.model, name, params: { ...params, rung: job.rung, trial: job.trial },
    tags: { tune: spec.id, parent_run: spec.parentRun, rung: String(job.rung), trial: String(job.trial), attempt: String(attempt) },
  }, async (run) => {
    run.logLineage([{ kind: 'parent_run', name: spec.parentRun }, { kind: 'training_set', name: data.table, version: data.fingerprint.checksum }]);
    const { train: tr, valid: va } = data.splits;
    const curve: number[] = [];
    const booster = await train({
      features: tr.features, label: tr.label, featureNames: data.inputs.map((c) => c.name),
      categorical: data.inputs.filter((c) => c.kind === 'categorical').map((c) => c.name),
      params, valid: { features: va.features, label: va.label },
      // A signal makes training yield between rounds: the worker's job lock is renewed meanwhile.
      signal: new AbortController().signal,
      onIteration: (info) => {
        const v = info.valid?.auc;
        if (v !== undefined) curve.push(v);
        if ((info.iteration + 1) % 25 === 0) progress?.(info.iteration + 1);
      },
    });
    const validAuc = auc(va.label, booster.predict(va.features));
    if (curve.length) run.logCurve('valid_auc_curve', curve);
    const bestIteration = booster.bestIteration ?? booster.numRounds - 1;
    run.logMetrics({ valid_auc: validAuc, best_iteration: bestIteration, rounds: job.rounds });
    return { rung: job.rung, trial: job.trial, runId: run.id, validAuc, bestIteration, params: job.params, rounds: job.rounds, worker: `${hostname()}:${process.pid}`, attempt, seconds: (performance.now() - started) / 1000 };
  });
}
