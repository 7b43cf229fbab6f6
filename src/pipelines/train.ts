import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KilnError, didYouMean } from '../core/errors.js';
import type { ModelSpec } from '../config/index.js';
import { loadProjectFeatures } from '../features/training/index.js';
import { Booster, train, type GbdtParams } from '../gbdt/index.js';
import { ModelRegistry, Tracker, type ModelSignature } from '../registry/index.js';
import type { Project } from '../store/index.js';
import { checkModelSpec } from './checks.js';
import { loadModelDataset, type ModelDataset } from './dataset.js';
import { evaluateModel, type Evaluation } from './evaluate.js';
import { modelCard } from './model-card.js';
import { renderReport } from './report.js';

export interface TrainResult {
  model: string;
  runId: string;
  version: number;
  evaluation: Evaluation;
  bestIteration: number | null;
  seconds: number;
}

/** Defaults a credit model starts from; the config's params override them. */
const DEFAULT_PARAMS: GbdtParams = {
  objective: 'binary:logistic', learning_rate: 0.05, n_estimators: 600, max_depth: 4, min_child_weight: 5,
  subsample: 0.8, colsample_bytree: 0.8, early_stopping_rounds: 50, eval_metric: 'auc', seed: 7,
} as GbdtParams;

function log(quiet: boolean | undefined, line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

/**
 * `kiln train NAME`: builds the model's training set through the feature store, trains with early
 * stopping on the validation window, evaluates on the out-of-time test window, records a run (params,
 * curves, metrics, lineage, artifacts) and registers a model version with its input signature.
 */
export async function trainModel(project: Project, name: string, opts: { quiet?: boolean; signal?: AbortSignal } = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const spec = project.config.models[name];
  if (!spec) {
    const names = Object.keys(project.config.models);
    const hint = didYouMean(name, names);
    throw new KilnError('MODEL_NOT_FOUND', `no model '${name}' in ${project.paths.configFile}${hint ? `; did you mean '${hint}'?` : ''} (models: ${names.length ? names.join(', ') : 'none; declare one under models: { ... }'})`);
  }
  const registry = await loadProjectFeatures(project);
  const { features, extra } = await checkModelSpec(project, name, spec, registry);
  log(opts.quiet, `train ${name}: building the training set (${features.length} features, spine ${spec.spine.table})`);
  const data = await loadModelDataset(project, name, spec, features, extra);
  project.releaseOffline(); // the data is in memory: let other kiln commands use the offline store while this one trains
  checkSplits(name, spec, data);
  log(opts.quiet, `train ${name}: ${data.splits.train.rows} train / ${data.splits.valid.rows} valid / ${data.splits.test.rows} test rows, ${data.inputs.length} inputs` +
    (data.skipped.length ? `; left out: ${data.skipped.map((s) => s.column).join(', ')}` : ''));

  const params = { ...DEFAULT_PARAMS, ...(spec.params as GbdtParams) } as GbdtParams & Record<string, unknown>;
  const monotone: Record<string, number> = {};
  for (const c of data.inputs) { const m = spec.monotone[c.feature]; if (m) monotone[c.name] = m; }
  if (Object.keys(monotone).length) (params as Record<string, unknown>).monotone_constraints = monotone;
  const configHash = createHash('sha256').update(readFileSync(project.paths.configFile)).digest('hex').slice(0, 16);
  const tracker = new Tracker(project.meta.db, project.paths.artifactsDir);

  return tracker.withRun({ experiment: name, name: `${name}-${new Date().toISOString().slice(0, 16)}`, params: { ...params, features: spec.features }, configHash, codeDir: project.paths.root, tags: { algorithm: spec.algorithm } }, async (run) => {
    run.logLineage([
      ...data.summary.features.map((f) => ({ kind: 'feature', name: f.name, version: f.version })),
      { kind: 'table', name: spec.spine.table },
      { kind: 'training_set', name: data.table, version: data.fingerprint.checksum, details: { ...data.fingerprint, unlabelled: data.unlabelled, split: spec.split, skipped: data.skipped } },
    ]);
    if (data.skipped.length) run.setTags({ skipped_columns: data.skipped.map((s) => `${s.column}: ${s.reason}`).join('; ') });
    const curves: Record<string, number[]> = {};
    const { train: tr, valid: va, test: te } = data.splits;
    const booster = await train({
      features: tr.features, label: tr.label, featureNames: data.inputs.map((c) => c.name),
      categorical: data.inputs.filter((c) => c.kind === 'categorical').map((c) => c.name),
      params, valid: { features: va.features, label: va.label },
      ...(opts.signal ? { signal: opts.signal } : {}),
      onIteration: (info) => {
        for (const [k, v] of Object.entries(info.train)) (curves[`train_${k}`] ??= []).push(v);
        for (const [k, v] of Object.entries(info.valid ?? {})) (curves[`valid_${k}`] ??= []).push(v);
        if ((info.iteration + 1) % 50 === 0) log(opts.quiet, `  round ${info.iteration + 1}: ${Object.entries(info.valid ?? info.train).map(([k, v]) => `valid ${k} ${v.toFixed(4)}`).join(', ')}`);
      },
    });
    for (const [k, v] of Object.entries(curves)) run.logCurve(k, v);
    const testScore = booster.predict(te.features);
    const validScore = booster.predict(va.features);
    const contributions = explain(booster, te.features, data);
    const evaluation = evaluateModel({ spec, test: te, testScore, valid: va, validScore, ...(contributions ? { contributions } : {}) });
    run.logMetrics({ ...Object.fromEntries(Object.entries(evaluation.metrics).filter(([, v]) => v !== null)) as Record<string, number>, valid_auc: evaluation.validMetrics.auc, best_iteration: booster.bestIteration ?? booster.numRounds - 1, test_rows: te.rows, test_positives: te.positives });
    if (evaluation.fairness?.minAdverseImpactRatio != null) run.logMetric('min_adverse_impact_ratio', evaluation.fairness.minAdverseImpactRatio);

    const signature: ModelSignature = {
      features: data.inputs.map((c) => ({ name: c.name, type: c.sqlType, version: c.version })),
      output: `probability of ${spec.label.column}`,
    };
    const modelPath = run.logArtifact('model.json', { data: JSON.stringify(booster.toJSON()) });
    run.logArtifact('signature.json', { data: JSON.stringify({ signature, categories: Object.fromEntries(data.inputs.filter((c) => c.categories).map((c) => [c.name, c.categories])) }, null, 2) });
    run.logArtifact('evaluation.json', { data: JSON.stringify(evaluation) });
    const reg = new ModelRegistry(project.meta.db);
    const mv = reg.registerVersion(name, { signature, runId: run.id, artifactPath: modelPath, description: spec.description ?? null, reason: `trained by run ${run.id}` });
    const meta = { model: name, version: mv.version, runId: run.id, spec, data, bestIteration: booster.bestIteration ?? null, importance: topImportance(booster) };
    run.logArtifact('report.html', { data: await renderReport(meta, evaluation) });
    run.logArtifact('model-card.md', { data: modelCard(meta, evaluation) });
    const seconds = (performance.now() - t0) / 1000;
    log(opts.quiet, `train ${name}: version ${mv.version}, run ${run.id}; test AUC ${evaluation.metrics.auc.toFixed(4)}, KS ${evaluation.metrics.ks.toFixed(4)} in ${seconds.toFixed(1)}s`);
    return { model: name, runId: run.id, version: mv.version, evaluation, bestIteration: booster.bestIteration ?? null, seconds };
  });
}

function checkSplits(name: string, spec: ModelSpec, data: ModelDataset): void {
  const problems: string[] = [];
  for (const s of Object.values(data.splits)) {
    if (s.rows === 0) problems.push(`the ${s.name} window has no labelled rows`);
    else if (s.positives < spec.minPositives) problems.push(`the ${s.name} window has ${s.positives} positives (${spec.label.column} = 1) among ${s.rows} rows; at least ${spec.minPositives} are needed (minPositives)`);
    else if (s.positives === s.rows) problems.push(`the ${s.name} window has only positives`);
  }
  if (problems.length) {
    throw new KilnError('INVALID_ARGUMENT', `model '${name}': the split ${JSON.stringify(spec.split)} does not give usable windows; nothing was trained:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { path: ['models', name, 'split'] });
  }
}

/** TreeSHAP contributions of the test rows toward the bad outcome, when the engine provides them. */
function explain(booster: Booster, features: Float64Array[], data: ModelDataset): { values: Float64Array; names: string[] } | undefined {
  const b = booster as unknown as { explain?: (f: Float64Array[]) => { contributions: Float64Array } | Float64Array };
  if (typeof b.explain !== 'function') return undefined;
  const out = b.explain(features);
  const all = out instanceof Float64Array ? out : out.contributions;
  // The engine returns n x (f + 1) (the last column is the expected value); reasons use the f features.
  const f = data.inputs.length;
  const n = features[0]?.length ?? 0;
  const stride = all.length / Math.max(1, n);
  const values = new Float64Array(n * f);
  for (let i = 0; i < n; i++) values.set(all.subarray(i * stride, i * stride + f), i * f);
  return { values, names: data.inputs.map((c) => c.name) };
}

function topImportance(booster: Booster): { feature: string; gain: number }[] {
  const imp = booster.featureImportance('gain') as unknown as Record<string, number>;
  return Object.entries(imp).map(([feature, gain]) => ({ feature, gain })).sort((a, b) => b.gain - a.gain).slice(0, 25);
}
