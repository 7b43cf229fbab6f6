/**
 * The evidence of issue 16: does a sequence encoder find what aggregates miss? For two data sets,
 *   - sim: the simulator with order episodes (docs/simulator.md, "Order episodes": a share of borrowers
 *     has a spending surge and a run of cash advances before a loan application, and only the order of
 *     the two carries the risk), the demo's `credit_v1` aggregates and its `recent_txns` lastK (k 20,
 *     90 days), split out of time;
 *   - berka: the Berka bank's loans (examples/berka, `loan_default_seq`: the loan's terms and the
 *     account's aggregates, and its last 64 transactions over a year: `txn_history`), seeded random split;
 * it trains, for the GRU and the transformer encoder and for each seed s = 1..--seeds on the simulator,
 * 1..--berka-seeds on Berka (default 10: small data, where the spread is the point), with s the network's
 * `sequence.seed` and the GBDTs' seed (the data and the split stay fixed), the four models of a
 * sequence model's run report (`kiln train` writes the same comparison): a GBDT on the aggregates alone,
 * the GBDT with the encoder's embeddings as more inputs, the sequence model alone and the joint model
 * (encoder and tabular inputs trained together). The pieces are kiln train's own (dataset, encoding,
 * network spec, data-parallel fit with early stopping, the comparison GBDT's parameters); the training
 * set is built once per encoder so that only the networks are trained per seed.
 *
 * Printed per data set and model: test AUC across seeds (mean ± sample std, min–max), its difference
 * from the GBDT on aggregates trained with the same seed (paired: the GBDT seed's own effect cancels),
 * and AUC on the subgroup where the sequence is the point: on the simulator, the episode loans (the loan of the
 * episode's own application, from the ground truth in borrower_latents) against default, and within
 * them the score's AUC for the risky order (surge_then_cash against cash_then_surge: 0.5 means the order
 * was not seen); on Berka, the loans with any transaction in the window.
 *
 *   npx tsx bench/nn-evidence.ts [--seeds 5] [--berka-seeds 10] [--borrowers 30000] [--episodes 0.3] [--only sim|berka]
 *
 * Berka is skipped with a message when its data (BERKA_DATA, else ../shared/data/berka) is absent.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultData, runExample } from '../examples/berka/run.js';
import type { ModelSpec, SequenceSpec as SeqConfig } from '../src/config/index.js';
import { auc } from '../src/eval/index.js';
import { loadProjectFeatures } from '../src/features/training/index.js';
import { train as trainGbdt, type GbdtParams } from '../src/gbdt/index.js';
import { sequenceSpec, sequenceSql, type LastKDefinition, type LastKSource } from '../src/nn/index.js';
import { checkModelSpec, loadModelDataset, type ModelDataset } from '../src/pipelines/index.js';
import { COMPARE_PARAMS } from '../src/pipelines/sequence/compare.js';
import { fitVariant } from '../src/pipelines/sequence/fit-variant.js';
import { netSpec, prepare, type Prepared } from '../src/pipelines/sequence/prepare.js';
import { simulate } from '../src/sim/index.js';
import { initProject, Project } from '../src/store/index.js';
import { DEMO_FEATURES_FILE } from '../test/helpers.js';
import { formatSpread, spread, subgroupAuc } from './evidence-stats.js';
import { arg, machine, printTable } from './util.js';

const SEEDS = arg('seeds', 5);
const BERKA_SEEDS = arg('berka-seeds', 10);
const BORROWERS = arg('borrowers', 30000);
const EPISODES = arg('episodes', 0.3);
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? process.argv[onlyAt + 1] : null;

type Split = 'train' | 'valid' | 'test';
const MODELS = ['GBDT, aggregates alone', 'GBDT + embeddings', 'sequence model alone', 'joint model'] as const;
type ModelName = (typeof MODELS)[number];

/** One encoder's fixed data: the training set, its encoding, and the test subgroup (and the sim's order truth). */
interface Evidence { name: string; cfg: SeqConfig; data: ModelDataset; prepared: Prepared; subgroup: boolean[]; risky: (boolean | null)[] }

/** Builds the model's training set once and encodes it, as kiln train does for a sequence model. */
async function loadEvidence(project: Project, name: string, spec: ModelSpec, extra: { raw?: { name: string; sql: string }[] } = {}): Promise<Omit<Evidence, 'subgroup' | 'risky'>> {
  const cfg = spec.sequence!;
  const registry = await loadProjectFeatures(project);
  const f = registry.features.get(cfg.input)!;
  const seq = sequenceSpec(f.spec as unknown as LastKDefinition, f.source as unknown as LastKSource, { featureVersion: f.version });
  const checked = await checkModelSpec(project, name, spec, registry);
  const data = await loadModelDataset(project, name, spec, checked, { sequences: [{ feature: cfg.input, sql: sequenceSql(cfg.input, seq) }], ...(extra.raw ? { raw: extra.raw } : {}) });
  return { name, cfg, data, prepared: prepare(cfg, seq, data) };
}

