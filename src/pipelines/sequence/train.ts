/**
 * `kiln train NAME` for a sequence model (algorithm: 'sequence'): builds the training set with the
 * lastK feature (and the scalar features of a joint model or of the comparison), encodes it, trains the
 * network with the same out-of-time split, early stopping, progress, checkpoints and tracked run as the
 * GBDT, evaluates the label's head like any kiln model, registers a version whose bundle holds the
 * encoding and network, and reports it beside a GBDT on the aggregates alone and with the embeddings.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, didYouMean } from '../../core/errors.js';
import type { ModelSpec, SequenceSpec as SeqConfig } from '../../config/index.js';
import { auc } from '../../eval/index.js';
import { loadProjectFeatures } from '../../features/training/index.js';
import { sequenceSpec, sequenceSql, type EpochInfo, type LastKDefinition, type LastKSource } from '../../nn/index.js';
import type { ModelSignature } from '../../registry/index.js';
import { quoteIdent, quoteLiteral, type Project } from '../../store/index.js';
import { kilnVersion } from '../bundle.js';
import { checkModelSpec } from '../checks.js';
import { loadModelDataset, type DatasetOptions } from '../dataset.js';
import { evaluateModel } from '../evaluate.js';
import { checkSplits } from '../guards.js';
import { modelCard } from '../model-card.js';
import { renderReport } from '../report.js';
import type { trainGbdtOnData, TrainOptions, TrainResult } from '../train.js';
import { paramsJsonOf, SEQUENCE_BUNDLE_FILE, SEQUENCE_BUNDLE_FORMAT, sequenceBundleText, type SequenceBundleJson } from './bundle.js';
import { comparisonHtml, gbdtAuc, type ComparisonRow } from './compare.js';
import { fitVariant, type VariantResult } from './fit-variant.js';
import { netSpec, prepare } from './prepare.js';
import { withSequenceSmoke } from './smoke.js';

function log(quiet: boolean | undefined, line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

/** Where a model's training checkpoint lives until its version is registered. */
export function checkpointPath(project: Project, model: string): string {
  return join(project.paths.dataDir, 'checkpoints', `${model.replace(/[^A-Za-z0-9_.-]/g, '_')}.ckpt`);
}

/** The GBDT path of `kiln train` (train.ts passes it in: a fused model trains its GBDT through it). */
export type GbdtTrainer = typeof trainGbdtOnData;

