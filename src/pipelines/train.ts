import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, didYouMean } from '../core/errors.js';
import type { ModelSpec } from '../config/index.js';
import type { FeatureRegistry } from '../features/index.js';
import { Progress } from '../core/progress.js';
import { loadProjectFeatures } from '../features/training/index.js';
import { calibratorFromJson, originsFromFeatures } from '../eval/index.js';
import { Booster, train, type GbdtParams } from '../gbdt/index.js';
import type { ModelSignature } from '../registry/index.js';
import type { Project } from '../store/index.js';
import { bundleText, kilnVersion, type ModelBundleBody } from './bundle.js';
import { checkModelSpec } from './checks.js';
import { attachEmbeddings, embeddingDatasetOptions, planEmbeddings } from './embedding-inputs.js';
import { loadModelDataset, type ModelDataset, type Split } from './dataset.js';
import { evaluateModel, reasonConfig, type Evaluation } from './evaluate.js';
import { checkReasons, checkSplits, learnedNothing } from './guards.js';
import { modelCard } from './model-card.js';
import { SMOKE_ROWS, SMOKE_SEED, smokeSplit, withSmokeSample } from './smoke.js';
import { buildProfile, referenceSample, REFERENCE_SAMPLE_FILE, REFERENCE_SAMPLE_ROWS } from './profile.js';
import { renderReport } from './report.js';
import { sampleRows } from './sample.js';

export { sampleRows };
import { trainSequenceModel } from './sequence/train.js';
import { comparisonHtml, gbdtAuc, type ComparisonRow } from './sequence/compare.js';

export interface TrainResult {
  model: string;
  runId: string;
  version: number;
  evaluation: Evaluation;
  bestIteration: number | null;
  /** A sequence model's best epoch (0-based; its parameters are the version's). */
  bestEpoch?: number;
  seconds: number;
  /** Coverage warnings and the reason a forced model was registered anyway. */
  warnings: string[];
}

/** Defaults a credit model starts from; the config's params override them (docs/models.md lists them). */
export const DEFAULT_PARAMS: GbdtParams = {
  objective: 'binary:logistic', learning_rate: 0.05, n_estimators: 600, max_depth: 4, min_child_weight: 5,
  subsample: 0.8, colsample_bytree: 0.8, early_stopping_rounds: 50, eval_metric: 'auc', seed: 7,
} as GbdtParams;

/** The model bundle's file name in a run's artifacts. */
export const BUNDLE_FILE = 'model.kiln.json';

/** Test rows explained with TreeSHAP for the reason statistics and the SHAP summary (a seeded sample). */
export const SHAP_SAMPLE_ROWS = 5000;
const SHAP_SEED = 7;