/** A GBDT with kiln's comparison parameters (seeded) on the aggregates, plus embedding columns: its test scores. */
async function gbdtTest(data: ModelDataset, extra: Record<Split, Float64Array[]> | null, seed: number): Promise<Float64Array> {
  const cols = (s: Split): Float64Array[] => [...data.splits[s].features, ...(extra ? extra[s] : [])];
  const names = [...data.inputs.map((c) => c.name), ...(extra ? extra.train.map((_, j) => `embedding_${j}`) : [])];
  const booster = await trainGbdt({
    features: cols('train'), label: data.splits.train.label, featureNames: names,
    categorical: data.inputs.filter((c) => c.kind === 'categorical').map((c) => c.name),
    params: { ...COMPARE_PARAMS, seed } as GbdtParams, valid: { features: cols('valid'), label: data.splits.valid.label },
  });
  return booster.predict(cols('test'));
}

interface Measured { test: number; sub: number | null; order: number | null }

/** The four models for one seed; each model's test AUC, subgroup AUC and (sim) order AUC. */
async function oneSeed(ev: Evidence, seed: number): Promise<Record<ModelName, Measured>> {
  const { cfg, data, prepared } = ev;
  const y = data.splits.test.label;
  const measure = (score: ArrayLike<number>): Measured => {
    const inEpisode = ev.risky.map((r) => r !== null);
    const orderLabel = ev.risky.map((r) => (r ? 1 : 0));
    return { test: auc(y, score), sub: subgroupAuc(y, score, ev.subgroup).auc, order: ev.risky.some((r) => r !== null) ? subgroupAuc(orderLabel, score, inEpisode).auc : null };
  };
  const variant = async (joint: boolean) => {
    const c = { ...cfg, seed, joint };
    return fitVariant(c, prepared, netSpec(c, prepared.encoding, prepared.tabWidth, prepared.classes), { checkpoint: null, fingerprint: null, label: `${ev.name} ${joint ? 'joint' : 'sequence'} seed ${seed}`, quiet: true });
  };
  const seqOnly = await variant(false);
  const joint = prepared.tabWidth > 0 ? await variant(true) : null;
  return {
    'GBDT, aggregates alone': measure(await gbdtTest(data, null, seed)),
    'GBDT + embeddings': measure(await gbdtTest(data, seqOnly.embedding, seed)),
    'sequence model alone': measure(seqOnly.score.test),
    'joint model': joint ? measure(joint.score.test) : { test: NaN, sub: null, order: null },
  };
}

/** Trains every seed for one encoder and prints a line per seed; returns the figures per model. */
async function runSeeds(ev: Evidence, seeds: number): Promise<Record<ModelName, Measured[]>> {
  const out = Object.fromEntries(MODELS.map((m) => [m, [] as Measured[]])) as Record<ModelName, Measured[]>;
  for (let seed = 1; seed <= seeds; seed++) {
    const t0 = performance.now();
    const r = await oneSeed(ev, seed);
    for (const m of MODELS) out[m].push(r[m]);
    console.log(`  ${ev.name} seed ${seed} (${((performance.now() - t0) / 1000).toFixed(0)} s): ${MODELS.map((m) => `${m} ${r[m].test.toFixed(4)}`).join(', ')}`);
  }
  return out;
}

function table(title: string, results: { encoder: string; ev: Evidence; r: Record<ModelName, Measured[]> }[], subName: string, withOrder: boolean, seeds: number): void {
  const first = results[0]!.ev;
  const te = first.data.splits.test;
  const subRows = first.subgroup.filter(Boolean).length;
  const subBads = first.subgroup.reduce((a, inSub, i) => a + (inSub && te.label[i] === 1 ? 1 : 0), 0);
  console.log(`\n${title}: test ${te.rows} rows (${te.positives} bads); ${subName} ${subRows} rows (${subBads} bads); ${seeds} seeds`);
  const header = ['encoder', 'model', 'test AUC', 'test AUC − GBDT alone (same seed)', `${subName}: AUC`, ...(withOrder ? ['episode loans: AUC for the risky order'] : [])];
  const rows: string[][] = [];
  for (const { encoder, r } of results) {
    for (const m of MODELS) {
      if (encoder !== results[0]!.encoder && m === 'GBDT, aggregates alone') continue;
      const label = m === 'GBDT, aggregates alone' ? 'any' : encoder;
      const agg = results[0]!.r['GBDT, aggregates alone'];
      const delta = m === 'GBDT, aggregates alone' ? '' : formatSpread(spread(r[m].map((x, i) => x.test - agg[i]!.test)));
      rows.push([label, m, formatSpread(spread(r[m].map((x) => x.test))), delta, formatSpread(spread(r[m].map((x) => x.sub))), ...(withOrder ? [formatSpread(spread(r[m].map((x) => x.order)))] : [])]);
    }
  }
  printTable(header, rows);
}