export async function trainSequenceModel(project: Project, name: string, spec: ModelSpec, opts: TrainOptions = {}, gbdt?: GbdtTrainer): Promise<TrainResult> {
  const t0 = performance.now();
  const cfg = spec.sequence as SeqConfig;
  const registry = await loadProjectFeatures(project);
  const f = registry.features.get(cfg.input);
  if (!f) {
    const hint = didYouMean(cfg.input, [...registry.features.keys()]);
    throw new KilnError('CONFIG_INVALID', `model '${name}': sequence.input '${cfg.input}' is not a declared feature${hint ? `; did you mean '${hint}'?` : ''}`, { path: ['models', name, 'sequence', 'input'] });
  }
  const def = f.spec;
  if (def.type !== 'aggregate' || def.op !== 'lastK' || !f.source) throw new KilnError('CONFIG_INVALID', `model '${name}': sequence.input '${cfg.input}' is a ${def.type === 'aggregate' ? def.op : def.type} feature; a sequence model reads a lastK feature (lastK(source, { k, fields }))`, { path: ['models', name, 'sequence', 'input'] });
  const lastK: LastKDefinition = def;
  const source: LastKSource = f.source;
  const seq = sequenceSpec(lastK, source, { featureVersion: f.version });
  const checked = await checkModelSpec(project, name, spec, registry);
  const table = `training_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  await checkTaskTables(project, name, spec);
  const src = f.source;
  const spineKey = spec.spine.key ?? f.entity.key;
  const dsOpts: DatasetOptions = {
    sequences: [{ feature: cfg.input, sql: sequenceSql(cfg.input, seq) }],
    labels: cfg.tasks.filter((t): t is LabelTask => 'column' in t).map((t) => ({ name: t.name, sql: taskLabelSql(t, table, opts.asOf) })),
    raw: cfg.tasks.filter((t) => 'nextEvent' in t).map((t) => {
      const { nextEvent, horizonDays } = t as { nextEvent: string; horizonDays: number };
      const ts = `${quoteIdent(table)}.${quoteIdent(spec.spine.timestamp!)}`;
      return {
        name: t.name,
        sql: `(SELECT e.${quoteIdent(nextEvent)}::VARCHAR FROM ${quoteIdent(src.table)} e WHERE e.${quoteIdent(src.key)} = ${quoteIdent(table)}.${quoteIdent(spineKey)} AND e.${quoteIdent(src.timestamp)} > ${ts} AND e.${quoteIdent(src.timestamp)} <= ${ts} + INTERVAL ${quoteLiteral(`${horizonDays * 86400} seconds`)} ORDER BY e.${quoteIdent(src.timestamp)}${src.tiebreak ? `, e.${quoteIdent(src.tiebreak)}` : ''} LIMIT 1)`,
      };
    }),
    ...(opts.asOf ? { asOf: opts.asOf } : {}),
  };
  log(opts.quiet, `train ${name}: building the training set (sequence ${cfg.input}, k ${seq.k}${checked.features.length ? `, ${checked.features.length} features` : ''}, spine ${spec.spine.table})`);
  const data = await loadModelDataset(project, name, spec, checked, dsOpts);
  project.releaseOffline();
  for (const w of data.warnings) process.stderr.write(`warning: train ${name}: ${w}\n`);
  checkSplits(name, spec, data);
  const prepared = prepare(cfg, seq, data);
  log(opts.quiet, `train ${name}: ${data.splits.train.rows} train / ${data.splits.valid.rows} valid / ${data.splits.test.rows} test rows, ${data.splitText}; ${cfg.encoder} over ${prepared.encoding.steps} events x ${prepared.encoding.width} numbers + ${prepared.encoding.categorical.length} categorical fields${cfg.joint ? ` + ${prepared.net.tabular} tabular inputs` : ''}`);

  const configHash = createHash('sha256').update(readFileSync(project.paths.configFile)).digest('hex').slice(0, 16);
  const ckpt = checkpointPath(project, name);
  mkdirSync(join(project.paths.dataDir, 'checkpoints'), { recursive: true });
  const fingerprint = { net: prepared.net, cfg, data: data.fingerprint, encoding: prepared.encoding.toJSON(), asOf: opts.asOf ?? null };
  if (cfg.register === 'gbdt') {
    if (!gbdt) throw new KilnError('INTERNAL', 'a fused model needs the GBDT trainer');
    return trainFused(project, name, spec, cfg, { registry, data, prepared, fingerprint, ckpt, configHash, version: f.version, t0 }, opts, gbdt);
  }
  const params = { ...cfg, encoder: cfg.encoder, features: spec.features ?? null };
  return project.tracker.withRun({ experiment: name, name: `${name}-${new Date().toISOString().slice(0, 16)}`, params, configHash, codeDir: project.paths.root, tags: { algorithm: 'sequence', encoder: cfg.encoder } }, async (run) => {
    run.logLineage([
      ...data.summary.features.map((x) => ({ kind: 'feature', name: x.name, version: x.version })),
      { kind: 'table', name: spec.spine.table },
      { kind: 'training_set', name: data.table, version: data.fingerprint.checksum, details: { ...data.fingerprint, unlabelled: data.unlabelled, split: spec.split } },
    ]);
    if (opts.tags) run.setTags(opts.tags);
    const curves: Record<string, number[]> = {};
    const onEpoch = (e: EpochInfo): void => {
      (curves.train_loss ??= []).push(e.trainLoss);
      if (e.metric !== null) (curves.valid_auc ??= []).push(e.metric);
      log(opts.quiet, `  epoch ${e.epoch + 1}: train loss ${e.trainLoss.toFixed(4)}${e.metric !== null ? `, valid AUC ${e.metric.toFixed(4)}` : ''} (${e.seconds.toFixed(1)}s)`);
    };
    const onPretrainEpoch = (e: EpochInfo): void => log(opts.quiet, `  pre-training epoch ${e.epoch + 1}: ${cfg.pretrain!.method} loss ${e.trainLoss.toFixed(4)} (${e.seconds.toFixed(1)}s)`);
    const main = await fitVariant(cfg, prepared, prepared.net, { checkpoint: ckpt, fingerprint, label: `train ${name}`, onEpoch, onPretrainEpoch, ...(opts.quiet ? { quiet: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    if (main.fit.resumed) run.setTags({ resumed_from_checkpoint: 'true' });
    for (const [task, y] of Object.entries(data.splits.train.labels)) run.logMetric(`task_${task}_train_labels`, y.reduce((n, v) => n + (v === v ? 1 : 0), 0));
    for (const [task, y] of Object.entries(data.splits.train.raw)) run.logMetric(`task_${task}_train_labels`, y.reduce((n: number, v) => n + (v === null || v === undefined ? 0 : 1), 0));
    for (const [k, v] of Object.entries(curves)) run.logCurve(k, v);
    if (main.pretrain) run.logCurve('pretrain_loss', main.pretrain.history.map((e) => e.trainLoss));

    const { valid: va, test: te } = data.splits;
    const evaluation = evaluateModel({ spec, test: te, testScore: main.score.test, valid: va, validScore: main.score.valid });
    run.logMetrics({ ...Object.fromEntries(Object.entries(evaluation.metrics).filter(([, v]) => v !== null)) as Record<string, number>, valid_auc: evaluation.validMetrics.auc, best_epoch: main.fit.bestEpoch, epochs: main.fit.history.length, test_rows: te.rows, test_positives: te.positives, train_seconds: main.seconds });

    const comparison = cfg.compare ? await compare(cfg, prepared, data, main, opts) : [];
    if (comparison.length) {
      run.logArtifact('comparison.json', { data: JSON.stringify(comparison, null, 2) });
      for (const r of comparison) if (r.testAuc !== null) run.logMetric(`compare_${r.model.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_test_auc`, r.testAuc);
    }
    const signature: ModelSignature = {
      features: [{ name: cfg.input, type: 'SEQUENCE', version: f.version }, ...(cfg.joint ? prepared.tabular.map((c) => { const i = data.inputs.find((x) => x.name === c.name)!; return { name: c.name, type: i.sqlType, version: i.version }; }) : [])],
      output: `probability of ${spec.label.column}`,
    };
    const reg = project.registry;
    const mv = reg.transaction(() => {
      const v = reg.registerVersion(name, { signature, runId: run.id, artifactPath: join(run.artifactsDir, run.id, SEQUENCE_BUNDLE_FILE), description: spec.description ?? null, reason: opts.reason ?? `trained by run ${run.id}` });
      const body: SequenceBundleJson = {
        format: SEQUENCE_BUNDLE_FORMAT,
        provenance: { model: name, version: v.version, runId: run.id, createdAt: new Date().toISOString(), kilnVersion: kilnVersion(), configHash },
        signature, input: cfg.input, encoding: prepared.encoding.toJSON(), tabular: cfg.joint ? prepared.tabular : [], classes: prepared.classes,
        net: prepared.net, params: paramsJsonOf(main.params), calibrator: evaluation.calibrator,
        scaling: { basePoints: spec.scaling.basePoints, baseOdds: spec.scaling.baseOdds, pdo: spec.scaling.pdo }, cutoff: evaluation.cutoff,
      };
      run.logArtifact(SEQUENCE_BUNDLE_FILE, { data: sequenceBundleText(withSequenceSmoke(body, data, cfg, main)) });
      return v;
    });
    rmSync(ckpt, { force: true });
    const meta = { model: name, version: mv.version, runId: run.id, spec, data, bestIteration: main.fit.bestEpoch, importance: [] };
    const note = `${cfg.encoder} encoder over the last ${prepared.encoding.steps} events of '${cfg.input}', ${main.fit.history.length} epochs (best ${main.fit.bestEpoch + 1}), ${main.seconds.toFixed(1)} s. The GBDTs use kiln's default credit parameters; the embeddings are the sequence model's pooled encoder output for each row, computed point in time.`;
    const report = (await renderReport(meta, evaluation)).replace('</body>', `${comparisonHtml(comparison, note)}</body>`);
    run.logArtifact('report.html', { data: report });
    run.logArtifact('model-card.md', { data: modelCard(meta, evaluation) });
    const seconds = (performance.now() - t0) / 1000;
    log(opts.quiet, `train ${name}: version ${mv.version}, run ${run.id}; test AUC ${evaluation.metrics.auc.toFixed(4)}, KS ${evaluation.metrics.ks.toFixed(4)} in ${seconds.toFixed(1)}s`);
    for (const r of comparison) log(opts.quiet, `  ${r.model.padEnd(34)} test AUC ${r.testAuc === null ? '-' : r.testAuc.toFixed(4)}`);
    return { model: name, runId: run.id, version: mv.version, evaluation, bestIteration: null, bestEpoch: main.fit.bestEpoch, seconds, warnings: data.warnings };
  });
}

/** GBDT on the aggregates alone, GBDT + embeddings, the sequence model, and the other of sequence-only / joint. */
async function compare(cfg: SeqConfig, prepared: ReturnType<typeof prepare>, data: Awaited<ReturnType<typeof loadModelDataset>>, main: VariantResult, opts: TrainOptions): Promise<ComparisonRow[]> {
  const rows: ComparisonRow[] = [];
  const aucOf = (s: 'valid' | 'test', v: VariantResult): number => auc(data.splits[s].label, v.score[s]);
  const agg = await gbdtAuc(data, null);
  if (agg) rows.push({ model: 'GBDT, aggregates alone', inputs: `${data.inputs.length} scalar features`, validAuc: agg.valid, testAuc: agg.test });
  const withEmb = await gbdtAuc(data, main.embedding);
  if (withEmb) rows.push({ model: 'GBDT + sequence embeddings', inputs: `${data.inputs.length} features + ${main.embedding.train.length} embedding dims (supervised encoder)`, validAuc: withEmb.valid, testAuc: withEmb.test });
  const ss = main.selfSupervised ? await gbdtAuc(data, main.selfSupervised.embedding) : null;
  if (ss) rows.push({ model: 'GBDT + self-supervised embeddings', inputs: `${data.inputs.length} features + ${main.selfSupervised!.embedding.train.length} dims (${cfg.pretrain!.method} pre-training, no labels)`, validAuc: ss.valid, testAuc: ss.test });
  rows.push({ model: cfg.joint ? 'joint model (this version)' : 'sequence model (this version)', inputs: cfg.joint ? `sequence + ${prepared.net.tabular} tabular` : 'sequence only', validAuc: aucOf('valid', main), testAuc: aucOf('test', main) });
  if (prepared.tabWidth > 0) {
    const otherCfg = { ...cfg, joint: !cfg.joint };
    const other = await fitVariant(otherCfg, prepared, netSpec(otherCfg, prepared.encoding, prepared.tabWidth, prepared.classes), { checkpoint: null, fingerprint: null, label: otherCfg.joint ? 'joint model' : 'sequence-only model', quiet: true, ...(opts.signal ? { signal: opts.signal } : {}) });
    rows.push({ model: otherCfg.joint ? 'joint model' : 'sequence model alone', inputs: otherCfg.joint ? `sequence + ${other.net.tabular} tabular` : 'sequence only', validAuc: aucOf('valid', other), testAuc: aucOf('test', other) });
  }
  return rows;
}

/**
 * Fusion (a): trains the encoder, then registers a GBDT over the model's features plus the encoder's
 * embedding of each row (point in time: the row's own lastK value), with the encoder in the bundle.
 */
async function trainFused(project: Project, name: string, spec: ModelSpec, cfg: SeqConfig, ctx: {
  registry: Awaited<ReturnType<typeof loadProjectFeatures>>; data: Awaited<ReturnType<typeof loadModelDataset>>; prepared: ReturnType<typeof prepare>;
  fingerprint: unknown; ckpt: string; configHash: string; version: string; t0: number;
}, opts: TrainOptions, gbdt: GbdtTrainer): Promise<TrainResult> {
  const { data, prepared } = ctx;
  const encoder = await fitVariant(cfg, prepared, prepared.net, { checkpoint: ctx.ckpt, fingerprint: ctx.fingerprint, label: `train ${name}: encoder`, ...(opts.quiet ? { quiet: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  // With pre-training, the GBDT takes the label-free encoder (its training rows' embedding was not fitted to their labels).
  const source = encoder.selfSupervised ?? encoder;
  const D = source.embedding.train.length;
  const columns = Array.from({ length: D }, (_, j) => `${cfg.input}_emb_${j}`);
  const fused = {
    ...data,
    inputs: [...data.inputs, ...columns.map((c) => ({ name: c, feature: cfg.input, version: ctx.version, sqlType: 'FLOAT', kind: 'numeric' as const }))],
    splits: Object.fromEntries((['train', 'valid', 'test'] as const).map((s) => [s, { ...data.splits[s], features: [...data.splits[s].features, ...source.embedding[s]] }])) as typeof data.splits,
  };
  const gbdtSpec: ModelSpec = { ...spec, algorithm: 'gbdt', sequence: undefined, reasons: { [cfg.input]: cfg.reason ?? `Pattern of recent events (${cfg.input})`, ...spec.reasons } };
  const bundle: SequenceBundleJson = {
    format: SEQUENCE_BUNDLE_FORMAT,
    provenance: { model: name, version: 0, runId: 'embedded', createdAt: new Date().toISOString(), kilnVersion: kilnVersion(), configHash: ctx.configHash },
    signature: { features: [{ name: cfg.input, type: 'SEQUENCE', version: ctx.version }], output: 'embedding' }, input: cfg.input,
    encoding: prepared.encoding.toJSON(), tabular: [], classes: prepared.classes, net: prepared.net, params: paramsJsonOf(source.params),
    calibrator: null, scaling: { basePoints: spec.scaling.basePoints, baseOdds: spec.scaling.baseOdds, pdo: spec.scaling.pdo }, cutoff: 0.5,
  };
  const best = encoder.fit.history[encoder.fit.bestEpoch];
  const tags = { ...opts.tags, fused_encoder: `${cfg.encoder} ${cfg.size}${encoder.selfSupervised ? ` (${cfg.pretrain!.method} pre-training, no labels)` : ''}`, encoder_epochs: String(encoder.fit.history.length), encoder_best_epoch: String(encoder.fit.bestEpoch + 1), ...(best?.metric != null ? { encoder_valid_auc: best.metric.toFixed(4) } : {}) };
  const r = await gbdt(project, name, gbdtSpec, ctx.registry, fused, { ...opts, tags }, ctx.t0, { encoder: { input: cfg.input, columns, bundle } });
  rmSync(ctx.ckpt, { force: true });
  return r;
}

type LabelTask = Extract<SeqConfig['tasks'][number], { column: string }>;

/** A 0/1 task label as SQL over the training set: a spine column, or a column of another table joined on `on`. */
function taskLabelSql(t: LabelTask, table: string, asOf: string | undefined): string {
  const bin = (v: string): string => (t.positive
    ? `(CASE WHEN ${v} IS NULL THEN NULL WHEN ${v}::VARCHAR IN (${t.positive.map((x) => quoteLiteral(String(x))).join(', ')}) THEN 1 ELSE 0 END)`
    : `${v}::DOUBLE`);
  if (!t.table) return bin(quoteIdent(t.column));
  const known = asOf && t.availableAt ? ` AND x.${quoteIdent(t.availableAt)} <= TIMESTAMP ${quoteLiteral(asOf.replace('T', ' ').replace(/Z$/, ''))}` : '';
  return `(SELECT ${bin(`x.${quoteIdent(t.column)}`)} FROM ${quoteIdent(t.table)} x WHERE x.${quoteIdent(t.on!)} = ${quoteIdent(table)}.${quoteIdent(t.on!)}${known} LIMIT 1)`;
}

/** Each label task's table and columns exist (the spine's, or its own table's), named in the error if not. */
async function checkTaskTables(project: Project, name: string, spec: ModelSpec): Promise<void> {
  const cfg = spec.sequence!;
  for (const [k, t] of cfg.tasks.entries()) {
    if (!('column' in t)) continue;
    const tbl = t.table ?? spec.spine.table;
    const cols = new Set((await project.offline.all<{ c: string }>(`SELECT column_name AS c FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ${quoteLiteral(tbl)}`)).map((r) => r.c));
    const need = [t.column, ...(t.on ? [t.on] : []), ...(t.availableAt ? [t.availableAt] : [])];
    const spineCols = t.on ? new Set((await project.offline.all<{ c: string }>(`SELECT column_name AS c FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ${quoteLiteral(spec.spine.table)}`)).map((r) => r.c)) : null;
    const missing = cols.size === 0 ? [`table '${tbl}'`] : need.filter((c) => !cols.has(c)).map((c) => `column '${c}' of '${tbl}'`);
    if (spineCols && t.on && !spineCols.has(t.on)) missing.push(`column '${t.on}' of the spine '${spec.spine.table}'`);
    if (missing.length) throw new KilnError('CONFIG_INVALID', `model '${name}': task '${t.name}' reads ${missing.join(', ')}, which ${missing.length > 1 ? 'do' : 'does'} not exist`, { path: ['models', name, 'sequence', 'tasks', k] });
  }
}