function log(quiet: boolean | undefined, line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

export interface TrainOptions {
  quiet?: boolean;
  signal?: AbortSignal;
  /** Register the model even when it learned nothing (best iteration 0 or validation AUC at chance). */
  force?: boolean;
  /** Train as of this time (ISO, UTC): spine rows before it, labels known by then (see DatasetOptions). */
  asOf?: string;
  /** The model spec to train with instead of the config's (the loop's rolling windows and proxy labels). */
  spec?: ModelSpec;
  /** Tags on the run (e.g. the loop run that trained it). */
  tags?: Record<string, string>;
  /** Why the version is registered (the registry's audit); default 'trained by run ID'. */
  reason?: string;
}

/**
 * `kiln train NAME`: builds the model's training set through the feature store, trains with early
 * stopping on the validation window, evaluates on the out-of-time test window, records a run (params,
 * curves, metrics, lineage, artifacts) and registers a model version with its input signature.
 */
export async function trainModel(project: Project, name: string, opts: TrainOptions = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const spec = opts.spec ?? project.config.models[name];
  if (!spec) {
    const names = Object.keys(project.config.models);
    const hint = didYouMean(name, names);
    throw new KilnError('MODEL_NOT_FOUND', `no model '${name}' in ${project.paths.configFile}${hint ? `; did you mean '${hint}'?` : ''} (models: ${names.length ? names.join(', ') : 'none; declare one under models: { ... }'})`);
  }
  if (spec.algorithm === 'sequence') return trainSequenceModel(project, name, spec, opts, trainGbdtOnData);
  const registry = await loadProjectFeatures(project);
  const checked = await checkModelSpec(project, name, spec, registry);
  log(opts.quiet, `train ${name}: building the training set (${[checked.features.length ? `${checked.features.length} features` : '', checked.columns.length ? `${checked.columns.length} spine columns` : ''].filter(Boolean).join(' and ')}, spine ${spec.spine.table})`);
  const plan = spec.embeddings.length ? planEmbeddings(project, name, spec, registry) : null;
  const data = await loadModelDataset(project, name, spec, checked, { ...(opts.asOf ? { asOf: opts.asOf } : {}), ...(plan ? embeddingDatasetOptions(plan) : {}) });
  const extras: GbdtExtras = {};
  let trainSpec = spec;
  if (plan) {
    const { bundle, usage } = attachEmbeddings(project, plan, data);
    data.warnings.push(...plan.warnings);
    for (const u of usage) {
      const rows = Object.values(u.rowsByVersion).reduce((a, b) => a + b, 0);
      log(opts.quiet, `train ${name}: embedding space ${u.space}: rows read versions ${Object.entries(u.rowsByVersion).map(([v, n]) => `${v} (${n})`).join(', ') || 'none'}${u.missingRows ? `; ${u.missingRows} rows before its first version have none` : ''}; served with version ${u.served}`);
      if (rows === 0) data.warnings.push(`embedding space '${u.space}': no training row could read a version (every version's data ends after the rows); train older versions with kiln embeddings train ${u.space} --every month --from ... --to ...`);
    }
    extras.embeddings = bundle;
    extras.comparison = await embeddingComparison(data, plan.entries.reduce((n, e) => n + e.columns.length, 0), opts.quiet);
    extras.lineage = usage.map((u) => ({ kind: 'embedding', name: u.space, version: String(u.served), details: u }));
    // The embedding's columns are one adverse-action reason each space, with its own text.
    const texts: Record<string, string> = {};
    for (const e of plan.entries) if (spec.reasons[e.prefix] === undefined) texts[e.prefix] = e.use.reason ?? (e.pool ? `Pattern of ${e.space.entity}s in recent activity` : `${e.space.entity} profile`);
    trainSpec = { ...spec, reasons: { ...spec.reasons, ...texts } };
  }
  project.releaseOffline(); // the data is in memory: let other kiln commands use the offline store while this one trains
  // Warnings are printed even with --quiet: they are about the model, not progress.
  for (const w of data.warnings) process.stderr.write(`warning: train ${name}: ${w}\n`);
  checkSplits(name, spec, data);
  return trainGbdtOnData(project, name, trainSpec, registry, data, opts, t0, extras);
}

/** What a fused model adds to the GBDT path: the encoder to embed in the bundle. */
export interface GbdtExtras {
  encoder?: NonNullable<ModelBundleBody['encoder']>;
  /** Embedding spaces the trees read, with the versions served (model spec `embeddings`). */
  embeddings?: NonNullable<ModelBundleBody['embeddings']>;
  /** More lineage of the run (the embedding versions read). */
  lineage?: { kind: string; name: string; version?: string; details?: unknown }[];
  /** A side-by-side comparison for the run report (the GBDT with and without its embedding inputs). */
  comparison?: { rows: ComparisonRow[]; note: string; title: string };
}

/**
 * The GBDT with and without its last `width` inputs (the embedding columns), both with the comparison's
 * fixed parameters, for the run report: what the embeddings add out of time.
 */
async function embeddingComparison(data: ModelDataset, width: number, quiet: boolean | undefined): Promise<NonNullable<GbdtExtras['comparison']>> {
  const keep = data.inputs.length - width;
  const base: ModelDataset = {
    ...data, inputs: data.inputs.slice(0, keep),
    splits: Object.fromEntries(Object.entries(data.splits).map(([k, s]) => [k, { ...s, features: s.features.slice(0, keep) }])) as ModelDataset['splits'],
  };
  const extra = Object.fromEntries(Object.entries(data.splits).map(([k, s]) => [k, s.features.slice(keep)])) as Record<'train' | 'valid' | 'test', Float64Array[]>;
  log(quiet, `train: comparing the GBDT with and without its ${width} embedding columns`);
  const without = keep > 0 ? await gbdtAuc(base, null) : null;
  const withEmb = await gbdtAuc(base, extra);
  const spaces = [...new Set(data.inputs.slice(keep).map((c) => c.feature))];
  return {
    title: 'Embeddings against the GBDT without them',
    note: `Both GBDTs use the comparison's fixed parameters (learning rate 0.05, depth 4, early stopping on validation); the embedding columns of each row come from the newest space version whose data ended before the row (point in time).`,
    rows: [
      { model: 'GBDT without embeddings', inputs: `${keep} inputs`, validAuc: without?.valid ?? null, testAuc: without?.test ?? null },
      { model: 'GBDT with embeddings', inputs: `${keep} inputs + ${width} embedding columns (${spaces.join(', ')})`, validAuc: withEmb?.valid ?? null, testAuc: withEmb?.test ?? null },
    ],
  };
}

/**
 * The GBDT half of `kiln train` on a loaded dataset: train with early stopping, evaluate, record the
 * run, register the version. Sequence models reuse it for a GBDT over aggregates and embeddings.
 */
export async function trainGbdtOnData(project: Project, name: string, spec: ModelSpec, registry: FeatureRegistry, data: ModelDataset, opts: TrainOptions, t0: number, extras: GbdtExtras = {}): Promise<TrainResult> {
  checkReasons(name, spec, data.inputs);
  log(opts.quiet, `train ${name}: ${data.splits.train.rows} train / ${data.splits.valid.rows} valid / ${data.splits.test.rows} test rows, ${data.splitText}; ${data.inputs.length} inputs` +
    (data.skipped.length ? `; left out: ${data.skipped.map((s) => s.column).join(', ')}` : ''));
  const warnings = [...data.warnings];

  const params = { ...DEFAULT_PARAMS, ...(spec.params as GbdtParams) } as GbdtParams & Record<string, unknown>;
  const monotone: Record<string, number> = {};
  for (const c of data.inputs) { const m = spec.monotone[c.feature]; if (m) monotone[c.name] = m; }
  if (Object.keys(monotone).length) (params as Record<string, unknown>).monotone_constraints = monotone;
  const configHash = createHash('sha256').update(readFileSync(project.paths.configFile)).digest('hex').slice(0, 16);
  return project.tracker.withRun({ experiment: name, name: `${name}-${new Date().toISOString().slice(0, 16)}`, params: { ...params, features: spec.features ?? null, columns: spec.columns ?? null }, configHash, codeDir: project.paths.root, tags: { algorithm: spec.algorithm } }, async (run) => {
    run.logLineage([
      ...data.summary.features.map((f) => ({ kind: 'feature', name: f.name, version: f.version })),
      { kind: 'table', name: spec.spine.table },
      { kind: 'training_set', name: data.table, version: data.fingerprint.checksum, details: { ...data.fingerprint, unlabelled: data.unlabelled, split: spec.split, skipped: data.skipped, coverage: data.coverage } },
      ...(extras.lineage ?? []),
    ]);
    if (opts.tags) run.setTags(opts.tags);
    if (opts.asOf) run.setTags({ as_of: opts.asOf });
    if (data.skipped.length) run.setTags({ skipped_columns: data.skipped.map((s) => `${s.column}: ${s.reason}`).join('; ') });
    if (data.coverage.length) run.logArtifact('coverage.json', { data: JSON.stringify({ coverage: data.coverage, warnings: data.warnings }, null, 2) });
    if (data.warnings.length) run.setTags({ coverage_warnings: data.warnings.join('\n') });
    if (extras.comparison) {
      run.logArtifact('comparison.json', { data: JSON.stringify(extras.comparison.rows, null, 2) });
      for (const r of extras.comparison.rows) if (r.testAuc !== null) run.logMetric(`compare_${r.model.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_test_auc`, r.testAuc);
    }
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
    const contributions = explainSample(booster, te, data, opts.quiet);
    const held = smokeSplit(te, va);
    const profile = buildProfile(data.inputs, tr, { split: held.name, pd: held === te ? testScore : validScore });
    const evaluation = evaluateModel({ spec, test: te, testScore, valid: va, validScore, contributions });
    run.logMetrics({ ...Object.fromEntries(Object.entries(evaluation.metrics).filter(([, v]) => v !== null)) as Record<string, number>, valid_auc: evaluation.validMetrics.auc, best_iteration: booster.bestIteration ?? booster.numRounds - 1, test_rows: te.rows, test_positives: te.positives });
    if (evaluation.fairness?.minAdverseImpactRatio != null) run.logMetric('min_adverse_impact_ratio', evaluation.fairness.minAdverseImpactRatio);

    const signature: ModelSignature = {
      features: data.inputs.map((c) => ({ name: c.name, type: c.sqlType, version: c.version })),
      output: `probability of ${spec.label.column}`,
    };
    run.logArtifact('evaluation.json', { data: JSON.stringify(evaluation) });
    const nothing = learnedNothing(booster.bestIteration ?? null, [
      { name: 'validation', auc: evaluation.validMetrics.auc, rows: va.rows, positives: va.positives },
      { name: 'test', auc: evaluation.metrics.auc, rows: te.rows, positives: te.positives },
    ]);
    if (nothing && !opts.force) {
      throw new KilnError('MODEL_LEARNED_NOTHING', `model '${name}' learned nothing: ${nothing}. It was not registered (run ${run.id} is marked failed). Check the label and the inputs (a label unrelated to the features, inputs that are all missing), or pass --force (force: true) to register it anyway`, { path: ['models', name], details: { bestIteration: booster.bestIteration ?? null, validAuc: evaluation.validMetrics.auc } });
    }
    if (nothing) {
      warnings.push(`registered although it learned nothing (--force): ${nothing}`);
      run.setTags({ forced: nothing });
      process.stderr.write(`warning: train ${name}: ${warnings[warnings.length - 1]}\n`);
    }
    // The version and its bundle (which names the version) are written together, or neither is.
    const reg = project.registry;
    const mv = reg.transaction(() => {
      const v = reg.registerVersion(name, { signature, runId: run.id, artifactPath: join(run.artifactsDir, run.id, BUNDLE_FILE), description: spec.description ?? null, reason: opts.reason ?? `trained by run ${run.id}` });
      const names = data.inputs.map((c) => c.name);
      const { groups, reasonText } = reasonConfig(spec, names, data.inputs.map((c) => c.feature));
      const body: ModelBundleBody = {
        provenance: { model: name, version: v.version, runId: run.id, description: spec.description ?? null, kilnVersion: kilnVersion(), createdAt: new Date().toISOString(), configHash },
        signature,
        categories: Object.fromEntries(data.inputs.filter((c) => c.categories).map((c) => [c.name, c.categories!])),
        booster: booster.toJSON(),
        calibrator: evaluation.calibrator,
        scaling: { basePoints: spec.scaling.basePoints, baseOdds: spec.scaling.baseOdds, pdo: spec.scaling.pdo },
        cutoff: evaluation.cutoff,
        reasons: { texts: reasonText, groups, maxReasons: spec.maxReasons, defaultReason: spec.defaultReason ?? null },
        profile,
        ...(extras.encoder ? { encoder: extras.encoder } : {}),
        ...(extras.embeddings ? { embeddings: extras.embeddings } : {}),
      };
      run.logArtifact(BUNDLE_FILE, { data: bundleText(withSmokeSample(body, data.inputs, smokeSplit(te, va), sampleRows(smokeSplit(te, va).rows, SMOKE_ROWS, SMOKE_SEED))) });
      const heldScore = held === te ? testScore : validScore;
      const calibrated = evaluation.calibrator ? calibratorFromJson(evaluation.calibrator).apply(heldScore) : null;
      run.logArtifact(REFERENCE_SAMPLE_FILE, { data: JSON.stringify(referenceSample(data.inputs, held, heldScore, calibrated, sampleRows(held.rows, REFERENCE_SAMPLE_ROWS, SHAP_SEED))) });
      return v;
    });
    const meta = { model: name, version: mv.version, runId: run.id, spec, data, bestIteration: booster.bestIteration ?? null, importance: allImportance(booster), origins: originsFromFeatures(data.inputs.map((c) => c.name), registry.features.values()) };
    const html = await renderReport(meta, evaluation);
    run.logArtifact('report.html', { data: extras.comparison ? html.replace('</body>', `${comparisonHtml(extras.comparison.rows, extras.comparison.note, extras.comparison.title)}</body>`) : html });
    if (extras.comparison) for (const r of extras.comparison.rows) log(opts.quiet, `  ${r.model.padEnd(26)} test AUC ${r.testAuc === null ? '-' : r.testAuc.toFixed(4)}`);
    run.logArtifact('model-card.md', { data: modelCard(meta, evaluation) });
    const seconds = (performance.now() - t0) / 1000;
    log(opts.quiet, `train ${name}: version ${mv.version}, run ${run.id}; test AUC ${evaluation.metrics.auc.toFixed(4)}, KS ${evaluation.metrics.ks.toFixed(4)} in ${seconds.toFixed(1)}s`);
    return { model: name, runId: run.id, version: mv.version, evaluation, bestIteration: booster.bestIteration ?? null, seconds, warnings };
  });
}

/**
 * TreeSHAP contributions toward the bad outcome for a seeded sample of at most SHAP_SAMPLE_ROWS test rows
 * (reason statistics and the SHAP summary need no more), with progress: SHAP costs far more per row than
 * scoring does.
 */
function explainSample(booster: Booster, test: Split, data: ModelDataset, quiet: boolean | undefined): { values: Float64Array; names: string[]; features: string[]; rows: Int32Array } {
  const n = test.rows;
  const rows = sampleRows(n, SHAP_SAMPLE_ROWS, SHAP_SEED);
  const f = data.inputs.length;
  const values = new Float64Array(rows.length * f);
  const progress = new Progress({ label: `explain: TreeSHAP on ${rows.length} of ${n} test rows`, total: rows.length, unit: 'rows', ...(quiet ? { quiet } : {}) });
  const CHUNK = 250;
  for (let start = 0; start < rows.length; start += CHUNK) {
    const part = rows.subarray(start, Math.min(rows.length, start + CHUNK));
    const out = booster.explain(test.features.map((col) => Float64Array.from(part, (i) => col[i]!)));
    // n x outputs x (f + 1), the bias last; reasons use output 0's f features (binary models have one output).
    const all = out.contributions;
    const stride = out.numOutputs * (f + 1);
    for (let i = 0; i < part.length; i++) values.set(all.subarray(i * stride, i * stride + f), (start + i) * f);
    progress.update(start + part.length);
  }
  progress.finish();
  return { values, names: data.inputs.map((c) => c.name), features: data.inputs.map((c) => c.feature), rows };
}


/** Total gain of every input, largest first (it sums over a feature's columns; reports list the top N and group by declaration). */
function allImportance(booster: Booster): { feature: string; gain: number }[] {
  const imp = booster.featureImportance('total_gain');
  return booster.featureNames.map((feature) => ({ feature, gain: imp[feature] ?? 0 })).sort((a, b) => b.gain - a.gain);
}