const SIM_BASE = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1', algorithm: 'sequence', minPositives: 5,
  split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
};
const SIM_MODELS = {
  evidence_gru: { ...SIM_BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: 16, epochs: 15, patience: 4, batchSize: 128 } },
  evidence_tr: { ...SIM_BASE, sequence: { input: 'recent_txns', encoder: 'transformer', size: 16, heads: 2, layers: 1, epochs: 25, patience: 5, batchSize: 128, lr: 0.003 } },
};

async function simEvidence(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-nn-evidence-'));
  try {
    writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};\nexport default defineConfig({ name: 'nn-evidence', features: [...DEMO_FEATURES], models: ${JSON.stringify(SIM_MODELS)} });\n`);
    await initProject(dir);
    const project = await Project.open({ project: dir });
    try {
      const t0 = performance.now();
      const s = await simulate(project.offline, { borrowers: BORROWERS, seed: 5, orderEpisodes: EPISODES });
      console.log(`\nsim: ${BORROWERS} borrowers, order episodes ${EPISODES}, ${s.stats.fundedLoans} funded loans, 12-month default rate ${(s.stats.defaultRate12m * 100).toFixed(1)}% (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      const truth = new Map((await project.offline.all<{ loan_id: number; ord: string }>(
        `SELECT l.loan_id::DOUBLE AS loan_id, b.episode_order::VARCHAR AS ord FROM loans l JOIN borrower_latents b ON b.episode_application_id = l.application_id`,
      )).map((r) => [Number(r.loan_id), r.ord]));
      const results = [];
      for (const [name, encoder] of [['evidence_gru', 'GRU'], ['evidence_tr', 'transformer']] as const) {
        const base = await loadEvidence(project, name, project.config.models[name]!, { raw: [{ name: 'loan_id', sql: 'loan_id::DOUBLE' }] });
        const ord = base.data.splits.test.raw.loan_id!.map((id) => truth.get(Number(id)) ?? null);
        const ev: Evidence = { ...base, risky: ord.map((o) => (o === null ? null : o === 'surge_then_cash')), subgroup: ord.map((o) => o !== null) };
        const tr = base.data.splits.train;
        console.log(`${name}: ${tr.rows} train / ${base.data.splits.valid.rows} valid / ${base.data.splits.test.rows} test rows; ${encoder} size ${ev.cfg.size}, ${ev.prepared.encoding.steps} steps, ${ev.prepared.tabWidth} tabular inputs for the joint model`);
        results.push({ encoder, ev, r: await runSeeds(ev, SEEDS) });
      }
      table('sim (order episodes)', results, 'episode loans', true, SEEDS);
    } finally { project.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

async function berkaEvidence(): Promise<void> {
  const data = defaultData();
  if (!existsSync(join(data, 'loan.asc'))) { console.log(`\nberka: skipped, no Berka data at ${data} (set BERKA_DATA to the folder with the .asc files)`); return; }
  const dir = mkdtempSync(join(tmpdir(), 'kiln-nn-evidence-berka-'));
  try {
    await runExample(dir, data, { quiet: true });
    const project = await Project.open({ project: dir });
    try {
      const gru = project.config.models.loan_default_seq!;
      const specs: [string, string, ModelSpec][] = [
        ['loan_default_seq', 'GRU', gru],
        ['loan_default_seq_tr', 'transformer', { ...gru, sequence: { ...gru.sequence!, encoder: 'transformer', heads: 2, layers: 1, pooling: undefined } } as ModelSpec],
      ];
      const results = [];
      for (const [name, encoder, spec] of specs) {
        const base = await loadEvidence(project, name, spec);
        const seqs = base.data.splits.test.sequences[base.cfg.input]!;
        const ev: Evidence = { ...base, subgroup: seqs.map((s) => Array.isArray(s) && s.length > 0), risky: seqs.map(() => null) };
        const sp = base.data.splits;
        console.log(`\nberka ${name}: ${sp.train.rows} train (${sp.train.positives} bads) / ${sp.valid.rows} valid (${sp.valid.positives}) / ${sp.test.rows} test (${sp.test.positives}); ${encoder} size ${ev.cfg.size} over ${ev.prepared.encoding.steps} steps`);
        results.push({ encoder, ev, r: await runSeeds(ev, BERKA_SEEDS) });
      }
      table('berka (random split, seed 7)', results, 'loans with history', false, BERKA_SEEDS);
    } finally { project.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

const t0 = performance.now();
console.log(`machine: ${machine()}\nload: ${execSync('uptime').toString().trim()}`);
if (ONLY !== 'berka') await simEvidence();
if (ONLY !== 'sim') await berkaEvidence();
console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(0)} s; load at the end: ${execSync('uptime').toString().trim()}`);
